"""contract flags: a holder's social regime (the MSA instead of the URSSAF for the agricultural
regime) and a contract's foreign workers (their list becomes a requirement, D8254-2 C. trav.)

Existing rows take the defaults: the general regime, no foreign workers.

Revision ID: 0006_contract_flags
Revises: 0001_foundation
Create Date: 2026-11-30 00:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006_contract_flags"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_str = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("foreign_workers", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("contract_holders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("social_regime", _str(length=16), nullable=False, server_default="general")
        )


def downgrade() -> None:
    with op.batch_alter_table("contract_holders", schema=None) as batch_op:
        batch_op.drop_column("social_regime")
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.drop_column("foreign_workers")
