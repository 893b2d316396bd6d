"""The single upsert path for papers and their daily-page entries, plus paper look-ups."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from operator import itemgetter

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from paperfeed.ingest.record import PaperRecord
from paperfeed.models import DailyEntry, HarvestState, Paper, utcnow
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
_PAPER = Paper.__table__
_ENTRY = DailyEntry.__table__
# Ids per IN (...) list: far below SQLite's and PostgreSQL's bound-parameter limits.
_IN_CHUNK = 5000


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
    for paper_id, row, digest in zip(ids, batch.rows, batch.hashes):
        stored = known.get(paper_id)
        if stored is None:
            new_rows.append(row + (digest, stamp, stamp))
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
    result.inserted, result.updated = len(new_rows), len(changed_rows)
    result.changed_ids = [r[ID] for r in new_rows] + [r["id"] for r in changed_rows]
    _upsert_entries(session, batch.entries, pks, set(known), now, result)
    return result


def _known_papers(session: Session, ids: list[str]) -> dict[str, tuple[int, str]]:
    """id -> (pk, content_hash) for the papers already stored."""
    found: dict[str, tuple[int, str]] = {}
    for chunk in _chunks(ids, _IN_CHUNK):
        stmt = select(_PAPER.c.id, _PAPER.c.pk, _PAPER.c.content_hash).where(_PAPER.c.id.in_(chunk))
        for paper_id, pk, digest in session.execute(stmt).all():
            found[paper_id] = (pk, digest)
    return found


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
            changed.append({**merged, "pk": old["pk"], "content_hash": digest, "changed_at": now})
    if rehashed:
        session.execute(update(Paper), rehashed)
    return changed


def _load_rows(session: Session, ids: list[str]) -> Iterator[dict]:
    for chunk in _chunks(ids, _IN_CHUNK):
        for row in session.execute(select(*_ROW_COLUMNS).where(Paper.id.in_(chunk))).mappings():
            yield dict(row)


def _insert_papers(session: Session, rows: list[tuple]) -> dict[str, int]:
    """Insert new papers from encoded rows (``rows.INSERT_COLUMNS``); returns their id -> pk."""
    if not rows:
        return {}
    conn = session.connection()
    placeholder = _PLACEHOLDERS.get(conn.dialect.paramstyle)
    if placeholder is None:  # a driver we have not measured: let SQLAlchemy convert the values
        session.execute(insert(Paper), [_decoded_insert(row) for row in rows])
    else:
        marks = ", ".join([placeholder] * len(INSERT_COLUMNS))
        conn.exec_driver_sql(f"INSERT INTO paper ({', '.join(INSERT_COLUMNS)}) VALUES ({marks})", rows)
    return paper_pks(session, [row[ID] for row in rows])


def _decoded_insert(row: tuple) -> dict:
    stamp = datetime.fromisoformat(row[-1])
    return {**decode_row(row[: len(CONTENT_FIELDS)]), "content_hash": row[-3], "created_at": stamp,
            "changed_at": stamp}


def _insert_entries(session: Session, rows: list[dict]) -> None:
    _executemany(session, _ENTRY, rows)


def _executemany(session: Session, table, rows: list[dict]) -> None:
    """A plain DBAPI executemany with the columns' own defaults and bind processors.

    Several times cheaper than SQLAlchemy's per-row statement handling on SQLite, and on
    PostgreSQL it sends one prepared statement in a pipeline instead of multi-row VALUES
    that psycopg must re-parse per batch. Values are stored exactly as SQLAlchemy would.
    """
    conn = session.connection()
    placeholder = _PLACEHOLDERS.get(conn.dialect.paramstyle)
    if placeholder is None:  # a driver we have not measured: let SQLAlchemy do it
        session.execute(insert(table), rows)
        return
    defaults = _column_defaults(table, rows[0].keys())
    names = tuple(rows[0]) + tuple(defaults)
    pick = itemgetter(*names)
    convert = _bind_processors(conn.dialect, table, names)
    params = []
    last = [(None, None)] * len(convert)  # a batch repeats values, e.g. its one timestamp
    for row in rows:
        values = list(pick({**row, **defaults} if defaults else row))
        for slot, (i, process) in enumerate(convert):
            value = values[i]
            seen, converted = last[slot]
            if value is None or value is not seen:
                converted = process(value)
                last[slot] = (value, converted)
            values[i] = converted
        params.append(tuple(values))
    marks = ", ".join([placeholder] * len(names))
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})", params)


_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def _column_defaults(table, given) -> dict:
    """Python-side defaults (scalar or callable) of the columns a row leaves out."""
    out = {}
    for column in table.columns:
        default = column.default
        if column.name in given or default is None:
            continue
        if default.is_scalar:
            out[column.name] = default.arg
        elif default.is_callable:
            out[column.name] = default.arg(None)
    return out


_PROCESSORS: dict = {}


def _bind_processors(dialect, table, names: tuple[str, ...]) -> list:
    """(position, processor) for the columns whose values need converting for the driver."""
    key = (dialect.name, table.name, names)
    if key not in _PROCESSORS:
        found = [(i, table.c[n].type.dialect_impl(dialect).bind_processor(dialect)) for i, n in enumerate(names)]
        _PROCESSORS[key] = [(i, process) for i, process in found if process is not None]
    return _PROCESSORS[key]


def _upsert_entries(session: Session, entries: list[tuple], pks: dict[str, int], known: set[str],
                    now, result: BatchResult) -> None:
    """Add the batch's daily-page entries; ``entries`` as in ``PreparedBatch.entries``."""
    if not entries:
        return
    # Only papers stored before this batch can already have entries.
    known_pks = [pks[pid] for pid in known if pid in pks]
    existing = _existing_entries(session, known_pks, {day for _, day, *_ in entries})
    # community votes and comments count on top of imported numbers (see store/votes.py)
    community = community_counts(session, known_pks) if known_pks else {}
    new, changed = [], []
    for paper_id, day, source, upvotes, num_comments in entries:
        pk = pks[paper_id]
        row = existing.get((pk, day))
        votes, comments = community.get(pk, (0, 0))
        upvotes, num_comments = upvotes or 0, num_comments or 0
        if row is None:
            new.append({"paper_pk": pk, "day": day, "source": source, "upvotes": upvotes + votes,
                        "num_comments": num_comments + comments, "created_at": now})
        elif source == "hf" and _hf_counts_changed(row, upvotes, num_comments, votes, comments):
            # HF owns the counts of the entries it created; an "auto" entry becomes an HF one
            changed.append({"pk": row.pk, "source": "hf", "upvotes": upvotes + votes,
                            "num_comments": num_comments + comments})
    if new:
        _insert_entries(session, new)
    if changed:
        session.execute(update(DailyEntry), changed)
    result.entries_inserted += len(new)
    result.entries_updated += len(changed)


