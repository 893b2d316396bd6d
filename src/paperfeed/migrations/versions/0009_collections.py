"""collections: users' lists of papers, with a private note and reading state per paper

Revision ID: 0009_collections
Revises: 0009_keywords
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_collections"
down_revision = "0009_keywords"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "collection",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("owner_pk", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["owner_pk"], ["app_user.pk"], name=op.f("fk_collection_owner_pk_app_user"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_collection")),
        sa.UniqueConstraint("owner_pk", "slug", name="uq_collection_owner_slug"),
    )
    op.create_table(
        "collection_item",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("collection_pk", sa.Integer(), nullable=False),
        sa.Column("paper_pk", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["collection_pk"], ["collection.pk"],
                                name=op.f("fk_collection_item_collection_pk_collection"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["paper_pk"], ["paper.pk"], name=op.f("fk_collection_item_paper_pk_paper"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_collection_item")),
        sa.UniqueConstraint("collection_pk", "paper_pk", name="uq_collection_item_collection_paper"),
    )
    op.create_index(op.f("ix_collection_item_paper_pk"), "collection_item", ["paper_pk"])
    op.create_index("ix_paper_doi_lower", "paper", [sa.text("lower(doi)")])


def downgrade() -> None:
    op.drop_index("ix_paper_doi_lower", table_name="paper")
    op.drop_index(op.f("ix_collection_item_paper_pk"), table_name="collection_item")
    op.drop_table("collection_item")
    op.drop_table("collection")
