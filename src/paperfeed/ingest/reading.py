"""Reading untrusted input within bounds, and naming what a parser could not read."""

from __future__ import annotations

from paperfeed.records import MalformedRecord

# Raw input, before any parsing builds structures from it.
MAX_LINE_BYTES = 4 << 20  # one JSON line (the largest real snapshot lines are ~135 KB)
MAX_DOCUMENT_BYTES = 64 << 20  # one XML feed or HF response (arXiv's are a few MB)
MAX_RAW_TEXT = 1_000_000  # one XML/JSON text field before whitespace is collapsed

# A record that a parser could not read for a reason no check names: the import still
# skips it, and the fuzz tests look for this prefix to find parser bugs.
UNREADABLE = "unreadable record"


def unreadable(exc: BaseException) -> MalformedRecord:
    """The reason for a record a parser failed on with an error no check anticipated."""
    return MalformedRecord(f"{UNREADABLE} ({type(exc).__name__}: {str(exc):.120})")


# Errors a parser can raise on input of a shape it does not expect; anything else is a bug.
PARSE_ERRORS = (TypeError, ValueError, AttributeError, KeyError, IndexError, OverflowError, RecursionError)


# --- reading raw input within bounds -----------------------------------------


def bounded_lines(stream, limit: int = MAX_LINE_BYTES):
    """The stream's lines, but one longer than ``limit`` bytes is cut to ``limit + 1`` bytes
    (``iter_jsonl`` then refuses it) and the rest of it is read and dropped in pieces, so a
    giant line never sits in memory whole."""
    readline = stream.readline
    while line := readline(limit + 1):
        if len(line) > limit and not line.endswith(b"\n"):
            while (rest := readline(1 << 20)) and not rest.endswith(b"\n"):
                pass
            line += b"\n"  # still one line when chunks of lines are joined and split again
        yield line


def line_too_long(line: bytes, limit: int = MAX_LINE_BYTES) -> MalformedRecord | None:
    if len(line) > limit:
        return MalformedRecord(f"line too long: over {limit} bytes")
    return None


def read_document(stream, limit: int = MAX_DOCUMENT_BYTES) -> bytes:
    """A whole-document input (an XML feed, an HF response), refused when over ``limit``."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise MalformedRecord(f"document too large: over {limit >> 20} MB")
    return data
