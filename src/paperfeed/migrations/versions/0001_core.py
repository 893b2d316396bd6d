"""core: papers, daily entries, harvest state

Revision ID: 0001_core
Revises: 
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0001_core'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('harvest_state',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('value', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_harvest_state'))
    )
    op.create_table('paper',
    sa.Column('pk', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=128), nullable=False),
    sa.Column('version', sa.Integer(), nullable=True),
    sa.Column('versions', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('abstract', sa.Text(), nullable=False),
    sa.Column('authors', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('primary_category', sa.String(length=64), nullable=True),
    sa.Column('categories', sa.Text(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('announced_on', sa.Date(), nullable=True),
    sa.Column('comments', sa.Text(), nullable=True),
    sa.Column('journal_ref', sa.Text(), nullable=True),
    sa.Column('doi', sa.String(length=255), nullable=True),
    sa.Column('license', sa.String(length=255), nullable=True),
    sa.Column('abs_url', sa.Text(), nullable=True),
    sa.Column('pdf_url', sa.Text(), nullable=True),
    sa.Column('code_urls', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('project_page', sa.Text(), nullable=True),
    sa.Column('sources', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('extra', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('withdrawn', sa.Boolean(), nullable=False),
    sa.Column('content_hash', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_paper')),
    sa.UniqueConstraint('id', name=op.f('uq_paper_id'))
    )
    with op.batch_alter_table('paper', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_paper_announced_on'), ['announced_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_paper_changed_at'), ['changed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_paper_primary_category'), ['primary_category'], unique=False)

    op.create_table('daily_entry',
    sa.Column('pk', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('paper_pk', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('submitted_by', sa.Integer(), nullable=True),
    sa.Column('upvotes', sa.Integer(), nullable=False),
    sa.Column('num_comments', sa.Integer(), nullable=False),
    sa.Column('hidden', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['paper_pk'], ['paper.pk'], name=op.f('fk_daily_entry_paper_pk_paper'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_daily_entry')),
    sa.UniqueConstraint('paper_pk', 'day', name='uq_daily_entry_paper_day')
    )
    with op.batch_alter_table('daily_entry', schema=None) as batch_op:
        batch_op.create_index('ix_daily_entry_day_upvotes', ['day', 'upvotes'], unique=False)
        batch_op.create_index(batch_op.f('ix_daily_entry_paper_pk'), ['paper_pk'], unique=False)

    


def downgrade() -> None:
    
    with op.batch_alter_table('daily_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_daily_entry_paper_pk'))
        batch_op.drop_index('ix_daily_entry_day_upvotes')

    op.drop_table('daily_entry')
    with op.batch_alter_table('paper', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_paper_primary_category'))
        batch_op.drop_index(batch_op.f('ix_paper_changed_at'))
        batch_op.drop_index(batch_op.f('ix_paper_announced_on'))

    op.drop_table('paper')
    op.drop_table('harvest_state')
    
