"""api_calls: the API Entreprise call log (kept 36 months)

Revision ID: 0003_api_calls
Revises: 0001_foundation
Create Date: 2026-11-27 06:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision: str = "0003_api_calls"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_calls",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("called_at", app.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column("buyer_id", sa.Uuid(), nullable=True),
        sa.Column("endpoint", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("recipient", sqlmodel.sql.sqltypes.AutoString(length=14), nullable=False),
        sa.Column("object", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("error_code", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("cached", sa.Boolean(), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.ForeignKeyConstraint(["buyer_id"], ["buyers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_api_calls_called_at", "api_calls", ["called_at"], unique=False)
    op.create_index("ix_api_calls_buyer_id", "api_calls", ["buyer_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_api_calls_buyer_id", table_name="api_calls")
    op.drop_index("ix_api_calls_called_at", table_name="api_calls")
    op.drop_table("api_calls")
