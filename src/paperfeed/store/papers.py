"""The single upsert path for papers and their daily-page entries, plus paper look-ups."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from paperfeed.models import DailyEntry, HarvestState, Paper, utcnow
from paperfeed.records import PaperRecord
from paperfeed.store.authors import write_author_names
from paperfeed.store.bulk import IN_CHUNK, chunks, insert_rows, select_in
from paperfeed.store.changes import bump
from paperfeed.store.merge import CONTENT_FIELDS, merge_rows
from paperfeed.store.rows import (
    ID,
    INSERT_COLUMNS,
    PreparedBatch,
    decode_row,
    encode_datetime,
    encode_row,
    prepare_records,
    row_hash,
)
from paperfeed.store.votes import community_counts

_ROW_COLUMNS = [getattr(Paper, name) for name in ("pk", "content_hash") + CONTENT_FIELDS]
_AUTHORS, _SUBMITTED, _ANNOUNCED = (CONTENT_FIELDS.index(f) for f in ("authors", "submitted_at", "announced_on"))
_FULL_ROWS = select(*_ROW_COLUMNS).where(Paper.id.in_(bindparam("ids", expanding=True)))


@dataclass
class BatchResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    entries_inserted: int = 0
    entries_updated: int = 0
    changed_ids: list[str] = field(default_factory=list)

    def add(self, other: "BatchResult") -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.entries_inserted += other.entries_inserted
        self.entries_updated += other.entries_updated
        self.changed_ids.extend(other.changed_ids)


def upsert_records(session: Session, records: list[PaperRecord]) -> BatchResult:
    """Insert new papers, merge known ones, and record their daily-page entries."""
    return write_prepared(session, prepare_records(records))


def write_prepared(session: Session, batch: PreparedBatch) -> BatchResult:
    """Write a prepared batch: the one write path of every importer.

    Works in a handful of set-based statements per batch, so a batch of thousands costs
    about as much as a few single-row writes. Known papers are first compared by hash
    alone; only those whose incoming content differs are loaded in full and merged.
    """
    result = BatchResult()
    ids = batch.ids
    known = _known_papers(session, ids)
    now = utcnow()
    stamp = encode_datetime(now)
    new_rows, differing = [], {}
    # One change number for the whole batch, taken only when the batch writes something
    seq = bump(session) if len(known) < len(ids) else None
    for paper_id, row, digest in zip(ids, batch.rows, batch.hashes):
        stored = known.get(paper_id)
        if stored is None:
            new_rows.append(row + (digest, stamp, stamp, seq))
        elif digest == stored[1]:
            # The stored row has exactly this content, and merging a row with itself is a no-op.
            result.unchanged += 1
        else:
            differing[paper_id] = row
    changed_rows = _merge_into_stored(session, differing, batch.hf_ids, now, result)
    pks = {paper_id: pk for paper_id, (pk, _) in known.items()}
    pks.update(_insert_papers(session, new_rows))
    if changed_rows:
        session.execute(update(Paper), changed_rows)
    _index_authors(pks, new_rows, changed_rows, session)
    result.inserted, result.updated = len(new_rows), len(changed_rows)
    result.changed_ids = [r[ID] for r in new_rows] + [r["id"] for r in changed_rows]
    _upsert_entries(session, batch.entries, pks, set(known), now, result)
    return result


def _index_authors(pks: dict[str, int], new_rows: list[tuple], changed_rows: list[dict], session: Session) -> None:
    """The author table follows every paper written (author pages, following)."""
    write_author_names(session, {pks[row[ID]]: (row[_AUTHORS], row[_SUBMITTED], row[_ANNOUNCED]) for row in new_rows})
    write_author_names(session, {row["pk"]: (row["authors"], row["submitted_at"], row["announced_on"])
                                 for row in changed_rows}, replace=True)


def _known_papers(session: Session, ids: list[str]) -> dict[str, tuple[int, str]]:
    """id -> (pk, content_hash) for the papers already stored."""
    rows = select_in(session, "SELECT id, pk, content_hash FROM paper", "id", ids)
    return {paper_id: (pk, digest) for paper_id, pk, digest in rows}


def _merge_into_stored(session: Session, differing: dict[str, tuple], hf_ids: set[str], now,
                       result: BatchResult) -> list[dict]:
    """Merge incoming rows into their stored versions; returns the rows that really changed.

    Content is compared in its encoded form, not by stored hash alone, so a row whose hash
    was computed another way (an older release) is re-hashed quietly instead of counted
    as changed.
    """
    changed, rehashed = [], []
    for old in _load_rows(session, list(differing)):
        stored = encode_row(old)
        merged = merge_rows(old, decode_row(differing[old["id"]]), new_is_hf=old["id"] in hf_ids)
        encoded = encode_row(merged)
        digest = row_hash(encoded)
        if encoded == stored:
            result.unchanged += 1  # e.g. an older version that only confirms what is stored
            if digest != old["content_hash"]:
                rehashed.append({"pk": old["pk"], "content_hash": digest})
        else:
            changed.append({**merged, "pk": old["pk"], "content_hash": digest, "changed_at": now,
                            "change_seq": bump(session)})
    if rehashed:
        session.execute(update(Paper), rehashed)
    return changed


def _load_rows(session: Session, ids: list[str]) -> Iterator[dict]:
    for chunk in chunks(ids, IN_CHUNK):
        for row in session.execute(_FULL_ROWS, {"ids": chunk}).mappings():
            yield dict(row)


def _insert_papers(session: Session, rows: list[tuple]) -> dict[str, int]:
    """Insert new papers from encoded rows (``rows.INSERT_COLUMNS``); returns their id -> pk."""
    if not rows:
        return {}
    insert_rows(session, "paper", INSERT_COLUMNS, rows)
    return paper_pks(session, [row[ID] for row in rows])


_ENTRY_COLUMNS = ("paper_pk", "day", "source", "upvotes", "num_comments", "hidden", "created_at")


def _upsert_entries(session: Session, entries: list[tuple], pks: dict[str, int], known: set[str],
                    now, result: BatchResult) -> None:
    """Add the batch's daily-page entries; ``entries`` as in ``PreparedBatch.entries``."""
    if not entries:
        return
    stamp = encode_datetime(now)
    # Only papers stored before this batch can already have entries.
    known_pks = {pks[pid] for pid in known if pid in pks}
    old = [e for e in entries if pks[e[0]] in known_pks]
    new = [(pks[paper_id], day, source, upvotes or 0, num_comments or 0, False, stamp)
           for paper_id, day, source, upvotes, num_comments in entries if pks[paper_id] not in known_pks]
    changed = _entries_of_known_papers(session, old, pks, list(known_pks), stamp, new) if old else []
    if new or changed:
        bump(session)
    if new:
        insert_rows(session, "daily_entry", _ENTRY_COLUMNS, new)
    if changed:
        session.execute(update(DailyEntry), changed)
    result.entries_inserted += len(new)
    result.entries_updated += len(changed)


