"""Parse a large JSON-lines file in worker processes while this process writes.

Parsing, cleaning, encoding and hashing are about two thirds of an import's CPU, and they
need no database, so worker processes do them while this process writes the previous
batch. The writer still commits one batch at a time and in file order, so the result, the
resumability after a crash and the reported line numbers are those of a sequential import.
Small inputs (a couple of batches) are parsed in-process: starting workers would cost more
than it saves.
"""

from __future__ import annotations

import gc
import io
import marshal
import multiprocessing
import os
import signal
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import chain, islice
from typing import BinaryIO

from paperfeed.ingest.formats import LINE_PARSERS, iter_jsonl
from paperfeed.ingest.reading import bounded_lines
from paperfeed.records import MalformedRecord
from paperfeed.store.rows import PreparedBatch, prepare_records

# The cyclic collector's thresholds while importing (see importer._few_gc_passes).
IMPORT_GC_THRESHOLDS = (50_000, 20, 100)
# Chunks queued beyond the ones being parsed: enough to keep workers busy while the writer
# commits, few enough that memory stays flat (a chunk is a batch of raw lines, ~4 MB).
_AHEAD = 2
# A chunk also ends at this many bytes, so a file of huge lines keeps chunks (and memory) bounded.
_CHUNK_BYTES = 32 << 20


@dataclass(slots=True)
class PreparedChunk:
    """A batch of input lines, parsed and prepared: what a worker hands the writer."""

    read: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (where, reason)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (where, what was dropped) of imported records
    batch: PreparedBatch = field(default_factory=PreparedBatch)
    end_offset: int = 0  # position in the underlying file after this chunk, for progress


def default_workers() -> int:
    """One worker per core the process may use (at most 4).

    The writer shares the cores with them; on two cores that measured faster than one
    worker, whose parsing alone takes longer than the writing (bench/import_speed.py)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


def prepared_chunks(stream: BinaryIO, fmt: str, batch_size: int, workers: int,
                    position=lambda: 0) -> Iterator[PreparedChunk]:
    """Prepared batches of ``batch_size`` lines, in file order; ``position()`` reads the file offset."""
    chunks = _line_chunks(stream, batch_size, position)
    head = list(islice(chunks, 2))
    if workers < 1 or len(head) < 2:
        for first_line, data, offset in chain(head, chunks):
            yield _with_offset(prepare_chunk(fmt, first_line, data), offset)
        return
    with ProcessPoolExecutor(max_workers=workers, mp_context=_context(), initializer=_init_worker) as pool:
        pending: deque = deque()
        for first_line, data, offset in chain(head, chunks):
            pending.append((pool.submit(_prepare_packed, fmt, first_line, data), offset))
            if len(pending) > workers + _AHEAD:
                yield _with_offset(*_result(pending.popleft()))
        while pending:
            yield _with_offset(*_result(pending.popleft()))


def prepare_chunk(fmt: str, first_line: int, data: bytes) -> PreparedChunk:
    """Parse and prepare one chunk of lines (runs in a worker process)."""
    chunk = PreparedChunk()
    records = []
    for where, item in iter_jsonl(io.BytesIO(data), LINE_PARSERS[fmt], first_line=first_line):
        if isinstance(item, MalformedRecord):
            chunk.skipped.append((where, str(item)))
        else:
            records.append(item)
            if item.dropped:
                chunk.notes.append((where, dropped_note(item)))
    chunk.read = len(records)
    chunk.batch = prepare_records(records)
    return chunk


def _prepare_packed(fmt: str, first_line: int, data: bytes) -> bytes:
    """``prepare_chunk`` for a worker: the result as marshal bytes, which cost half what
    pickling the same strings costs on each side."""
    chunk = prepare_chunk(fmt, first_line, data)
    b = chunk.batch
    return marshal.dumps((chunk.read, chunk.skipped, chunk.notes, b.rows, b.hashes, b.hf_ids, b.entries))


def _unpack(packed: bytes) -> PreparedChunk:
    read, skipped, notes, rows, hashes, hf_ids, entries = marshal.loads(packed)
    return PreparedChunk(read=read, skipped=skipped, notes=notes, batch=PreparedBatch(rows, hashes, hf_ids, entries))


def dropped_note(rec) -> str:
    return "dropped " + "; ".join(rec.dropped)


def _line_chunks(stream: BinaryIO, size: int, position) -> Iterator[tuple[int, bytes, int]]:
    lines = bounded_lines(stream)
    first_line = 1
    while chunk := _take_lines(lines, size):
        yield first_line, b"".join(chunk), position()
        first_line += len(chunk)


def _take_lines(lines: Iterator[bytes], size: int) -> list[bytes]:
    """The next ``size`` lines, or fewer once they reach ``_CHUNK_BYTES``."""
    out: list[bytes] = []
    total = 0
    for line in lines:
        out.append(line)
        total += len(line)
        if len(out) >= size or total >= _CHUNK_BYTES:
            break
    return out


def _result(item) -> tuple[PreparedChunk, int]:
    future, offset = item
    return _unpack(future.result()), offset


def _with_offset(chunk: PreparedChunk, offset: int) -> PreparedChunk:
    chunk.end_offset = offset
    return chunk


def _init_worker() -> None:
    """Runs first in each worker process."""
    # Parsing allocates millions of short-lived acyclic objects; the default thresholds
    # would run the cyclic collector thousands of times over each live batch.
    gc.set_threshold(*IMPORT_GC_THRESHOLDS)
    # Ctrl-C reaches the whole process group; the importing process handles it, and the
    # workers finish their chunk quietly instead of each printing a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent()


def _exit_with_parent() -> None:
    """End this worker when the importing process ends, even by SIGKILL.

    A worker waits on a queue whose writing end it also holds, so it would never see the
    writer go away and would linger forever.
    """
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_after, args=(parent,), daemon=True).start()


def _exit_after(parent) -> None:
    parent.join()
    os._exit(0)


def _context():
    # forkserver: workers start from a clean process, not a copy of one that may hold
    # threads (a progress bar, a web server) and open database connections.
    if "forkserver" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context("spawn")
