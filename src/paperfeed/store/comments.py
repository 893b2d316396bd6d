"""Comment threads: one per paper, replies one level deep, Markdown rendered safely.

Edit rule: an author may edit or delete their own comment at any time. Edits within
``settings.comment_edit_minutes`` of posting are silent (fixing a typo); a later edit
sets ``edited_at`` and the comment shows "edited". Deleting keeps a "[deleted]"
placeholder only when the comment has visible replies.

``DailyEntry.num_comments`` = imported baseline + visible comments on the paper, kept
with atomic ``± 1`` updates whenever a comment becomes visible or stops being visible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import nh3
from markdown_it import MarkdownIt
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from paperfeed.config import Settings
from paperfeed.models import Comment, DailyEntry, Paper, User, utcnow
from paperfeed.store.changes import bump

MAX_LENGTH = 10_000
ALLOWED_TAGS = {"p", "br", "em", "strong", "code", "pre", "a", "ul", "ol", "li", "blockquote"}

# Raw HTML is off, so "<script>" arrives as text; nh3 then enforces the tag and URL
# allow-lists on whatever the Markdown produced (e.g. a [link](javascript:...)).
_markdown = MarkdownIt("zero").enable(
    ["emphasis", "backticks", "link", "autolink", "fence", "code", "list", "blockquote", "newline", "escape"]
)


class CommentError(ValueError):
    """Bad input for a comment; the message is safe to show."""


class NotAllowed(PermissionError):
    """The user may not do this to this comment."""


def render_markdown(text: str) -> str:
    """Markdown (links, code, emphasis, lists, quotes) to sanitised HTML; ``$math$`` stays
    text for KaTeX to typeset in the browser."""
    html = _markdown.render(text)
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes={"a": {"href", "title"}},
                     url_schemes={"http", "https", "mailto"}, link_rel="nofollow noopener noreferrer")


def _clean_body(body: str) -> str:
    body = (body or "").replace("\r\n", "\n").strip()
    if not body:
        raise CommentError("A comment cannot be empty.")
    if len(body) > MAX_LENGTH:
        raise CommentError(f"A comment is at most {MAX_LENGTH:,} characters.")
    return body


def _bump_comments(session: Session, paper_pk: int, delta: int) -> None:
    bump(session)
    session.execute(update(DailyEntry).where(DailyEntry.paper_pk == paper_pk)
                    .values(num_comments=DailyEntry.num_comments + delta))


def add_comment(session: Session, user: User, paper: Paper, body: str, parent_pk: int | None = None) -> Comment:
    from paperfeed.store.notifications import notify_comment

    body = _clean_body(body)
    replied_to = parent_pk
    if parent_pk is not None:
        parent_pk = _thread_root(session, paper, parent_pk)
    comment = Comment(paper_pk=paper.pk, user_pk=user.pk, parent_pk=parent_pk, body=body,
                      body_html=render_markdown(body), created_at=utcnow())
    session.add(comment)
    session.flush()
    _bump_comments(session, paper.pk, +1)
    notify_comment(session, comment, paper, user, replied_to=replied_to)  # the reply's author, the submitter
    return comment


def _thread_root(session: Session, paper: Paper, parent_pk: int) -> int:
    """Replies stay one level deep: a reply to a reply joins its top-level comment."""
    if not 0 < parent_pk < 2**31:  # beyond the column's range the database itself would fail
        raise CommentError("The comment you are replying to is not there.")
    parent = session.get(Comment, parent_pk)
    if parent is None or parent.paper_pk != paper.pk or not parent.visible:
        raise CommentError("The comment you are replying to is not there.")
    return parent.parent_pk or parent.pk


def get_comment(session: Session, comment_pk: int) -> Comment | None:
    return session.get(Comment, comment_pk)


def _own_comment(session: Session, user: User, comment_pk: int) -> Comment:
    comment = session.get(Comment, comment_pk)
    if comment is None or comment.deleted or comment.hidden:
        raise CommentError("That comment is not there.")
    if comment.user_pk != user.pk:
        raise NotAllowed("You can only change your own comments.")
    return comment


def edit_comment(session: Session, settings: Settings, user: User, comment_pk: int, body: str,
                 now: datetime | None = None) -> Comment:
    comment = _own_comment(session, user, comment_pk)
    body = _clean_body(body)
    if body == comment.body:
        return comment
    now = now or utcnow()
    comment.body, comment.body_html = body, render_markdown(body)
    if now - comment.created_at > timedelta(minutes=settings.comment_edit_minutes):
        comment.edited_at = now
    return comment


def delete_comment(session: Session, user: User, comment_pk: int) -> Comment:
    comment = _own_comment(session, user, comment_pk)
    _set_invisible(session, comment, deleted=True)
    return comment


def hide_comment(session: Session, comment: Comment) -> bool:
    """A moderator hides a comment; True when it was visible."""
    return _set_invisible(session, comment, hidden=True)


def _set_invisible(session: Session, comment: Comment, *, deleted: bool = False, hidden: bool = False) -> bool:
    values = {"deleted": True} if deleted else {"hidden": True}
    # the WHERE makes the count change exactly once, even when two requests race
    res = session.execute(update(Comment).where(Comment.pk == comment.pk, Comment.deleted.is_(False),
                                                Comment.hidden.is_(False)).values(**values))
    if not res.rowcount:
        session.execute(update(Comment).where(Comment.pk == comment.pk).values(**values))
    else:
        _bump_comments(session, comment.paper_pk, -1)
    session.refresh(comment)
    return bool(res.rowcount)


def hide_user_comments(session: Session, user: User) -> int:
    """Hides every visible comment of a user (a ban); returns how many."""
    visible = list(session.scalars(select(Comment).where(Comment.user_pk == user.pk, Comment.deleted.is_(False),
                                                         Comment.hidden.is_(False))))
    return sum(hide_comment(session, c) for c in visible)


def orphan_user_comments(session: Session, user: User) -> None:
    """Account deletion: the words go, replies to them stay under a placeholder."""
    for comment in session.scalars(select(Comment).where(Comment.user_pk == user.pk)):
        if comment.visible:
            _set_invisible(session, comment, deleted=True)
        comment.body, comment.body_html = "", ""


@dataclass
class ThreadItem:
    comment: Comment
    replies: list[Comment] = field(default_factory=list)


def thread(session: Session, paper_pk: int) -> list[ThreadItem]:
    """Top-level comments oldest first, each with its visible replies. A deleted or hidden
    top-level comment appears (as a placeholder) only when it has visible replies."""
    rows = list(session.scalars(select(Comment).where(Comment.paper_pk == paper_pk)
                                .order_by(Comment.created_at, Comment.pk)))
    items = {c.pk: ThreadItem(c) for c in rows if c.parent_pk is None}
    for c in rows:
        if c.parent_pk is not None and c.visible and c.parent_pk in items:
            items[c.parent_pk].replies.append(c)
    return [item for item in items.values() if item.comment.visible or item.replies]


def comments_by(session: Session, user: User, limit: int = 50) -> list[tuple[Comment, Paper]]:
    """A user's visible comments, newest first, each with its paper (a profile links to it)."""
    return [tuple(row) for row in session.execute(
        select(Comment, Paper).join(Paper, Paper.pk == Comment.paper_pk)
        .where(Comment.user_pk == user.pk, Comment.deleted.is_(False), Comment.hidden.is_(False))
        .order_by(Comment.created_at.desc()).limit(limit))]


def visible_comment_count(session: Session, paper_pk: int) -> int:
    return session.scalar(select(func.count()).select_from(Comment).where(
        Comment.paper_pk == paper_pk, Comment.deleted.is_(False), Comment.hidden.is_(False))) or 0