def _entries_of_known_papers(session: Session, entries: list[tuple], pks: dict[str, int], known_pks: list[int],
                             stamp: str, new: list[tuple]) -> list[dict]:
    """Entries of papers stored before: add the missing ones to ``new``; return HF count updates."""
    existing = _existing_entries(session, known_pks)
    # community votes and comments count on top of imported numbers (see store/votes.py)
    community = community_counts(session, known_pks)
    changed = []
    for paper_id, day, source, upvotes, num_comments in entries:
        pk = pks[paper_id]
        row = existing.get((pk, day))
        votes, comments = community.get(pk, (0, 0))
        upvotes, num_comments = upvotes or 0, num_comments or 0
        if row is None:
            new.append((pk, day, source, upvotes + votes, num_comments + comments, False, stamp))
        elif source == "hf" and _hf_counts_changed(row, upvotes, num_comments, votes, comments):
            # HF owns the counts of the entries it created; an "auto" entry becomes an HF one
            changed.append({"pk": row.pk, "source": "hf", "upvotes": upvotes + votes,
                            "num_comments": num_comments + comments})
    return changed


def _existing_entries(session: Session, paper_pks: list[int]) -> dict:
    """(paper pk, day as ISO text) -> the stored entry, for the given papers."""
    rows = select_in(session, "SELECT pk, paper_pk, day, source, upvotes, num_comments FROM daily_entry",
                     "paper_pk", paper_pks)
    # SQLite hands plain SQL's dates back as text, PostgreSQL as dates: str() makes both ISO text.
    return {(row.paper_pk, str(row.day)): row for row in rows}


def _hf_counts_changed(row, upvotes: int, num_comments: int, votes: int, comments: int) -> bool:
    if row.source == "user":
        return False
    return (row.source, row.upvotes - votes, row.num_comments - comments) != ("hf", upvotes, num_comments)


def paper_pks(session: Session, ids: list[str]) -> dict[str, int]:
    return dict(select_in(session, "SELECT id, pk FROM paper", "id", ids))


def get_paper(session: Session, paper_id: str) -> Paper | None:
    return session.scalar(select(Paper).where(Paper.id == paper_id))


def get_paper_by_pk(session: Session, pk: int) -> Paper | None:
    return session.get(Paper, pk)


def papers_with_entries(session: Session, since: date | None = None, batch: int = 1000) -> Iterator[Paper]:
    """Every paper with its entries loaded, oldest first, streamed ``batch`` rows at a time;
    with ``since``, those submitted or announced on or after that day."""
    stmt = select(Paper).options(selectinload(Paper.entries)).order_by(Paper.pk)
    if since is not None:
        start = datetime(since.year, since.month, since.day)
        stmt = stmt.where(or_(Paper.submitted_at >= start, Paper.announced_on >= since))
    return session.scalars(stmt.execution_options(yield_per=batch))


def count_papers(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Paper)) or 0


def mark_withdrawn(session: Session, paper_ids: list[str]) -> int:
    """Flag papers as withdrawn (OAI-PMH deleted records); returns how many changed."""
    if not paper_ids:
        return 0
    res = session.execute(
        update(Paper)
        .where(Paper.id.in_(paper_ids), Paper.withdrawn.is_(False))
        .values(withdrawn=True, changed_at=utcnow(), change_seq=bump(session))
    )
    return res.rowcount or 0


def get_state(session: Session, name: str) -> dict | None:
    row = session.get(HarvestState, name)
    return dict(row.value) if row else None


def set_state(session: Session, name: str, value: dict) -> None:
    row = session.get(HarvestState, name)
    if row is None:
        session.add(HarvestState(name=name, value=value, updated_at=utcnow()))
    else:
        row.value = value
        row.updated_at = utcnow()


