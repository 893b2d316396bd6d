"""curated day and authors: daily_entry.featured, author_name (backfilled), author_follow

Revision ID: 0009_curated_authors
Revises: 0009_foryou
"""

import orjson
import sqlalchemy as sa
from alembic import op

from paperfeed.records.authors import author_keys, published_at

revision = "0009_curated_authors"
down_revision = "0009_foryou"
branch_labels = None
depends_on = None

BACKFILL_CHUNK = 5000


def upgrade() -> None:
    with op.batch_alter_table("daily_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("featured", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        "author_name",
        sa.Column("paper_pk", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("published", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["paper_pk"], ["paper.pk"], name=op.f("fk_author_name_paper_pk_paper"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("paper_pk", "key", name=op.f("pk_author_name")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "author_follow",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("author_key", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_pk"], ["app_user.pk"], name=op.f("fk_author_follow_user_pk_app_user"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_author_follow")),
        sa.UniqueConstraint("user_pk", "author_key", name="uq_author_follow_user_key"),
    )
    with op.batch_alter_table("author_follow", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_author_follow_author_key"), ["author_key"], unique=False)
    _backfill()
    # built after the backfill: one sort instead of an index update per row
    op.create_index("ix_author_name_key_published", "author_name", ["key", "published", "paper_pk", "name"],
                    unique=False)


def _backfill() -> None:
    """Every stored paper's authors, in chunks of papers by pk. Plain driver statements: the
    ORM's per-value work would cost more than the inserts (430k rows for the 75k demo)."""
    conn = op.get_bind()
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    insert = f"INSERT INTO author_name (paper_pk, key, position, name, published) VALUES ({', '.join([mark] * 5)})"
    last = 0
    while True:
        rows = conn.execute(sa.text("SELECT pk, authors, submitted_at, announced_on FROM paper WHERE pk > :last "
                                    "ORDER BY pk LIMIT :n"), {"last": last, "n": BACKFILL_CHUNK}).all()
        if not rows:
            return
        values = []
        for pk, authors, submitted, announced in rows:
            listed = orjson.loads(authors) if isinstance(authors, (str, bytes)) else authors
            when = published_at(submitted, announced).isoformat(" ", "microseconds")
            values.extend((pk, key, pos, name, when) for pos, key, name in author_keys(listed or []))
        if values:
            conn.exec_driver_sql(insert, values)
        last = rows[-1][0]


def downgrade() -> None:
    op.drop_index("ix_author_name_key_published", table_name="author_name")
    with op.batch_alter_table("author_follow", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_author_follow_author_key"))
    op.drop_table("author_follow")
    op.drop_table("author_name")
    with op.batch_alter_table("daily_entry", schema=None) as batch_op:
        batch_op.drop_column("featured")
