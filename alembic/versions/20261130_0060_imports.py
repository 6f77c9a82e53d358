"""imports: uploaded DECP / CSV files, their state and report; a holder's ERP supplier code

`contract_holders.code_tiers` is the supplier's code in the buyer's ERP (searchable); existing
rows have none.

Revision ID: 0010_imports
Revises: 0001_foundation
Create Date: 2026-11-30 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision: str = "0010_imports"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_str = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "imports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("buyer_id", sa.Uuid(), nullable=True),
        sa.Column("by_key_prefix", _str(length=16), nullable=True),
        sa.Column("filename", _str(length=255), nullable=False),
        sa.Column("format", _str(length=8), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("create_buyers", sa.Boolean(), nullable=False),
        sa.Column("threshold_ht", _str(length=20), nullable=False),
        sa.Column("state", _str(length=16), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", _str(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("error", _str(length=1000), nullable=True),
        sa.Column("created_at", app.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column("started_at", app.db.AwareDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", app.db.AwareDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["buyer_id"], ["buyers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_imports_buyer_id"), "imports", ["buyer_id"], unique=False)
    with op.batch_alter_table("contract_holders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("code_tiers", _str(length=64), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_contract_holders_code_tiers"), ["code_tiers"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("contract_holders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contract_holders_code_tiers"))
        batch_op.drop_column("code_tiers")
    op.drop_index(op.f("ix_imports_buyer_id"), table_name="imports")
    op.drop_table("imports")
