"""daily_entry: drop the index on paper_pk alone

The unique (paper_pk, day) index already serves look-ups by paper (and the cascade from
paper), so the single-column index only cost every imported entry one more B-tree insert.

Revision ID: 0005_entry_index
Revises: 0004_digest
"""

from alembic import op

revision = "0005_entry_index"
down_revision = "0004_digest"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_daily_entry_paper_pk", table_name="daily_entry")


def downgrade() -> None:
    op.create_index("ix_daily_entry_paper_pk", "daily_entry", ["paper_pk"])
