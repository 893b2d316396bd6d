"""arXiv bulk metadata snapshot (Kaggle ``arxiv-metadata-oai-snapshot.json``), one JSON object a line.

Also reads arXiv listing dumps in the same layout with an ``announce_date``, which become
``auto`` entries on that day's page.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from email.utils import parsedate_to_datetime

from paperfeed.ingest.record import (
    EntryRecord,
    MalformedRecord,
    PaperRecord,
    arxiv_urls,
    authors_from_parsed,
    clean_optional,
    clean_text,
    extract_code_urls,
    parse_author_name,
    split_author_string,
)

SOURCE = "snapshot"


def looks_like_snapshot(obj: dict) -> bool:
    return "authors_parsed" in obj or ("versions" in obj and "update_date" in obj)


def parse_snapshot_object(obj: dict) -> PaperRecord:
    if not isinstance(obj, dict):
        raise MalformedRecord("not a JSON object")
    paper_id = clean_text(str(obj.get("id") or ""))
    if not paper_id:
        raise MalformedRecord("missing id")
    versions = _parse_versions(obj.get("versions") or [])
    abstract = clean_text(obj.get("abstract"))
    comments = clean_optional(obj.get("comments"))
    abs_url, pdf_url = arxiv_urls(paper_id)
    announced = _parse_day(obj.get("announce_date"))
    rec = PaperRecord(
        id=paper_id,
        title=clean_text(obj.get("title")),
        abstract=abstract,
        authors=_authors(obj),
        categories=(obj.get("categories") or "").split(),
        version=versions[-1]["version"] if versions else None,
        versions=versions,
        submitted_at=_created(versions[0]) if versions else None,
        updated_at=_created(versions[-1]) if versions else None,
        announced_on=announced,
        comments=comments,
        journal_ref=clean_optional(obj.get("journal-ref")),
        doi=clean_optional(obj.get("doi")),
        license=clean_optional(obj.get("license")),
        abs_url=abs_url,
        pdf_url=pdf_url,
        code_urls=extract_code_urls(abstract, comments),
        source="listing" if announced else SOURCE,
        entries=[EntryRecord(day=announced, source="auto")] if announced else [],
    )
    return rec.validate()


def _authors(obj: dict):
    parsed = obj.get("authors_parsed")
    if parsed:
        return authors_from_parsed(parsed)
    return [parse_author_name(n) for n in split_author_string(obj.get("authors") or "")]


def _parse_versions(raw: list) -> list[dict]:
    out = []
    for item in raw:
        try:
            number = int(str(item["version"]).lstrip("v"))
            created = parsedate_to_datetime(item["created"]).astimezone(timezone.utc).replace(tzinfo=None)
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedRecord(f"bad version entry {item!r}") from exc
        out.append({"version": number, "created": created.isoformat()})
    return sorted(out, key=lambda v: v["version"])


def _created(version: dict) -> datetime:
    return datetime.fromisoformat(version["created"])


def _parse_day(value) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise MalformedRecord(f"bad date {value!r}") from exc
