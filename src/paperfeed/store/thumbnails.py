"""Thumbnail rows: claiming papers to make thumbnails for, recording outcomes, reading images.

A claim is one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE claimable RETURNING``, as for
embedding claims (store/claims.py): the database decides who holds a paper, so workers on
any number of nodes never fetch the same PDF twice. Papers on day pages are worked
through newest day first; a paper someone asked for (its page was viewed) goes first.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, literal_column, or_, select, update
from sqlalchemy.orm import Session

from paperfeed.models import DailyEntry, Paper
from paperfeed.models.thumbnails import Thumbnail
from paperfeed.store.changes import bump

MAX_REASON_CHARS = 300


@dataclass(frozen=True)
class Claimed:
    pk: int
    id: str
    withdrawn: bool
    attempts: int  # attempts before this one


@dataclass(frozen=True)
class Images:
    """What a successful render gives: WebP bytes with their pixel sizes."""

    small: bytes
    small_size: tuple[int, int]
    large: bytes
    large_size: tuple[int, int]
    pdf_bytes: int


@dataclass(frozen=True)
class ThumbInfo:
    """What a card or page needs to show a thumbnail: its size and its version."""

    width: int
    height: int
    etag: str


def _claimable(now: datetime):
    """A row nobody holds whose next attempt is due (a row that is missing is claimable too)."""
    return and_(Thumbnail.status.in_(("retry", "working")),
                or_(Thumbnail.lease_until.is_(None), Thumbnail.lease_until < now),
                or_(Thumbnail.next_attempt_at.is_(None), Thumbnail.next_attempt_at <= now))


def claim_next(session: Session, owner: str, now: datetime, lease_seconds: int, newest_days: int,
               wanted: list[int] = ()) -> Claimed | None:
    """Claim the next paper to make a thumbnail for: one of ``wanted`` first, then papers on
    the day pages of the last ``newest_days`` days, newest day first."""
    for pks in ([list(wanted)] if wanted else []) + [None]:
        for row in session.execute(_candidates(session, now, newest_days, pks)).all():
            attempts = _upsert_claim(session, row.pk, owner, now, now + timedelta(seconds=lease_seconds))
            if attempts is not None:
                return Claimed(row.pk, row.id, row.withdrawn, attempts)
    return None


def _candidates(session: Session, now: datetime, newest_days: int, pks: list[int] | None):
    """Up to 8 claimable papers: those in ``pks``, or those on recent day pages."""
    open_row = or_(Thumbnail.paper_pk.is_(None), _claimable(now))
    base = select(Paper.pk, Paper.id, Paper.withdrawn).outerjoin(Thumbnail, Thumbnail.paper_pk == Paper.pk)
    if pks is not None:
        return base.where(Paper.pk.in_(pks), open_row).limit(8)
    newest = session.scalar(select(func.max(DailyEntry.day)))
    since = newest - timedelta(days=newest_days) if newest else date.min  # no day pages yet: nothing waits
    latest = func.max(DailyEntry.day)
    return (base.join(DailyEntry, DailyEntry.paper_pk == Paper.pk)
            .where(DailyEntry.day >= since, DailyEntry.hidden.is_(False), open_row)
            .group_by(Paper.pk, Paper.id, Paper.withdrawn).order_by(latest.desc(), Paper.pk.desc()).limit(8))


def _upsert_claim(session: Session, pk: int, owner: str, now: datetime, lease_until: datetime) -> int | None:
    """Take the paper if nobody holds it; returns its attempts so far, or None if lost."""
    if session.get_bind().dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert
    stmt = insert(Thumbnail).values(paper_pk=pk, status="working", attempts=0, owner=owner, lease_until=lease_until)
    stmt = stmt.on_conflict_do_update(
        index_elements=["paper_pk"], set_={"status": "working", "owner": owner, "lease_until": lease_until},
        where=_claimable(now))
    return session.scalar(stmt.returning(Thumbnail.attempts))


def record_made(session: Session, pk: int, owner: str, images: Images, now: datetime) -> bool:
    """Store the images and release the claim; False when the claim was lost meanwhile."""
    etag = hashlib.blake2b(images.small + images.large, digest_size=12).hexdigest()
    return _finish(session, pk, owner, status="ok", reason=None, next_attempt_at=None, made_at=now,
                   small=images.small, small_width=images.small_size[0], small_height=images.small_size[1],
                   large=images.large, large_width=images.large_size[0], large_height=images.large_size[1],
                   etag=etag, pdf_bytes=images.pdf_bytes)


def record_failure(session: Session, pk: int, owner: str, reason: str, retry_at: datetime | None) -> bool:
    """A failure: for good when ``retry_at`` is None, else tried again from ``retry_at``."""
    return _finish(session, pk, owner, status="failed" if retry_at is None else "retry",
                   reason=reason[:MAX_REASON_CHARS], next_attempt_at=retry_at)


def _finish(session: Session, pk: int, owner: str, **values) -> bool:
    result = session.execute(
        update(Thumbnail).where(Thumbnail.paper_pk == pk, Thumbnail.owner == owner)
        .values(owner=None, lease_until=None, attempts=Thumbnail.attempts + 1, **values)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return False
    bump(session)  # cards, pages and API items show thumbnails: their caches and ETags follow
    return True


def thumb_infos(session: Session, pks: list[int]) -> dict[int, ThumbInfo]:
    """The small thumbnails of these papers that exist (one query for a whole page of cards)."""
    if not pks:
        return {}
    rows = session.execute(select(Thumbnail.paper_pk, Thumbnail.small_width, Thumbnail.small_height, Thumbnail.etag)
                           .where(Thumbnail.paper_pk.in_(pks), Thumbnail.status == "ok"))
    return {pk: ThumbInfo(w, h, etag) for pk, w, h, etag in rows}


def large_info(session: Session, pk: int) -> ThumbInfo | None:
    row = session.execute(select(Thumbnail.large_width, Thumbnail.large_height, Thumbnail.etag)
                          .where(Thumbnail.paper_pk == pk, Thumbnail.status == "ok")).first()
    return ThumbInfo(*row) if row else None


def image(session: Session, pk: int, size: str) -> tuple[bytes, str] | None:
    """One image's bytes and ETag, ``size`` small or large; None when there is none."""
    column = Thumbnail.small if size == "small" else Thumbnail.large
    row = session.execute(select(column, Thumbnail.etag)
                          .where(Thumbnail.paper_pk == pk, Thumbnail.status == "ok")).first()
    return (row[0], row[1]) if row else None