def _existing_entries(session: Session, paper_pks: list[int], days: set[date]) -> dict:
    if not paper_pks:
        return {}
    days = list(days)
    found = {}
    for chunk in _chunks(paper_pks, _IN_CHUNK):
        stmt = (select(_ENTRY.c.pk, _ENTRY.c.paper_pk, _ENTRY.c.day, _ENTRY.c.source, _ENTRY.c.upvotes,
                       _ENTRY.c.num_comments)
                .where(_ENTRY.c.paper_pk.in_(chunk), _ENTRY.c.day.in_(days)))
        found.update({(row.paper_pk, row.day): row for row in session.execute(stmt)})
    return found


def _hf_counts_changed(row, upvotes: int, num_comments: int, votes: int, comments: int) -> bool:
    if row.source == "user":
        return False
    return (row.source, row.upvotes - votes, row.num_comments - comments) != ("hf", upvotes, num_comments)


def paper_pks(session: Session, ids: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for chunk in _chunks(ids, _IN_CHUNK):
        out.update(session.execute(select(Paper.id, Paper.pk).where(Paper.id.in_(chunk))).all())
    return out


def get_paper(session: Session, paper_id: str) -> Paper | None:
    return session.scalar(select(Paper).where(Paper.id == paper_id))


def count_papers(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Paper)) or 0


def mark_withdrawn(session: Session, paper_ids: list[str]) -> int:
    """Flag papers as withdrawn (OAI-PMH deleted records); returns how many changed."""
    if not paper_ids:
        return 0
    res = session.execute(
        update(Paper)
        .where(Paper.id.in_(paper_ids), Paper.withdrawn.is_(False))
        .values(withdrawn=True, changed_at=utcnow())
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


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i : i + size]
