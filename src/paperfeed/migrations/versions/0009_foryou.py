"""foryou: "not interested" marks, one per user and paper; daily_entry.submitted_by indexed

Revision ID: 0009_foryou
Revises: 0009_notify
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_foryou"
down_revision = "0009_notify"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "not_interested",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("paper_pk", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_pk"], ["app_user.pk"], name=op.f("fk_not_interested_user_pk_app_user"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["paper_pk"], ["paper.pk"], name=op.f("fk_not_interested_paper_pk_paper"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_not_interested")),
        sa.UniqueConstraint("user_pk", "paper_pk", name="uq_not_interested_user_paper"),
    )
    op.create_index("ix_not_interested_user_created", "not_interested", ["user_pk", "created_at"])
    op.create_index(op.f("ix_not_interested_paper_pk"), "not_interested", ["paper_pk"])
    # a user's submissions are a For you signal: without it, every request scans all entries
    op.create_index(op.f("ix_daily_entry_submitted_by"), "daily_entry", ["submitted_by"])


def downgrade() -> None:
    op.drop_index(op.f("ix_daily_entry_submitted_by"), table_name="daily_entry")
    op.drop_index(op.f("ix_not_interested_paper_pk"), table_name="not_interested")
    op.drop_index("ix_not_interested_user_created", table_name="not_interested")
    op.drop_table("not_interested")
