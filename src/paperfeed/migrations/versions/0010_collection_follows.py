"""collection follows: readers who get a followed collection's new papers by webhook

Revision ID: 0010_collection_follows
Revises: 0009_curated_authors
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_collection_follows"
down_revision = "0009_curated_authors"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "collection_follow",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("collection_pk", sa.Integer(), nullable=False),
        sa.Column("seen_item_pk", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_pk"], ["app_user.pk"], name=op.f("fk_collection_follow_user_pk_app_user"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["collection_pk"], ["collection.pk"],
                                name=op.f("fk_collection_follow_collection_pk_collection"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_collection_follow")),
        sa.UniqueConstraint("user_pk", "collection_pk", name="uq_collection_follow_user_collection"),
    )
    op.create_index(op.f("ix_collection_follow_collection_pk"), "collection_follow", ["collection_pk"])


def downgrade() -> None:
    op.drop_index(op.f("ix_collection_follow_collection_pk"), table_name="collection_follow")
    op.drop_table("collection_follow")
