"""Paper rows as the database stores them: a tuple of plain str, int, bool and None values.

A bulk import encodes each paper once, before it reaches the database:
- the write skips SQLAlchemy's per-value bind processing (JSON, dates);
- parse worker processes hand finished rows to the writer cheaply, as pickled strings;
- the content hash has one canonical input.

The text forms suit both backends: SQLite stores them as they are, in the format
SQLAlchemy itself writes, and PostgreSQL casts them to the column types.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

import orjson

from paperfeed.records import PaperRecord
from paperfeed.store.merge import CONTENT_FIELDS, dedupe, merge_rows, record_to_row

# Sorted keys make the text canonical: PostgreSQL (JSONB) hands objects back in its own key order.
_JSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SORT_KEYS
ID = CONTENT_FIELDS.index("id")
# The columns an inserted paper row fills, in order: the encoded content, then bookkeeping.
INSERT_COLUMNS = CONTENT_FIELDS + ("content_hash", "created_at", "changed_at", "change_seq")


@dataclass(slots=True)
class PreparedBatch:
    """A batch of records folded to one encoded row per paper, ready for the writer."""

    rows: list[tuple] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)
    hf_ids: set[str] = field(default_factory=set)  # rows HF contributed to (its code link goes first)
    # (paper id, day as ISO text, source, upvotes, num_comments), one per paper and day, the last seen
    entries: list[tuple] = field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        return [row[ID] for row in self.rows]


def prepare_records(records: list[PaperRecord]) -> PreparedBatch:
    """Fold, encode and hash a batch; pure, so it can run in a worker process."""
    batch = PreparedBatch()
    for rec in records:
        if rec.source == "hf":
            batch.hf_ids.add(rec.id)
    for row in _encoded_rows(records):
        batch.rows.append(row)
        batch.hashes.append(row_hash(row))
    batch.entries = _entries(records)
    return batch


def _encoded_rows(records: list[PaperRecord]) -> list[tuple]:
    """One encoded row per id; a batch's repeats merge in order, as they would across batches."""
    first: dict[str, int] = {}
    repeated: set[str] = set()
    for i, rec in enumerate(records):
        if rec.id in first:
            repeated.add(rec.id)
        else:
            first[rec.id] = i
    if not repeated:
        return [encode_record(rec) for rec in records]
    merged = _merged_repeats([rec for rec in records if rec.id in repeated])
    return [merged[rec.id] if rec.id in repeated else encode_record(rec)
            for i, rec in enumerate(records) if first[rec.id] == i]


def _merged_repeats(records: list[PaperRecord]) -> dict[str, tuple]:
    rows: dict[str, tuple[dict, bool]] = {}
    for rec in records:
        row, is_hf = record_to_row(rec), rec.source == "hf"
        if rec.id in rows:
            prev, prev_hf = rows[rec.id]
            row, is_hf = merge_rows(prev, row, new_is_hf=is_hf), is_hf or prev_hf
        rows[rec.id] = (row, is_hf)
    return {paper_id: encode_row(row) for paper_id, (row, _) in rows.items()}


def _entries(records: list[PaperRecord]) -> list[tuple]:
    wanted: dict[tuple, tuple] = {}
    for rec in records:
        for e in rec.entries:
            day = e.day.isoformat()
            wanted[(rec.id, day)] = (rec.id, day, e.source, e.upvotes, e.num_comments)
    return list(wanted.values())


def encode_record(rec: PaperRecord) -> tuple:
    """``encode_row(record_to_row(rec))`` without the intermediate dict (the bulk-import path)."""
    categories = dedupe(rec.categories)
    versions = rec.versions
    if len(versions) > 1:
        versions = sorted(versions, key=_version_number)
    dumps, options = orjson.dumps, _JSON_OPTIONS  # five JSON columns a paper: skip the helper call
    return (
        # authors' keys in sorted order: orjson sorts dict keys but not dataclass fields
        rec.title, rec.abstract or "",
        dumps([{"first": a.first, "last": a.last, "name": a.name, "suffix": a.suffix} for a in rec.authors],
              option=options).decode(),
        categories[0] if categories else None, " ".join(categories),
        rec.comments, rec.journal_ref, rec.doi, rec.license, rec.abs_url, rec.pdf_url, rec.project_page,
        rec.id, rec.version, dumps(versions, option=options).decode(),
        encode_datetime(rec.submitted_at), encode_datetime(rec.updated_at), encode_date(rec.announced_on),
        dumps(dedupe(rec.code_urls), option=options).decode(),
        dumps(dedupe([rec.source, *rec.also_seen_by]), option=options).decode(),
        dumps(rec.extra, option=options).decode(),
        bool(rec.withdrawn),
    )


def encode_row(row: dict) -> tuple:
    """A row dict (``merge.record_to_row``'s shape) as the tuple the database stores."""
    return tuple(_ENCODERS.get(name, _same)(row[name]) for name in CONTENT_FIELDS)


def decode_row(values: tuple) -> dict:
    """The inverse of ``encode_row``."""
    return {name: _DECODERS.get(name, _same)(value) for name, value in zip(CONTENT_FIELDS, values)}


def row_hash(encoded: tuple) -> str:
    """A change detector, not a security measure: SHA-1 (cut to the column's 32 hex digits)
    because CPUs accelerate it, twice as fast as MD5 on a paper row."""
    return hashlib.sha1(orjson.dumps(encoded)).hexdigest()[:32]


def encode_datetime(value: datetime | None) -> str | None:
    """SQLAlchemy's SQLite text form, which PostgreSQL reads as a timestamp too."""
    if value is None:
        return None
    if value.tzinfo is not None:  # columns hold naive UTC
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.isoformat(" ", "microseconds")


def encode_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _json(value) -> str:
    return orjson.dumps(value, option=_JSON_OPTIONS).decode()


def _same(value):
    return value


def _version_number(version: dict):
    return version["version"]


def _decode_datetime(value):
    return None if value is None else datetime.fromisoformat(value)


def _decode_date(value):
    return None if value is None else date.fromisoformat(value)


_JSON_FIELDS = ("versions", "authors", "code_urls", "sources", "extra")
_ENCODERS = {**{name: _json for name in _JSON_FIELDS}, "submitted_at": encode_datetime,
             "updated_at": encode_datetime, "announced_on": encode_date, "withdrawn": bool}
_DECODERS = {**{name: orjson.loads for name in _JSON_FIELDS}, "submitted_at": _decode_datetime,
             "updated_at": _decode_datetime, "announced_on": _decode_date}
