"""documents: the evidence archive (documents, hash-chained journal)

Revision ID: 0002_documents
Revises: 0001_foundation
Create Date: 2026-11-27 06:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision: str = "0002_documents"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The journal is append-only at the database level too: an UPDATE or DELETE raises. Whoever can
# drop the trigger can still tamper, which `vigie archive verify` then detects.
_SQLITE_TRIGGERS = [
    """CREATE TRIGGER journal_entries_no_update BEFORE UPDATE ON journal_entries
       BEGIN SELECT RAISE(ABORT, 'journal_entries is append-only'); END""",
    """CREATE TRIGGER journal_entries_no_delete BEFORE DELETE ON journal_entries
       BEGIN SELECT RAISE(ABORT, 'journal_entries is append-only'); END""",
]
_PG_TRIGGERS = [
    """CREATE FUNCTION journal_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'journal_entries is append-only'; END $$""",
    """CREATE TRIGGER journal_entries_append_only BEFORE UPDATE OR DELETE ON journal_entries
       FOR EACH ROW EXECUTE FUNCTION journal_entries_append_only()""",
    """CREATE TRIGGER journal_entries_no_truncate BEFORE TRUNCATE ON journal_entries
       FOR EACH STATEMENT EXECUTE FUNCTION journal_entries_append_only()""",
]


def upgrade() -> None:
    op.create_table(
        "journal_entries",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", app.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("hash"),
    )
    op.create_index("ix_journal_entries_kind", "journal_entries", ["kind"], unique=False)
    op.create_index("ix_journal_entries_subject", "journal_entries", ["subject"], unique=False)

    op.create_table(
        "documents",
        sa.Column("doc_type", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("buyer_id", sa.Uuid(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("media_type", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("source_endpoint", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("uploaded_by", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("obtained_at", app.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("security_code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("journal_seq", sa.Integer(), nullable=False),
        sa.Column("created_at", app.db.AwareDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["buyer_id"], ["buyers.id"]),
        sa.ForeignKeyConstraint(["supplier_id"], ["suppliers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("buyer_id", "sha256", name="uq_documents_buyer_sha256"),
    )
    op.create_index("ix_documents_buyer_id", "documents", ["buyer_id"], unique=False)
    op.create_index("ix_documents_obtained_at", "documents", ["obtained_at"], unique=False)
    op.create_index("ix_documents_supplier_id", "documents", ["supplier_id"], unique=False)

    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": _SQLITE_TRIGGERS, "postgresql": _PG_TRIGGERS}.get(dialect, []):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS journal_entries_no_truncate ON journal_entries")
        op.execute("DROP TRIGGER IF EXISTS journal_entries_append_only ON journal_entries")
        op.execute("DROP FUNCTION IF EXISTS journal_entries_append_only()")
    op.drop_index("ix_documents_supplier_id", table_name="documents")
    op.drop_index("ix_documents_obtained_at", table_name="documents")
    op.drop_index("ix_documents_buyer_id", table_name="documents")
    op.drop_table("documents")
    op.drop_index("ix_journal_entries_subject", table_name="journal_entries")
    op.drop_index("ix_journal_entries_kind", table_name="journal_entries")
    op.drop_table("journal_entries")
