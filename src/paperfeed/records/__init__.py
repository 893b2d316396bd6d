"""The one shape every source parses into and the store writes: ``PaperRecord`` and its
parts, the arXiv-id helpers, and the checks a record passes before it is stored
(``records.check``). Below both ingest and store, so neither imports the other for it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from paperfeed.links import ARXIV_ABS, ARXIV_PDF
from paperfeed.records.check import MalformedRecord, check_record


@dataclass(slots=True)
class Author:
    name: str
    last: str = ""
    first: str = ""
    suffix: str = ""

    def as_dict(self) -> dict:
        return {"name": self.name, "last": self.last, "first": self.first, "suffix": self.suffix}


@dataclass(slots=True)
class EntryRecord:
    """The paper's appearance on a day's page, as the source saw it."""

    day: date
    source: str  # "auto" or "hf"
    upvotes: int | None = None
    num_comments: int | None = None


@dataclass(slots=True)
class PaperRecord:
    id: str
    title: str
    abstract: str = ""
    authors: list[Author] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)  # primary first
    version: int | None = None
    versions: list[dict] = field(default_factory=list)  # [{"version": 1, "created": iso}]
    submitted_at: datetime | None = None
    updated_at: datetime | None = None
    announced_on: date | None = None
    comments: str | None = None
    journal_ref: str | None = None
    doi: str | None = None
    license: str | None = None
    abs_url: str | None = None
    pdf_url: str | None = None
    code_urls: list[str] = field(default_factory=list)
    project_page: str | None = None
    source: str = "unknown"
    also_seen_by: list[str] = field(default_factory=list)  # more sources, for exact round trips
    withdrawn: bool = False
    extra: dict = field(default_factory=dict)
    entries: list[EntryRecord] = field(default_factory=list)
    # what validate() dropped from the input (unsafe links), for the import report; not stored
    dropped: list[str] | tuple = ()

    def validate(self) -> "PaperRecord":
        """Check every field (types, sizes, id, links); see records/check.py."""
        return check_record(self)


# --- ids ---------------------------------------------------------------------

_VERSIONED = re.compile(r"^(?P<id>.+?)v(?P<v>\d+)$")
_ARXIV_URL = re.compile(r"arxiv\.org/(?:abs|pdf|html)/(?P<id>[^?#]+?)(?:\.pdf)?/?(?:[?#].*)?$", re.I)
_NEW_ID = re.compile(r"^\d{4}\.\d{4,5}$")
_OLD_ID = re.compile(r"^[a-z\-]+(\.[A-Z]{2})?/\d{7}$")


def split_version(arxiv_id: str) -> tuple[str, int | None]:
    """'2401.01234v3' -> ('2401.01234', 3); ids without a version keep None."""
    arxiv_id = arxiv_id.strip()
    m = _VERSIONED.match(arxiv_id)
    if m and (is_arxiv_id(m["id"])):
        if len(m["v"]) > 9:  # no paper has a billion versions; int() of a huge one is slow
            raise MalformedRecord(f"bad version in {arxiv_id[:80]!r}")
        return m["id"], int(m["v"])
    return arxiv_id, None


def is_arxiv_id(value: str) -> bool:
    return bool(_NEW_ID.match(value) or _OLD_ID.match(value))


def parse_arxiv_reference(text: str) -> tuple[str, int | None]:
    """An arXiv id from what a user pastes: an id, 'arXiv:id', or an abs/pdf URL."""
    text = text.strip()
    m = _ARXIV_URL.search(text)
    if m:
        text = m["id"]
    text = re.sub(r"^arxiv:", "", text, flags=re.I)
    base, version = split_version(text)
    if not is_arxiv_id(base):
        raise MalformedRecord(f"not an arXiv id or URL: {text[:80]!r}")
    return base, version


def arxiv_urls(arxiv_id: str) -> tuple[str, str]:
    return ARXIV_ABS + arxiv_id, ARXIV_PDF + arxiv_id


__all__ = ["Author", "EntryRecord", "MalformedRecord", "PaperRecord", "arxiv_urls", "is_arxiv_id",
           "parse_arxiv_reference", "split_version"]
