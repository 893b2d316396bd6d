"""keywords: key phrases per paper (paper.keywords, its stamp and text hash), keyword_claim

Existing papers get none (NULL) until the keyword worker or `paperfeed index keywords`
extracts them.

Revision ID: 0009_keywords
Revises: 0009_thumbnails
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009_keywords"
down_revision = "0009_thumbnails"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("paper", schema=None) as batch_op:
        batch_op.add_column(sa.Column("keywords", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()),
                                                                         "postgresql"), nullable=True))
        batch_op.add_column(sa.Column("keywords_stamp", sa.String(length=48), nullable=True))
        batch_op.add_column(sa.Column("keywords_text_hash", sa.String(length=32), nullable=True))
    op.create_table(
        "keyword_claim",
        sa.Column("paper_pk", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["paper_pk"], ["paper.pk"], name=op.f("fk_keyword_claim_paper_pk_paper"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("paper_pk", name=op.f("pk_keyword_claim")),
    )
    with op.batch_alter_table("keyword_claim", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_keyword_claim_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("keyword_claim", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_keyword_claim_expires_at"))
    op.drop_table("keyword_claim")
    with op.batch_alter_table("paper", schema=None) as batch_op:
        batch_op.drop_column("keywords_text_hash")
        batch_op.drop_column("keywords_stamp")
        batch_op.drop_column("keywords")
