"""search: stored paper embeddings

Revision ID: 0002_search
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_search"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "paper_embedding",
        sa.Column("paper_pk", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("content_hash", sa.String(length=32), nullable=False),
        sa.Column("text_hash", sa.String(length=32), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("embedded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["paper_pk"], ["paper.pk"], name=op.f("fk_paper_embedding_paper_pk_paper"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("paper_pk", name=op.f("pk_paper_embedding")),
    )
    with op.batch_alter_table("paper_embedding", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_paper_embedding_embedded_at"), ["embedded_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("paper_embedding", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_paper_embedding_embedded_at"))
    op.drop_table("paper_embedding")
