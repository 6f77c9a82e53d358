"""uploads, contractor_invitations, reminder_sendings, reminder_opt_outs: the contractor portal

Revision ID: 0015_uploads
Revises: 0009_users (and needs 0002_documents: uploads reference archived documents)
Create Date: 2026-11-30 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision: str = "0015_uploads"
down_revision: str | Sequence[str] | None = "0009_users"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "0002_documents"

AutoString = sqlmodel.sql.sqltypes.AutoString
Aware = app.db.AwareDateTime


def upgrade() -> None:
    op.create_table(
        "uploads",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("submission_id", sa.Uuid(), nullable=False),
        sa.Column("buyer_id", sa.Uuid(), nullable=False),
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("requirement", AutoString(length=32), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("status", AutoString(length=16), nullable=False),
        sa.Column("reason", AutoString(length=1000), nullable=True),
        sa.Column("automatic", sa.Boolean(), nullable=False),
        sa.Column("checks", sa.JSON(), nullable=False),
        sa.Column("extracted", sa.JSON(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("security_code", AutoString(length=32), nullable=True),
        sa.Column("code_verified", sa.Boolean(), nullable=True),
        sa.Column("file_name", AutoString(length=200), nullable=True),
        sa.Column("uploaded_by", AutoString(length=254), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", Aware(timezone=True), nullable=False),
        sa.Column("reviewed_at", Aware(timezone=True), nullable=True),
        sa.Column("reviewed_by", AutoString(length=254), nullable=True),
        sa.ForeignKeyConstraint(["buyer_id"], ["buyers.id"]),
        sa.ForeignKeyConstraint(["supplier_id"], ["suppliers.id"]),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in (
        "submission_id",
        "buyer_id",
        "supplier_id",
        "document_id",
        "status",
        "created_at",
    ):
        op.create_index(f"ix_uploads_{column}", "uploads", [column])
    op.create_table(
        "contractor_invitations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("buyer_id", sa.Uuid(), nullable=False),
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("invited_by", AutoString(length=254), nullable=True),
        sa.Column("created_at", Aware(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["buyer_id"], ["buyers.id"]),
        sa.ForeignKeyConstraint(["supplier_id"], ["suppliers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "buyer_id", name="uq_contractor_invitations_user_buyer"),
    )
    for column in ("user_id", "buyer_id", "supplier_id"):
        op.create_index(f"ix_contractor_invitations_{column}", "contractor_invitations", [column])
    op.create_table(
        "reminder_sendings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("legal", sa.Boolean(), nullable=False),
        sa.Column("at", Aware(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "sent_on", name="uq_reminder_sendings_day"),
    )
    op.create_index("ix_reminder_sendings_user_id", "reminder_sendings", ["user_id"])
    op.create_table(
        "reminder_opt_outs",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("at", Aware(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("user_id"),
    )


def downgrade() -> None:
    op.drop_table("reminder_opt_outs")
    op.drop_index("ix_reminder_sendings_user_id", "reminder_sendings")
    op.drop_table("reminder_sendings")
    for column in ("user_id", "buyer_id", "supplier_id"):
        op.drop_index(f"ix_contractor_invitations_{column}", "contractor_invitations")
    op.drop_table("contractor_invitations")
    for column in (
        "submission_id",
        "buyer_id",
        "supplier_id",
        "document_id",
        "status",
        "created_at",
    ):
        op.drop_index(f"ix_uploads_{column}", "uploads")
    op.drop_table("uploads")
