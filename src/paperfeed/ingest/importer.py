"""Run parsed records through the upsert path in committed batches.

Each batch commits on its own, and every write is an idempotent upsert, so an import
killed part-way leaves a consistent database and a rerun completes it without duplicates.
"""

from __future__ import annotations

import gc
import io
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from paperfeed.db import Database
from paperfeed.ingest.formats import LINE_PARSERS, PARSERS, Item, detect_format, open_input
from paperfeed.ingest.parallel import IMPORT_GC_THRESHOLDS, default_workers, dropped_note, prepared_chunks
from paperfeed.records import MalformedRecord, PaperRecord
from paperfeed.store.papers import BatchResult, write_prepared
from paperfeed.store.rows import PreparedBatch, prepare_records

log = logging.getLogger(__name__)
MAX_REPORTED_ERRORS = 50


@dataclass
class Skipped:
    where: str
    reason: str


@dataclass
class ImportReport:
    read: int = 0
    skipped: int = 0
    batch: BatchResult = field(default_factory=BatchResult)
    errors: list[Skipped] = field(default_factory=list)
    # imported records that lost a field to the checks (an unsafe link), and the first few of them
    trimmed: int = 0
    notes: list[Skipped] = field(default_factory=list)

    @property
    def inserted(self) -> int:
        return self.batch.inserted

    @property
    def updated(self) -> int:
        return self.batch.updated

    @property
    def unchanged(self) -> int:
        return self.batch.unchanged

    def merge(self, other: "ImportReport") -> None:
        self.read += other.read
        self.skipped += other.skipped
        self.batch.add(other.batch)
        self.errors.extend(other.errors[: MAX_REPORTED_ERRORS - len(self.errors)])
        self.trimmed += other.trimmed
        self.notes.extend(other.notes[: MAX_REPORTED_ERRORS - len(self.notes)])

    def summary(self) -> str:
        b = self.batch
        text = (
            f"read {self.read}, inserted {b.inserted}, updated {b.updated}, unchanged {b.unchanged}, "
            f"skipped {self.skipped}; daily entries added {b.entries_inserted}, updated {b.entries_updated}"
        )
        return text + (f"; unsafe links dropped from {self.trimmed}" if self.trimmed else "")


def import_items(
    db: Database,
    items: Iterable[Item],
    batch_size: int = 2000,
    on_batch: Callable[[BatchResult], None] | None = None,
    label: str = "",
) -> ImportReport:
    """Upsert parsed items in committed batches; malformed ones are counted and logged."""
    with _few_gc_passes():
        return _import_batches(db, items, batch_size, on_batch, label)


def _import_batches(db, items, batch_size, on_batch, label) -> ImportReport:
    report = ImportReport()
    batch: list[PaperRecord] = []
    for where, item in items:
        if isinstance(item, MalformedRecord):
            skip_record(report, f"{label}{where}", str(item))
            continue
        report.read += 1
        if item.dropped:
            note_dropped(report, f"{label}{where}", dropped_note(item))
        batch.append(item)
        if len(batch) >= batch_size:
            _flush(db, batch, report, on_batch)
            batch = []
    if batch:
        _flush(db, batch, report, on_batch)
    return report


@contextmanager
def _few_gc_passes():
    """Run the cyclic garbage collector less often while importing.

    An import allocates millions of short-lived, acyclic objects (dicts, strings, authors);
    with the default thresholds the collector runs thousands of times and re-scans every
    live batch, which cost about a third of the import time.
    """
    before = gc.get_threshold()
    gc.set_threshold(*(max(old, new) for old, new in zip(before, IMPORT_GC_THRESHOLDS)))
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _flush(db: Database, batch: list[PaperRecord], report: ImportReport, on_batch) -> None:
    _write(db, prepare_records(batch), report, on_batch)


def _write(db: Database, batch: PreparedBatch, report: ImportReport, on_batch) -> None:
    with db.session() as session:
        result = write_prepared(session, batch)
    if on_batch is not None:
        on_batch(result)
    # The report keeps counts only: holding every changed id would grow with the file.
    report.batch.add(replace(result, changed_ids=[]))


def skip_record(report: ImportReport, where: str, reason: str) -> None:
    """Count and log a record that could not be imported; keep the first few for the report."""
    report.skipped += 1
    log.warning("skipped %s: %s", where, reason)
    if len(report.errors) < MAX_REPORTED_ERRORS:
        report.errors.append(Skipped(where, reason))


def note_dropped(report: ImportReport, where: str, note: str) -> None:
    """Report an imported record that lost a field to the checks (see records/check.py)."""
    report.trimmed += 1
    log.warning("imported %s without what failed the checks: %s", where, note)
    if len(report.notes) < MAX_REPORTED_ERRORS:
        report.notes.append(Skipped(where, note))


def import_file(
    db: Database,
    path: str | Path,
    fmt: str | None = None,
    on_progress: Callable[[int, int | None], None] | None = None,
    batch_size: int = 2000,
    on_batch: Callable[[BatchResult], None] | None = None,
    workers: int | None = None,
) -> ImportReport:
    """Import one file (plain or .gz, or '-' for stdin) in the named or detected format.

    JSON-lines files are parsed by ``workers`` processes (default: one per core) while
    this process writes; see ingest/parallel.py. ``on_progress(bytes_read, file_size)``
    follows the file on disk (compressed bytes for .gz).
    """
    stream = open_input(path)
    with stream:
        try:
            fmt = fmt or detect_format(stream)
        except MalformedRecord as exc:
            report = ImportReport()
            skip_record(report, f"{path}", str(exc))
            return report
        label = f"{Path(str(path)).name}: "
        size = _file_size(path)
        bar = (lambda position: on_progress(position, size)) if on_progress else None
        if fmt in LINE_PARSERS:
            workers = default_workers() if workers is None else workers
            return _import_lines(db, stream, fmt, batch_size, workers, on_batch, label, bar)
        items = PARSERS[fmt](stream)
        if bar is not None:
            items = _tracking(items, stream, bar)
        return import_items(db, items, batch_size=batch_size, on_batch=on_batch, label=label)


def _import_lines(db, stream, fmt, batch_size, workers, on_batch, label, bar) -> ImportReport:
    report = ImportReport()
    with _few_gc_passes():
        for chunk in prepared_chunks(stream, fmt, batch_size, workers, _position(stream)):
            for where, reason in chunk.skipped:
                skip_record(report, f"{label}{where}", reason)
            for where, note in chunk.notes:
                note_dropped(report, f"{label}{where}", note)
            report.read += chunk.read
            if chunk.batch.rows:
                _write(db, chunk.batch, report, on_batch)
            if bar is not None:
                bar(chunk.end_offset)
    return report


def _file_size(path) -> int | None:
    return None if str(path) == "-" else Path(path).stat().st_size


def _tracking(items: Iterator[Item], stream, report_position: Callable[[int], None]) -> Iterator[Item]:
    position = _position(stream)
    for count, item in enumerate(items):
        if count % 1000 == 0:
            report_position(position())
        yield item
    report_position(position())


def _position(stream) -> Callable[[], int]:
    """Reads how far into the file on disk (compressed bytes for .gz) the stream has got."""
    raw = stream.raw if isinstance(stream, io.BufferedReader) else stream
    raw = getattr(raw, "fileobj", None) or raw
    return lambda: raw.tell() if raw.seekable() else 0
