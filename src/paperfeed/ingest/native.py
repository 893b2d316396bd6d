"""paperfeed's own JSONL: what ``paperfeed export`` writes and ``paperfeed import`` reads.

A minimal line is ``{"id": ..., "title": ..., "abstract": ...}`` with optional ``authors``
(list of names), ``published`` (YYYY-MM-DD), ``categories`` (list) and ``url``. An export
line carries every stored field, so export -> import round-trips exactly.
"""

from __future__ import annotations

from datetime import date, datetime

from paperfeed.ingest.normalize import check_raw_text, extract_code_urls, parse_author_name
from paperfeed.records import Author, EntryRecord, MalformedRecord, PaperRecord, arxiv_urls, is_arxiv_id

FORMAT = "paperfeed"
SOURCE = "jsonl"


def looks_like_native(obj: dict) -> bool:
    return obj.get("format") == FORMAT or ("id" in obj and "title" in obj and "authors_parsed" not in obj)


def parse_native_object(obj: dict) -> PaperRecord:
    if not isinstance(obj, dict):
        raise MalformedRecord("not a JSON object")
    paper_id = obj.get("id")
    if not isinstance(paper_id, str) or not paper_id.strip():
        raise MalformedRecord("missing id")
    title = obj.get("title")
    if not isinstance(title, str) or not title.strip():
        raise MalformedRecord("missing title")
    if obj.get("format") == FORMAT:
        return _full_record(obj)
    return _minimal_record(obj)


def _minimal_record(obj: dict) -> PaperRecord:
    paper_id = obj["id"].strip()
    abstract = obj.get("abstract") or ""
    check_raw_text(abstract)
    categories = _str_list(obj.get("categories"), "categories")
    url = obj.get("url")
    abs_url, pdf_url = arxiv_urls(paper_id) if is_arxiv_id(paper_id) else (url, None)
    published = _day(obj.get("published"))
    return PaperRecord(
        id=paper_id,
        title=obj["title"].strip(),
        abstract=abstract.strip(),
        authors=[parse_author_name(n) for n in _str_list(obj.get("authors"), "authors")],
        categories=categories,
        submitted_at=datetime(published.year, published.month, published.day) if published else None,
        abs_url=url or abs_url,
        pdf_url=pdf_url,
        code_urls=extract_code_urls(abstract),
        source=SOURCE,
    ).validate()


def _full_record(obj: dict) -> PaperRecord:
    try:
        rec = PaperRecord(
            id=obj["id"],
            title=obj["title"],
            abstract=obj.get("abstract") or "",
            authors=[Author(**a) for a in obj.get("authors") or []],
            categories=_str_list(obj.get("categories"), "categories"),
            version=obj.get("version"),
            versions=list(obj.get("versions") or []),
            submitted_at=_datetime(obj.get("submitted_at")),
            updated_at=_datetime(obj.get("updated_at")),
            announced_on=_day(obj.get("announced_on")),
            comments=obj.get("comments"),
            journal_ref=obj.get("journal_ref"),
            doi=obj.get("doi"),
            license=obj.get("license"),
            abs_url=obj.get("abs_url"),
            pdf_url=obj.get("pdf_url"),
            code_urls=list(obj.get("code_urls") or []),
            project_page=obj.get("project_page"),
            source=SOURCE,
            withdrawn=bool(obj.get("withdrawn")),
            extra=obj.get("extra") or {},  # the record check requires an object
        )
    except MalformedRecord:
        raise
    except (TypeError, ValueError) as exc:
        raise MalformedRecord(f"bad field: {exc}") from exc
    # The exported sources and entries come back as they were, so a round trip is exact.
    sources = _str_list(obj.get("sources"), "sources")
    if sources:
        rec.source, rec.also_seen_by = sources[0], sources[1:]
    entries = obj.get("entries") or []
    if type(entries) is not list:
        raise MalformedRecord("entries must be a list")
    rec.entries = [_entry(e) for e in entries]
    return rec.validate()


def _entry(raw: dict) -> EntryRecord:
    if type(raw) is not dict:
        raise MalformedRecord(f"bad entry {raw!r:.80}")
    try:
        return EntryRecord(day=_day(raw["day"]), source=raw.get("source", "auto"),
                           upvotes=raw.get("upvotes"), num_comments=raw.get("num_comments"))
    except (KeyError, TypeError) as exc:
        raise MalformedRecord(f"bad entry {raw!r:.80}") from exc


def paper_to_native(paper, entries: list | None = None) -> dict:
    """The export line for a stored paper."""
    return {
        "format": FORMAT,
        "id": paper.id,
        "title": paper.title,
        "abstract": paper.abstract,
        "authors": paper.authors,
        "categories": paper.category_list,
        "version": paper.version,
        "versions": paper.versions,
        "submitted_at": _iso(paper.submitted_at),
        "updated_at": _iso(paper.updated_at),
        "announced_on": _iso(paper.announced_on),
        "comments": paper.comments,
        "journal_ref": paper.journal_ref,
        "doi": paper.doi,
        "license": paper.license,
        "abs_url": paper.abs_url,
        "pdf_url": paper.pdf_url,
        "code_urls": paper.code_urls,
        "project_page": paper.project_page,
        "sources": paper.sources,
        "withdrawn": paper.withdrawn,
        "extra": paper.extra,
        "entries": [
            {"day": e.day.isoformat(), "source": e.source, "upvotes": e.upvotes, "num_comments": e.num_comments}
            for e in (entries or [])
        ],
    }


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _str_list(value, name: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise MalformedRecord(f"{name} must be a list of strings")
    return value


def _day(value) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise MalformedRecord(f"bad date {value!r:.80}") from exc


def _datetime(value) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise MalformedRecord(f"bad datetime {value!r:.80}") from exc
