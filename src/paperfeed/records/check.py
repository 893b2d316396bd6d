"""What a stored record may hold: the checks every source's records pass before they are stored.

Imported files are untrusted input (a shared JSONL dump, a saved feed, a mirror's HF
response). Every parser builds a ``PaperRecord`` and calls ``validate()``, which runs
``check_record``: a record that cannot be stored safely raises ``MalformedRecord`` (the
import skips it with the reason, and the rest of the file imports), and an unsafe link
is dropped from a record that is otherwise fine (the import reports it).

The checks are type tests, length tests and precompiled regular expressions: they run on
every record of a bulk import, a few microseconds each.
"""

from __future__ import annotations

import re
from datetime import date, datetime

import orjson

from paperfeed.links import ARXIV_ABS, ARXIV_PDF, is_safe_url


class MalformedRecord(ValueError):
    """A record that cannot be imported; the batch skips it and reports why."""


# --- limits ------------------------------------------------------------------
# Far above anything arXiv or Hugging Face publish (arXiv caps abstracts at 1,920
# characters; the longest titles are ~300), far below what would bloat pages or memory.

MAX_ID = 100
MAX_TITLE = 1_000
MAX_ABSTRACT = 20_000
# The largest author lists on arXiv are ~5,200 (ATLAS+CMS); 10,000 keeps them.
MAX_AUTHORS = 10_000
MAX_AUTHOR_NAME = 1_000  # each of name, first, last, suffix (real affiliations reach ~500)
MAX_COMMENTS = 10_000
MAX_JOURNAL_REF = 2_000
MAX_SHORT_FIELD = 255  # doi and license: the columns are VARCHAR(255)
MAX_CATEGORIES = 100
MAX_CATEGORY = 64  # primary_category is VARCHAR(64)
MAX_VERSIONS = 1_000
MAX_VERSION = 100_000  # the version columns are 32-bit integers
MAX_CODE_URLS = 50
MAX_SOURCES = 20
MAX_EXTRA_BYTES = 20_000
MAX_ENTRIES = 1_000
# Upvotes and comment counts: community votes are added on top of the imported count,
# and the columns are 32-bit integers.
MAX_COUNT = 1_000_000_000
MIN_YEAR, MAX_YEAR = 1000, 2200  # pages step by days and weeks from a paper's dates


ENTRY_SOURCES = frozenset({"auto", "hf", "user"})


# --- ids and links -----------------------------------------------------------

_PAPER_ID = re.compile(
    r"\d{4}\.\d{4,5}(?:v\d{1,5})?"  # new-style arXiv: 2401.00001, 2401.00001v2
    r"|[a-z][a-z-]*(?:\.[A-Z]{2})?/\d{7}(?:v\d{1,5})?"  # old-style: hep-th/9901001, math.GT/0309136
    # any other source's id (doc-1, scifact's 4983, 2401.00001x3): no slash, no "..",
    # nothing a URL would read as a query, fragment, escape or scheme
    r"|[A-Za-z0-9](?:[A-Za-z0-9_-]|\.(?!\.))*"
)
_SOURCE_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_KNOWN_SOURCES = frozenset({"snapshot", "listing", "jsonl", "api", "oai", "rss", "hf", "unknown"})


def is_paper_id(value) -> bool:
    """Whether ``value`` can be a paper id: an arXiv id, or another source's plain token.

    Ids become URL paths (``/papers/{id}``, the upvote button's ``hx-post``), so one with
    ``..``, ``?``, ``#``, ``%``, a scheme or whitespace could point a click elsewhere."""
    return type(value) is str and len(value) <= MAX_ID and _PAPER_ID.fullmatch(value) is not None


# --- the record check ----------------------------------------------------------


