"""buyer_tokens: each buyer's own API Entreprise token, sealed under the archive's master keys

Revision ID: 0007_buyer_tokens
Revises: 0001_foundation
Create Date: 2026-11-30 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision: str = "0007_buyer_tokens"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "buyer_tokens",
        sa.Column("buyer_id", sa.Uuid(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("key_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("expires_at", app.db.AwareDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", app.db.AwareDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["buyer_id"], ["buyers.id"]),
        sa.PrimaryKeyConstraint("buyer_id"),
    )


def downgrade() -> None:
    op.drop_table("buyer_tokens")