@dataclass(frozen=True)
class Backlog:
    made: int
    waiting: int  # papers on recent day pages with no outcome yet, or due for a retry
    retrying: int
    failed: int
    working: int
    reasons: list[tuple[str, int]]  # the commonest reasons for failing, with counts

    def summary(self) -> str:
        line = (f"{self.made:,} made, {self.waiting:,} waiting, {self.working:,} in progress, "
                f"{self.retrying:,} to retry, {self.failed:,} failed")
        if self.reasons:
            line += " (" + "; ".join(f"{reason}: {n}" for reason, n in self.reasons) + ")"
        return line

    def as_json(self) -> dict:
        return {**self.__dict__, "reasons": [{"reason": r, "papers": n} for r, n in self.reasons]}


def backlog(session: Session, newest_days: int) -> Backlog:
    counts = dict(session.execute(select(Thumbnail.status, func.count()).group_by(Thumbnail.status)).all())
    newest = session.scalar(select(func.max(DailyEntry.day)))
    since = newest - timedelta(days=newest_days) if newest else date.min  # no day pages yet: nothing waits
    waiting = session.scalar(
        select(func.count(func.distinct(DailyEntry.paper_pk)))
        .outerjoin(Thumbnail, Thumbnail.paper_pk == DailyEntry.paper_pk)
        .where(DailyEntry.day >= since, DailyEntry.hidden.is_(False), Thumbnail.paper_pk.is_(None))) or 0
    reason = func.substr(Thumbnail.reason, literal_column("1"), literal_column("60")).label("reason")
    reasons = session.execute(
        select(reason, func.count()).where(Thumbnail.status == "failed")
        .group_by(reason).order_by(func.count().desc(), reason).limit(4)).all()
    return Backlog(made=counts.get("ok", 0), waiting=waiting, retrying=counts.get("retry", 0),
                   failed=counts.get("failed", 0), working=counts.get("working", 0),
                   reasons=[(r or "", n) for r, n in reasons])
