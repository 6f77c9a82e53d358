"""compliance requests: who asked the contractor for its documents, when and how; the grace
period of a missing document runs from the first one (requirement_states.requested_on)

Revision ID: 0005_compliance_requests
Revises: 0004_compliance
Create Date: 2026-11-30 00:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision: str = "0005_compliance_requests"
down_revision: str | Sequence[str] | None = "0004_compliance"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_str = sqlmodel.sql.sqltypes.AutoString
_at = app.db.AwareDateTime


def upgrade() -> None:
    op.create_table(
        "compliance_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("buyer_id", sa.Uuid(), nullable=False),
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("requirements", sa.JSON(), nullable=False),
        sa.Column("channel", _str(length=16), nullable=False),
        sa.Column("by", _str(length=200), nullable=True),
        sa.Column("note", _str(length=1000), nullable=True),
        sa.Column("at", _at(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["buyer_id"], ["buyers.id"]),
        sa.ForeignKeyConstraint(["supplier_id"], ["suppliers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("compliance_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_compliance_requests_at"), ["at"])
        batch_op.create_index(batch_op.f("ix_compliance_requests_buyer_id"), ["buyer_id"])
        batch_op.create_index(batch_op.f("ix_compliance_requests_supplier_id"), ["supplier_id"])
    with op.batch_alter_table("requirement_states", schema=None) as batch_op:
        batch_op.add_column(sa.Column("requested_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("requirement_states", schema=None) as batch_op:
        batch_op.drop_column("requested_on")
    op.drop_table("compliance_requests")
