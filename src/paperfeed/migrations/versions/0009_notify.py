"""notify: webhooks and their outbox, saved searches with alerts, reply notifications

Revision ID: 0009_notify
Revises: 0009_collections
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0009_notify'
down_revision = '0009_collections'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table('notify_event',
    sa.Column('pk', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('user_pk', sa.Integer(), nullable=True),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('payload', JSON, nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('mail_state', sa.String(length=16), nullable=True),
    sa.Column('mail_lease_until', sa.DateTime(), nullable=True),
    sa.Column('mail_attempts', sa.Integer(), nullable=False),
    sa.Column('mail_error', sa.Text(), nullable=True),
    sa.Column('mail_sent_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_pk'], ['app_user.pk'], name=op.f('fk_notify_event_user_pk_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_notify_event')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_notify_event_dedupe_key'))
    )
    with op.batch_alter_table('notify_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notify_event_mail_state'), ['mail_state'], unique=False)
        batch_op.create_index(batch_op.f('ix_notify_event_user_pk'), ['user_pk'], unique=False)

    op.create_table('notify_preference',
    sa.Column('user_pk', sa.Integer(), nullable=False),
    sa.Column('email_replies', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['user_pk'], ['app_user.pk'], name=op.f('fk_notify_preference_user_pk_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_pk', name=op.f('pk_notify_preference'))
    )
    op.create_table('saved_search',
    sa.Column('pk', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_pk', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('query', sa.String(length=500), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=True),
    sa.Column('since', sa.Date(), nullable=True),
    sa.Column('until', sa.Date(), nullable=True),
    sa.Column('alert_email', sa.Boolean(), nullable=False),
    sa.Column('alert_webhook', sa.Boolean(), nullable=False),
    sa.Column('feed_token', sa.String(length=32), nullable=False),
    sa.Column('last_paper_pk', sa.Integer(), nullable=False),
    sa.Column('last_run_at', sa.DateTime(), nullable=True),
    sa.Column('last_matches', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_pk'], ['app_user.pk'], name=op.f('fk_saved_search_user_pk_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_saved_search')),
    sa.UniqueConstraint('feed_token', name=op.f('uq_saved_search_feed_token'))
    )
    with op.batch_alter_table('saved_search', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_saved_search_user_pk'), ['user_pk'], unique=False)

    op.create_table('webhook',
    sa.Column('pk', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_pk', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('secret', sa.String(length=64), nullable=False),
    sa.Column('events', JSON, nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.Column('disabled_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_pk'], ['app_user.pk'], name=op.f('fk_webhook_user_pk_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_webhook'))
    )
    with op.batch_alter_table('webhook', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_user_pk'), ['user_pk'], unique=False)

    op.create_table('notification',
    sa.Column('pk', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_pk', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('comment_pk', sa.Integer(), nullable=False),
    sa.Column('paper_pk', sa.Integer(), nullable=False),
    sa.Column('actor_name', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['comment_pk'], ['comment.pk'], name=op.f('fk_notification_comment_pk_comment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['paper_pk'], ['paper.pk'], name=op.f('fk_notification_paper_pk_paper'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_pk'], ['app_user.pk'], name=op.f('fk_notification_user_pk_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_notification')),
    sa.UniqueConstraint('user_pk', 'comment_pk', name='uq_notification_user_comment')
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_user_read', ['user_pk', 'read_at'], unique=False)

    op.create_table('webhook_delivery',
    sa.Column('pk', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('event_pk', sa.Integer(), nullable=False),
    sa.Column('webhook_pk', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('owner', sa.String(length=128), nullable=True),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['event_pk'], ['notify_event.pk'], name=op.f('fk_webhook_delivery_event_pk_notify_event'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['webhook_pk'], ['webhook.pk'], name=op.f('fk_webhook_delivery_webhook_pk_webhook'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_webhook_delivery')),
    sa.UniqueConstraint('event_pk', 'webhook_pk', name='uq_webhook_delivery_event_webhook'),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_webhook_delivery_idempotency_key'))
    )
    with op.batch_alter_table('webhook_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_delivery_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_delivery_webhook_pk'), ['webhook_pk'], unique=False)

    op.create_table('webhook_call',
    sa.Column('pk', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('webhook_pk', sa.Integer(), nullable=False),
    sa.Column('delivery_pk', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('target', sa.String(length=300), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['delivery_pk'], ['webhook_delivery.pk'], name=op.f('fk_webhook_call_delivery_pk_webhook_delivery'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['webhook_pk'], ['webhook.pk'], name=op.f('fk_webhook_call_webhook_pk_webhook'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_webhook_call'))
    )
    with op.batch_alter_table('webhook_call', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_call_webhook_at', ['webhook_pk', 'at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('webhook_call', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_call_webhook_at')

    op.drop_table('webhook_call')
    with op.batch_alter_table('webhook_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_delivery_webhook_pk'))
        batch_op.drop_index('ix_webhook_delivery_due')

    op.drop_table('webhook_delivery')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_user_read')

    op.drop_table('notification')
    with op.batch_alter_table('webhook', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_user_pk'))

    op.drop_table('webhook')
    with op.batch_alter_table('saved_search', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_saved_search_user_pk'))

    op.drop_table('saved_search')
    op.drop_table('notify_preference')
    with op.batch_alter_table('notify_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notify_event_user_pk'))
        batch_op.drop_index(batch_op.f('ix_notify_event_mail_state'))

    op.drop_table('notify_event')