def check_record(rec):
    """Raise ``MalformedRecord`` unless ``rec`` (a PaperRecord) can be stored as it is;
    drop unsafe links, listing what was dropped in ``rec.dropped``. Returns ``rec``."""
    if not rec.id or not isinstance(rec.id, str) or not rec.id.strip():
        raise MalformedRecord("missing id")
    if not is_paper_id(rec.id):
        raise MalformedRecord(f"not a paper id: {rec.id!r:.120}")
    if not rec.title or not isinstance(rec.title, str) or not rec.title.strip():
        raise MalformedRecord("missing title")
    _check_text("title", rec.title, MAX_TITLE)
    _check_text("abstract", rec.abstract, MAX_ABSTRACT)
    _check_optional_text("comments", rec.comments, MAX_COMMENTS)
    _check_optional_text("journal_ref", rec.journal_ref, MAX_JOURNAL_REF)
    _check_optional_text("doi", rec.doi, MAX_SHORT_FIELD)
    _check_optional_text("license", rec.license, MAX_SHORT_FIELD)
    _check_authors(rec.authors)
    _check_categories(rec.categories)
    _check_versions(rec.version, rec.versions)
    _check_times(rec)
    _check_sources(rec.source, rec.also_seen_by)
    _check_extra(rec.extra)
    _check_entries(rec.entries)
    if type(rec.withdrawn) is not bool:
        raise MalformedRecord(f"withdrawn must be true or false, got {rec.withdrawn!r:.40}")
    _drop_unsafe_links(rec)
    return rec


def _check_text(name: str, value, limit: int) -> None:
    if type(value) is not str:
        raise MalformedRecord(f"{name} must be text, got {type(value).__name__}")
    if len(value) > limit:
        raise MalformedRecord(f"{name} too long: {len(value)} characters (limit {limit})")
    if "\x00" in value:  # PostgreSQL refuses NUL in text, and the batch with it
        raise MalformedRecord(f"{name} contains a NUL character")


def _check_optional_text(name: str, value, limit: int) -> None:
    if value is not None:
        _check_text(name, value, limit)


def _check_authors(authors) -> None:
    if type(authors) is not list:
        raise MalformedRecord("authors must be a list")
    if len(authors) > MAX_AUTHORS:
        raise MalformedRecord(f"too many authors: {len(authors)} (limit {MAX_AUTHORS})")
    limit = MAX_AUTHOR_NAME
    for a in authors:
        # an Author's four fields, each text of bounded length (unrolled: ~6 authors a paper)
        name, last, first, suffix = a.name, a.last, a.first, a.suffix
        if not (type(name) is str and type(last) is str and type(first) is str and type(suffix) is str
                and len(name) <= limit and len(last) <= limit and len(first) <= limit and len(suffix) <= limit
                and "\x00" not in name and "\x00" not in last and "\x00" not in first and "\x00" not in suffix):
            bad = next(p for p in (name, last, first, suffix) if type(p) is not str or len(p) > limit or "\x00" in p)
            raise MalformedRecord(f"bad author name: {bad!r:.80}")


def _check_categories(categories) -> None:
    if type(categories) is not list or len(categories) > MAX_CATEGORIES:
        raise MalformedRecord(f"categories must be a list of at most {MAX_CATEGORIES} codes")
    for c in categories:
        # stored space-separated, so a code is one non-empty word
        # (isprintable() is False for every whitespace character but the plain space)
        if type(c) is not str or not c or len(c) > MAX_CATEGORY or not c.isprintable() or " " in c:
            raise MalformedRecord(f"bad category: {c!r:.80}")


def _check_versions(version, versions) -> None:
    if version is not None and not _is_version(version):
        raise MalformedRecord(f"bad version: {version!r:.40}")
    if type(versions) is not list or len(versions) > MAX_VERSIONS:
        raise MalformedRecord(f"versions must be a list of at most {MAX_VERSIONS} entries")
    for v in versions:
        if type(v) is not dict or not _is_version(v.get("version")) or not _is_iso_time(v.get("created")) \
                or len(v) > 2 or not v.keys() <= {"version", "created"}:
            raise MalformedRecord(f"bad version entry: {v!r:.80}")


def _is_version(value) -> bool:
    return type(value) is int and 1 <= value <= MAX_VERSION


def _is_iso_time(value) -> bool:
    if value is None:
        return True
    if type(value) is not str or len(value) > 40:
        return False
    try:
        return MIN_YEAR <= datetime.fromisoformat(value).year <= MAX_YEAR
    except ValueError:
        return False


