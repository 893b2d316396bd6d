"""The single upsert path for papers and their daily-page entries, plus paper look-ups."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from paperfeed.ingest.record import EntryRecord, PaperRecord
from paperfeed.models import DailyEntry, HarvestState, Paper, utcnow
from paperfeed.store.merge import CONTENT_FIELDS, content_hash, merge_rows, record_to_row

_ROW_COLUMNS = [getattr(Paper, name) for name in ("pk", "content_hash") + CONTENT_FIELDS]


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
    """Insert new papers, merge known ones, and record their daily-page entries.

    Works in a handful of set-based statements per batch, so a batch of thousands costs
    about as much as a few single-row writes.
    """
    result = BatchResult()
    incoming = _fold_duplicates(records)
    existing = _load_rows(session, list(incoming))
    now = utcnow()
    new_rows, changed_rows = [], []
    for paper_id, (row, is_hf) in incoming.items():
        old = existing.get(paper_id)
        merged = row if old is None else merge_rows(old, row, new_is_hf=is_hf)
        digest = content_hash(merged)
        if old is None:
            new_rows.append({**merged, "content_hash": digest, "created_at": now, "changed_at": now})
        elif digest != old["content_hash"]:
            changed_rows.append({**merged, "pk": old["pk"], "content_hash": digest, "changed_at": now})
        else:
            result.unchanged += 1
    if new_rows:
        session.execute(insert(Paper), new_rows)
    if changed_rows:
        session.execute(update(Paper), changed_rows)
    result.inserted, result.updated = len(new_rows), len(changed_rows)
    result.changed_ids = [r["id"] for r in new_rows + changed_rows]
    _upsert_entries(session, records, result)
    return result


def _fold_duplicates(records: list[PaperRecord]) -> dict[str, tuple[dict, bool]]:
    """One row per id; later records in a batch merge over earlier ones, as across batches."""
    rows: dict[str, tuple[dict, bool]] = {}
    for rec in records:
        row = record_to_row(rec)
        is_hf = rec.source == "hf"
        if rec.id in rows:
            prev, prev_hf = rows[rec.id]
            row = merge_rows(prev, row, new_is_hf=is_hf)
            is_hf = is_hf or prev_hf
        rows[rec.id] = (row, is_hf)
    return rows


def _load_rows(session: Session, ids: list[str]) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for chunk in _chunks(ids, 5000):
        for row in session.execute(select(*_ROW_COLUMNS).where(Paper.id.in_(chunk))).mappings():
            found[row["id"]] = dict(row)
    return found


def _upsert_entries(session: Session, records: list[PaperRecord], result: BatchResult) -> None:
    wanted: dict[tuple[str, date], EntryRecord] = {}
    for rec in records:
        for entry in rec.entries:
            wanted[(rec.id, entry.day)] = entry
    if not wanted:
        return
    pks = paper_pks(session, list({pid for pid, _ in wanted}))
    days = list({day for _, day in wanted})
    existing = {
        (row.paper_pk, row.day): row
        for row in session.execute(
            select(DailyEntry.pk, DailyEntry.paper_pk, DailyEntry.day, DailyEntry.source,
                   DailyEntry.upvotes, DailyEntry.num_comments)
            .where(DailyEntry.paper_pk.in_(list(pks.values())), DailyEntry.day.in_(days))
        )
    }
    new, changed = [], []
    for (paper_id, day), entry in wanted.items():
        pk = pks[paper_id]
        row = existing.get((pk, day))
        if row is None:
            new.append({"paper_pk": pk, "day": day, "source": entry.source, "upvotes": entry.upvotes or 0,
                        "num_comments": entry.num_comments or 0, "created_at": utcnow()})
        elif entry.source == "hf" and _hf_counts_changed(row, entry):
            # HF owns the counts of the entries it created; an "auto" entry becomes an HF one
            changed.append({"pk": row.pk, "source": "hf", "upvotes": entry.upvotes or 0,
                            "num_comments": entry.num_comments or 0})
    if new:
        session.execute(insert(DailyEntry), new)
    if changed:
        session.execute(update(DailyEntry), changed)
    result.entries_inserted += len(new)
    result.entries_updated += len(changed)


def _hf_counts_changed(row, entry) -> bool:
    if row.source == "user":
        return False
    return (row.source, row.upvotes, row.num_comments) != ("hf", entry.upvotes or 0, entry.num_comments or 0)


def paper_pks(session: Session, ids: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for chunk in _chunks(ids, 5000):
        out.update(dict(session.execute(select(Paper.id, Paper.pk).where(Paper.id.in_(chunk))).all()))
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
