"""change sequence: change_counter, paper/paper_embedding.change_seq, embedding_claim

Indexes, caches and ETags on every node follow one database counter instead of wall
clocks (store/changes.py); embedders claim papers in the database (store/claims.py).
Existing rows keep sequence 0: a node's index state from before this migration has no
sequence watermark, so it resyncs everything once.

Revision ID: 0006_change_seq
Revises: 0005_entry_index
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_change_seq"
down_revision = "0005_entry_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "change_counter",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_change_counter")),
    )
    op.execute("INSERT INTO change_counter (pk, n) VALUES (1, 1)")
    for table in ("paper", "paper_embedding"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("change_seq", sa.BigInteger(), server_default="0", nullable=False))
            batch_op.create_index(batch_op.f(f"ix_{table}_change_seq"), ["change_seq"], unique=False)
    op.create_table(
        "embedding_claim",
        sa.Column("paper_pk", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["paper_pk"], ["paper.pk"], name=op.f("fk_embedding_claim_paper_pk_paper"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("paper_pk", name=op.f("pk_embedding_claim")),
    )
    with op.batch_alter_table("embedding_claim", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_embedding_claim_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("embedding_claim", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_embedding_claim_expires_at"))
    op.drop_table("embedding_claim")
    for table in ("paper_embedding", "paper"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_change_seq"))
            batch_op.drop_column("change_seq")
    op.drop_table("change_counter")
