"""digest: subscribers and deliveries

Revision ID: 0004_digest
Revises: 0003_community
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004_digest"
down_revision = "0003_community"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "digest_subscriber",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("user_pk", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("frequency", sa.String(length=8), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("categories", JSON, nullable=False),
        sa.Column("keywords", JSON, nullable=False),
        sa.Column("authors", JSON, nullable=False),
        sa.Column("confirm_nonce", sa.String(length=32), nullable=False),
        sa.Column("confirm_sent_at", sa.DateTime(), nullable=True),
        sa.Column("confirm_mails", sa.Integer(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("unsubscribed_at", sa.DateTime(), nullable=True),
        sa.Column("permanent_failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("paused_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_digest_subscriber")),
        sa.UniqueConstraint("email", name=op.f("uq_digest_subscriber_email")),
        sa.UniqueConstraint("user_pk", name=op.f("uq_digest_subscriber_user_pk")),
    )
    with op.batch_alter_table("digest_subscriber", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_digest_subscriber_status"), ["status"], unique=False)

    op.create_table(
        "digest_delivery",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subscriber_pk", sa.Integer(), nullable=False),
        sa.Column("period_key", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("paper_pks", JSON, nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["subscriber_pk"], ["digest_subscriber.pk"],
                                name=op.f("fk_digest_delivery_subscriber_pk_digest_subscriber"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_digest_delivery")),
        sa.UniqueConstraint("subscriber_pk", "period_key", name="uq_digest_delivery_subscriber_period"),
    )
    with op.batch_alter_table("digest_delivery", schema=None) as batch_op:
        batch_op.create_index("ix_digest_delivery_period_status", ["period_key", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_digest_delivery_sent_at"), ["sent_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("digest_delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_digest_delivery_sent_at"))
        batch_op.drop_index("ix_digest_delivery_period_status")
    op.drop_table("digest_delivery")
    with op.batch_alter_table("digest_subscriber", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_digest_subscriber_status"))
    op.drop_table("digest_subscriber")
