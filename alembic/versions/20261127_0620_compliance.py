"""compliance: requirement states (schedule + status), checks, status events

Revision ID: 0004_compliance
Revises: 0001_foundation
Create Date: 2026-11-27 06:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision: str = "0004_compliance"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
# requirement_states.document_id references documents.id.
depends_on: str | Sequence[str] | None = ("0002_documents",)

_str = sqlmodel.sql.sqltypes.AutoString
_at = app.db.AwareDateTime


def upgrade() -> None:
    op.create_table(
        "requirement_states",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("buyer_id", sa.Uuid(), nullable=False),
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("requirement", _str(length=32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("status", _str(length=32), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("document_id", sa.Uuid(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=True),
        sa.Column("alert", _str(length=300), nullable=True),
        sa.Column("evaluated_on", sa.Date(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("served_due_on", sa.Date(), nullable=True),
        sa.Column("next_due_at", _at(timezone=True), nullable=True),
        sa.Column("retry_at", _at(timezone=True), nullable=True),
        sa.Column("last_checked_at", _at(timezone=True), nullable=True),
        sa.Column("run_state", _str(length=16), nullable=False),
        sa.Column("lease_until", _at(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("updated_at", _at(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["buyer_id"], ["buyers.id"]),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"]),
        sa.ForeignKeyConstraint(["supplier_id"], ["suppliers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "buyer_id", "supplier_id", "requirement", name="uq_requirement_states_pair"
        ),
    )
    with op.batch_alter_table("requirement_states", schema=None) as batch_op:
        batch_op.create_index("ix_requirement_states_due", ["run_state", "next_due_at"])
        batch_op.create_index(batch_op.f("ix_requirement_states_buyer_id"), ["buyer_id"])
        batch_op.create_index(batch_op.f("ix_requirement_states_supplier_id"), ["supplier_id"])
        batch_op.create_index(batch_op.f("ix_requirement_states_status"), ["status"])

    op.create_table(
        "compliance_checks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("buyer_id", sa.Uuid(), nullable=False),
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("requirement", _str(length=32), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("outcome", _str(length=32), nullable=False),
        sa.Column("status", _str(length=32), nullable=True),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("document_ids", sa.JSON(), nullable=False),
        sa.Column("request_ids", sa.JSON(), nullable=False),
        sa.Column("message", _str(length=500), nullable=True),
        sa.Column("started_at", _at(timezone=True), nullable=False),
        sa.Column("finished_at", _at(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["buyer_id"], ["buyers.id"]),
        sa.ForeignKeyConstraint(["supplier_id"], ["suppliers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "buyer_id", "supplier_id", "requirement", "due_on", name="uq_compliance_checks_due"
        ),
    )
    with op.batch_alter_table("compliance_checks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_compliance_checks_buyer_id"), ["buyer_id"])
        batch_op.create_index(batch_op.f("ix_compliance_checks_supplier_id"), ["supplier_id"])

    op.create_table(
        "compliance_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("buyer_id", sa.Uuid(), nullable=False),
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("requirement", _str(length=32), nullable=False),
        sa.Column("old_status", _str(length=32), nullable=True),
        sa.Column("new_status", _str(length=32), nullable=False),
        sa.Column("reason_codes", sa.JSON(), nullable=False),
        sa.Column("why", _str(length=500), nullable=True),
        sa.Column("at", _at(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["buyer_id"], ["buyers.id"]),
        sa.ForeignKeyConstraint(["supplier_id"], ["suppliers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("compliance_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_compliance_events_at"), ["at"])
        batch_op.create_index(batch_op.f("ix_compliance_events_buyer_id"), ["buyer_id"])
        batch_op.create_index(batch_op.f("ix_compliance_events_supplier_id"), ["supplier_id"])


def downgrade() -> None:
    op.drop_table("compliance_events")
    op.drop_table("compliance_checks")
    op.drop_table("requirement_states")
