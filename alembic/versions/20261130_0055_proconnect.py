"""access_requests: an agent's first ProConnect sign-in, approved or refused by the buyer's admin

Revision ID: 0014_proconnect
Revises: 0009_users
Create Date: 2026-11-30 00:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision: str = "0014_proconnect"
down_revision: str | Sequence[str] | None = "0009_users"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AutoString = sqlmodel.sql.sqltypes.AutoString
Aware = app.db.AwareDateTime


def upgrade() -> None:
    op.create_table(
        "access_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("buyer_id", sa.Uuid(), nullable=False),
        sa.Column("issuer", AutoString(length=255), nullable=False),
        sa.Column("subject", AutoString(length=255), nullable=False),
        sa.Column("email", AutoString(length=254), nullable=False),
        sa.Column("name", AutoString(length=200), nullable=True),
        sa.Column("siret", AutoString(length=14), nullable=False),
        sa.Column("idp_id", AutoString(length=255), nullable=True),
        sa.Column("status", AutoString(length=16), nullable=False),
        sa.Column("created_at", Aware(timezone=True), nullable=False),
        sa.Column("last_attempt_at", Aware(timezone=True), nullable=False),
        sa.Column("decided_at", Aware(timezone=True), nullable=True),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["buyer_id"], ["buyers.id"]),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("buyer_id", "issuer", "subject", name="uq_access_requests_identity"),
    )
    op.create_index("ix_access_requests_buyer_id", "access_requests", ["buyer_id"])


def downgrade() -> None:
    op.drop_table("access_requests")
