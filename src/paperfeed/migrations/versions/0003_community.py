"""community: users, sessions, API tokens, email tokens, votes, comments, audit log, rate limits

Revision ID: 0003_community
Revises: 0002_search
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003_community"
down_revision = "0002_search"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _user_fk(table: str, ondelete: str = "CASCADE") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["user_pk"], ["app_user.pk"], name=op.f(f"fk_{table}_user_pk_app_user"),
                                   ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        "app_user",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=32), nullable=False),
        sa.Column("username_key", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("email_verified", sa.Boolean(), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("banned", sa.Boolean(), nullable=False),
        sa.Column("upvotes_private", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_app_user")),
        sa.UniqueConstraint("username_key", name=op.f("uq_app_user_username_key")),
        sa.UniqueConstraint("email", name=op.f("uq_app_user_email")),
    )
    op.create_table(
        "user_session",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        _user_fk("user_session"),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_user_session")),
    )
    op.create_index(op.f("ix_user_session_user_pk"), "user_session", ["user_pk"])
    op.create_table(
        "api_token",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        _user_fk("api_token"),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )
    op.create_index(op.f("ix_api_token_user_pk"), "api_token", ["user_pk"])
    op.create_table(
        "email_token",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("nonce_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        _user_fk("email_token"),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_email_token")),
    )
    op.create_index(op.f("ix_email_token_user_pk"), "email_token", ["user_pk"])
    op.create_table(
        "vote",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("paper_pk", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        _user_fk("vote"),
        sa.ForeignKeyConstraint(["paper_pk"], ["paper.pk"], name=op.f("fk_vote_paper_pk_paper"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_vote")),
        sa.UniqueConstraint("user_pk", "paper_pk", name="uq_vote_user_paper"),
    )
    op.create_index(op.f("ix_vote_paper_pk"), "vote", ["paper_pk"])
    op.create_table(
        "comment",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("paper_pk", sa.Integer(), nullable=False),
        sa.Column("user_pk", sa.Integer(), nullable=True),
        sa.Column("parent_pk", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("edited_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["paper_pk"], ["paper.pk"], name=op.f("fk_comment_paper_pk_paper"), ondelete="CASCADE"),
        _user_fk("comment", ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["parent_pk"], ["comment.pk"], name=op.f("fk_comment_parent_pk_comment"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_comment")),
    )
    op.create_index("ix_comment_paper_created", "comment", ["paper_pk", "created_at"])
    op.create_index(op.f("ix_comment_user_pk"), "comment", ["user_pk"])
    op.create_index(op.f("ix_comment_parent_pk"), "comment", ["parent_pk"])
    op.create_table(
        "audit_log",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("actor_pk", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target_type", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=128), nullable=False),
        sa.Column("detail", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_created_at"), "audit_log", ["created_at"])
    op.create_table(
        "rate_limit_hit",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_rate_limit_hit")),
    )
    op.create_index("ix_rate_limit_hit_key_at", "rate_limit_hit", ["key", "at"])


def downgrade() -> None:
    op.drop_index("ix_rate_limit_hit_key_at", table_name="rate_limit_hit")
    op.drop_table("rate_limit_hit")
    op.drop_index(op.f("ix_audit_log_created_at"), table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index(op.f("ix_comment_parent_pk"), table_name="comment")
    op.drop_index(op.f("ix_comment_user_pk"), table_name="comment")
    op.drop_index("ix_comment_paper_created", table_name="comment")
    op.drop_table("comment")
    op.drop_index(op.f("ix_vote_paper_pk"), table_name="vote")
    op.drop_table("vote")
    op.drop_index(op.f("ix_email_token_user_pk"), table_name="email_token")
    op.drop_table("email_token")
    op.drop_index(op.f("ix_api_token_user_pk"), table_name="api_token")
    op.drop_table("api_token")
    op.drop_index(op.f("ix_user_session_user_pk"), table_name="user_session")
    op.drop_table("user_session")
    op.drop_table("app_user")