def _check_times(rec) -> None:
    for name in ("submitted_at", "updated_at"):
        value = getattr(rec, name)
        if value is not None and (type(value) is not datetime or not MIN_YEAR <= value.year <= MAX_YEAR):
            raise MalformedRecord(f"bad {name}: {value!r:.60}")
    if rec.announced_on is not None and not _is_day(rec.announced_on):
        raise MalformedRecord(f"bad announced_on: {rec.announced_on!r:.60}")


def _is_day(value) -> bool:
    return type(value) is date and MIN_YEAR <= value.year <= MAX_YEAR


def _check_sources(source, also_seen_by) -> None:
    if type(also_seen_by) is not list or len(also_seen_by) > MAX_SOURCES:
        raise MalformedRecord("bad list of sources")
    for name in (source, *also_seen_by):
        if name not in _KNOWN_SOURCES and (type(name) is not str or _SOURCE_NAME.fullmatch(name) is None):
            raise MalformedRecord(f"bad source name: {name!r:.40}")


def _check_extra(extra) -> None:
    if type(extra) is not dict:
        raise MalformedRecord("extra must be an object")
    if not extra:
        return
    if not all(type(key) is str for key in extra):
        raise MalformedRecord("extra must have text keys")
    try:
        encoded = orjson.dumps(extra)
    except orjson.JSONEncodeError as exc:  # nested too deep, or not JSON at all
        raise MalformedRecord(f"bad extra: {exc}") from exc
    if len(encoded) > MAX_EXTRA_BYTES:
        raise MalformedRecord(f"extra too large: {len(encoded)} bytes (limit {MAX_EXTRA_BYTES})")
    if b"\\u0000" in encoded:  # PostgreSQL's JSONB refuses it
        raise MalformedRecord("extra contains a NUL character")


def _check_entries(entries) -> None:
    if type(entries) is not list or len(entries) > MAX_ENTRIES:
        raise MalformedRecord(f"entries must be a list of at most {MAX_ENTRIES}")
    for e in entries:
        if not _is_day(e.day) or type(e.source) is not str or e.source not in ENTRY_SOURCES \
                or not _is_count(e.upvotes) or not _is_count(e.num_comments):
            raise MalformedRecord(
                f"bad daily entry: day={e.day!r:.30} source={e.source!r:.20} "
                f"upvotes={e.upvotes!r:.30} num_comments={e.num_comments!r:.30}")


def _is_count(value) -> bool:
    return value is None or (type(value) is int and 0 <= value <= MAX_COUNT)


def _drop_unsafe_links(rec) -> None:
    """Links are optional: an unsafe one goes, the paper stays."""
    paper_id = rec.id
    if not rec.code_urls and rec.project_page is None and (rec.abs_url is None or rec.abs_url == ARXIV_ABS + paper_id
                                                           or is_safe_url(rec.abs_url)) \
            and (rec.pdf_url is None or rec.pdf_url == ARXIV_PDF + paper_id or is_safe_url(rec.pdf_url)):
        # the common case, checked without building anything: arXiv's own links to a
        # checked id are safe, and comparing costs less than matching
        return
    dropped = []
    for name in ("abs_url", "pdf_url", "project_page"):
        value = getattr(rec, name)
        if value is not None and not is_safe_url(value):
            setattr(rec, name, None)
            dropped.append(f"{name} {value!r:.80}")
    codes = rec.code_urls
    if type(codes) is not list:
        rec.code_urls = []
        dropped.append(f"code_urls {codes!r:.80}")
    elif codes:
        safe = [url for url in codes if is_safe_url(url)]
        dropped += [f"code_urls {url!r:.80}" for url in codes if not is_safe_url(url)]
        if len(safe) > MAX_CODE_URLS:
            dropped.append(f"{len(safe) - MAX_CODE_URLS} code_urls beyond the first {MAX_CODE_URLS}")
            safe = safe[:MAX_CODE_URLS]
        rec.code_urls = safe
    if dropped:
        rec.dropped = dropped
