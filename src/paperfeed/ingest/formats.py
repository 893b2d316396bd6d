"""Which parser reads which file, detected from the content (not the file name)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import orjson
from isal import igzip

from paperfeed.ingest.atom import looks_like_atom, parse_atom
from paperfeed.ingest.hf import looks_like_hf, parse_hf
from paperfeed.ingest.native import looks_like_native, parse_native_object
from paperfeed.ingest.oai import looks_like_oai, parse_oai
from paperfeed.ingest.reading import PARSE_ERRORS, bounded_lines, line_too_long, unreadable
from paperfeed.ingest.rss import looks_like_rss, parse_rss
from paperfeed.ingest.snapshot import looks_like_snapshot, parse_snapshot_object
from paperfeed.records import MalformedRecord, PaperRecord

# A parsed item: where it was in the input (e.g. "line 12"), and the record or why it failed.
Item = tuple[str, PaperRecord | MalformedRecord]
Parser = Callable[[BinaryIO], Iterator[Item]]


def iter_jsonl(stream: BinaryIO, parse: Callable[[dict], PaperRecord], first_line: int = 1) -> Iterator[Item]:
    for number, line in enumerate(bounded_lines(stream), start=first_line):
        if not line.strip():
            continue
        yield f"line {number}", line_too_long(line) or parse_line(line, parse)


def parse_line(line: bytes, parse: Callable[[dict], PaperRecord]) -> PaperRecord | MalformedRecord:
    """One JSON line's record, or why it cannot be imported; never an exception."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return MalformedRecord(f"bad JSON: {exc}")
    try:
        return parse(obj)
    except MalformedRecord as exc:
        return exc
    except PARSE_ERRORS as exc:
        return unreadable(exc)


def parse_snapshot(stream: BinaryIO) -> Iterator[Item]:
    return iter_jsonl(stream, parse_snapshot_object)


def parse_native(stream: BinaryIO) -> Iterator[Item]:
    return iter_jsonl(stream, parse_native_object)


# The JSON-lines formats, by their per-object parsers: what parse workers run (ingest/parallel.py).
LINE_PARSERS: dict[str, Callable[[dict], PaperRecord]] = {
    "snapshot": parse_snapshot_object,
    "jsonl": parse_native_object,
}

PARSERS: dict[str, Parser] = {
    "snapshot": parse_snapshot,
    "jsonl": parse_native,
    "atom": parse_atom,
    "oai": parse_oai,
    "rss": parse_rss,
    "hf": parse_hf,
}


def open_input(path: str | Path) -> BinaryIO:
    """Open a file, or stdin for '-', transparently un-gzipping."""
    if str(path) == "-":
        import sys

        raw: BinaryIO = sys.stdin.buffer
    else:
        raw = open(path, "rb")
    if not hasattr(raw, "peek"):
        raw = io.BufferedReader(raw)  # type: ignore[arg-type]
    if raw.peek(2)[:2] == b"\x1f\x8b":
        # ISA-L's reader decompresses the same bytes ~2.5x faster than the stdlib's; a large
        # buffer saves the Python-level read calls of its file object.
        return io.BufferedReader(igzip.GzipFile(fileobj=raw), buffer_size=1 << 20)  # type: ignore[return-value]
    return raw


def detect_format(stream: BinaryIO) -> str:
    """Look at the first bytes of a stream from ``open_input`` and name its format."""
    head = stream.peek(65536)[:65536]  # type: ignore[attr-defined]
    text = head.lstrip()
    if text.startswith(b"{"):
        first = text.split(b"\n", 1)[0]
        try:
            obj = orjson.loads(first)
        except orjson.JSONDecodeError:
            return "jsonl"
        if isinstance(obj, dict) and looks_like_snapshot(obj):
            return "snapshot"
        if isinstance(obj, dict) and looks_like_native(obj):
            return "jsonl"
        return "jsonl"
    for name, sniff in SNIFFERS:
        if sniff(text):
            return name
    raise MalformedRecord("unrecognised input format (use --format)")


# (format name, predicate over the first bytes of a non-JSONL input), tried in order.
SNIFFERS: list[tuple[str, Callable[[bytes], bool]]] = [
    ("oai", looks_like_oai),
    ("atom", looks_like_atom),
    ("rss", looks_like_rss),
    ("hf", looks_like_hf),
]
