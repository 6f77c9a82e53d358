"""users, sign_in_links, web_sessions: the people who sign in to the pages

Revision ID: 0009_users
Revises: 0001_foundation
Create Date: 2026-11-30 00:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision: str = "0009_users"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AutoString = sqlmodel.sql.sqltypes.AutoString
Aware = app.db.AwareDateTime


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", AutoString(length=254), nullable=False),
        sa.Column("name", AutoString(length=200), nullable=True),
        sa.Column("role", AutoString(length=16), nullable=False),
        sa.Column("buyer_id", sa.Uuid(), nullable=True),
        sa.Column("supplier_id", sa.Uuid(), nullable=True),
        sa.Column("issuer", AutoString(length=255), nullable=False),
        sa.Column("subject", AutoString(length=255), nullable=True),
        sa.Column("created_at", Aware(timezone=True), nullable=False),
        sa.Column("last_sign_in_at", Aware(timezone=True), nullable=True),
        sa.Column("disabled_at", Aware(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["buyer_id"], ["buyers.id"]),
        sa.ForeignKeyConstraint(["supplier_id"], ["suppliers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("issuer", "subject", name="uq_users_issuer_subject"),
    )
    op.create_index("ix_users_email", "users", ["email"])
    op.create_index("ix_users_buyer_id", "users", ["buyer_id"])
    op.create_index("ix_users_supplier_id", "users", ["supplier_id"])
    op.create_table(
        "sign_in_links",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", AutoString(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", Aware(timezone=True), nullable=False),
        sa.Column("expires_at", Aware(timezone=True), nullable=False),
        sa.Column("used_at", Aware(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_sign_in_links_user_id", "sign_in_links", ["user_id"])
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", AutoString(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("buyer_id", sa.Uuid(), nullable=True),
        sa.Column("supplier_id", sa.Uuid(), nullable=True),
        sa.Column("method", AutoString(length=16), nullable=False),
        sa.Column("created_at", Aware(timezone=True), nullable=False),
        sa.Column("last_seen_at", Aware(timezone=True), nullable=False),
        sa.Column("expires_at", Aware(timezone=True), nullable=False),
        sa.Column("revoked_at", Aware(timezone=True), nullable=True),
        sa.Column("id_token", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["buyer_id"], ["buyers.id"]),
        sa.ForeignKeyConstraint(["supplier_id"], ["suppliers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])


def downgrade() -> None:
    op.drop_table("web_sessions")
    op.drop_table("sign_in_links")
    op.drop_table("users")
