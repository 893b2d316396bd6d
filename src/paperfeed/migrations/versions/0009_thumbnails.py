"""thumbnails: first-page images of papers, with each paper's claim and outcome

Revision ID: 0009_thumbnails
Revises: 0008_jobs
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_thumbnails"
down_revision = "0008_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "thumbnail",
        sa.Column("paper_pk", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("owner", sa.String(length=128), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("small", sa.LargeBinary(), nullable=True),
        sa.Column("small_width", sa.Integer(), nullable=True),
        sa.Column("small_height", sa.Integer(), nullable=True),
        sa.Column("large", sa.LargeBinary(), nullable=True),
        sa.Column("large_width", sa.Integer(), nullable=True),
        sa.Column("large_height", sa.Integer(), nullable=True),
        sa.Column("etag", sa.String(length=32), nullable=True),
        sa.Column("pdf_bytes", sa.Integer(), nullable=True),
        sa.Column("made_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["paper_pk"], ["paper.pk"], name=op.f("fk_thumbnail_paper_pk_paper"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("paper_pk", name=op.f("pk_thumbnail")),
    )
    op.create_index("ix_thumbnail_status", "thumbnail", ["status"])


def downgrade() -> None:
    op.drop_index("ix_thumbnail_status", table_name="thumbnail")
    op.drop_table("thumbnail")
