"""The one shape every source parses into, and the small normalisers they share."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

# MalformedRecord lives with the checks; the parsers import it from here.
from paperfeed.ingest.validate import MAX_RAW_TEXT, MalformedRecord, check_record  # noqa: F401


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
        """Check every field (types, sizes, id, links); see ingest/validate.py."""
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
    return f"https://arxiv.org/abs/{arxiv_id}", f"https://arxiv.org/pdf/{arxiv_id}"


# --- text --------------------------------------------------------------------


def clean_text(value: str | None) -> str:
    """Collapse arXiv's hard line breaks and leading indentation into single spaces."""
    if not value:
        return ""
    check_raw_text(value)
    # str.split() splits on exactly the characters re's \s matches, and is ~5x faster.
    return " ".join(value.split())


def check_raw_text(value) -> None:
    """Refuse a text field that is not text, or so long that no limit could accept it,
    before splitting it into words builds a list many times its size."""
    if type(value) is not str:
        raise MalformedRecord(f"expected text, got {type(value).__name__}: {value!r:.80}")
    if len(value) > MAX_RAW_TEXT:
        raise MalformedRecord(f"text field too long: {len(value)} characters (limit {MAX_RAW_TEXT})")


def clean_optional(value: str | None) -> str | None:
    cleaned = clean_text(value)
    return cleaned or None


# --- code links --------------------------------------------------------------

_CODE_URL = re.compile(r"https?://(?:www\.)?(?:github\.com|gitlab\.com)/[^\s\"'<>()\[\]{}]+", re.I)
_TRAILING = ".,;:!?)]}>'\"\\"


def extract_code_urls(*texts: str | None) -> list[str]:
    """GitHub/GitLab repository URLs mentioned in abstracts and comments, in order, deduplicated.

    Abstracts often end "Code is available at https://github.com/x/y." or wrap the URL in
    LaTeX braces, so trailing punctuation and braces are stripped, and the URL is cut to
    the owner/repo part.
    """
    found: dict[str, None] = {}  # ordered, and a long abstract's many links dedupe in linear time
    for text in texts:
        if not text:
            continue
        joined = re.sub(r"(github\.com|gitlab\.com)/\s+", r"\1/", text)
        for match in _CODE_URL.finditer(joined):
            url = _normalise_repo_url(match.group(0))
            if url:
                found[url] = None
    return list(found)


def _normalise_repo_url(url: str) -> str | None:
    url = url.rstrip(_TRAILING)
    url = re.sub(r"^http://", "https://", url, flags=re.I)
    url = re.sub(r"^https://www\.", "https://", url, flags=re.I)
    parts = url.split("/")
    # https: '' host owner repo ...
    if len(parts) < 5 or not parts[3] or not parts[4]:
        return None
    host = parts[2].lower()
    repo = parts[4].rstrip(_TRAILING)
    if repo.endswith(".git"):
        repo = repo[:-4]
    if not repo:
        return None
    return f"https://{host}/{parts[3]}/{repo}"


# --- authors -----------------------------------------------------------------

_SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"}


def split_author_string(authors: str) -> list[str]:
    """'A, B and C' -> ['A', 'B', 'C'] (arXiv's author line)."""
    text = clean_text(authors)
    text = re.sub(r"\([^()]*\)", "", text)  # affiliations in parentheses
    parts = re.split(r",\s*|\s+and\s+", text)
    return [p.strip() for p in parts if p.strip()]


def parse_author_name(name: str) -> Author:
    """'Ada B. Lovelace Jr.' -> Author(last='Lovelace', first='Ada B.', suffix='Jr.')."""
    name = clean_text(name)
    tokens = name.split()
    suffix = ""
    if len(tokens) > 1 and tokens[-1].lower() in _SUFFIXES:
        suffix = tokens.pop()
    if not tokens:
        return Author(name=name)
    return Author(name=name, last=tokens[-1], first=" ".join(tokens[:-1]), suffix=suffix)


def authors_from_parsed(parsed: list[list[str]]) -> list[Author]:
    """From the snapshot's authors_parsed triples [last, first, suffix]."""
    out = []
    for triple in parsed:
        last, first, suffix = (list(triple) + ["", "", ""])[:3]
        name = " ".join(p for p in (first, last, suffix) if p).strip()
        out.append(Author(name=name, last=last, first=first, suffix=suffix))
    return out
