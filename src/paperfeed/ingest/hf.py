"""Hugging Face ``api/daily_papers`` JSON: papers plus their entries on one day's page.

The day of the entry is ``paper.submittedOnDailyAt``: in a response for one date every
item carries that same date there (all 30 items of the 2026-06-12 recording say
2026-06-12), while both ``publishedAt`` fields are the arXiv publication time and spread
over the previous two weeks (2026-05-29 .. 2026-06-10 in that recording). The top-level
``publishedAt`` is only used when ``submittedOnDailyAt`` is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timezone
from typing import BinaryIO

import orjson

from paperfeed.ingest.normalize import clean_text, extract_code_urls, parse_author_name
from paperfeed.ingest.reading import PARSE_ERRORS, read_document, unreadable
from paperfeed.records import EntryRecord, MalformedRecord, PaperRecord, arxiv_urls, is_arxiv_id

SOURCE = "hf"


def looks_like_hf(head: bytes) -> bool:
    return head.startswith(b"[") and b'"paper"' in head and (b'"upvotes"' in head or b'"numComments"' in head)


def parse_hf(stream: BinaryIO) -> Iterator[tuple[str, PaperRecord | MalformedRecord]]:
    """The ``PARSERS`` entry: a saved daily_papers response (a JSON array)."""
    try:
        items = orjson.loads(read_document(stream))
    except MalformedRecord as exc:
        yield "document", exc
        return
    except orjson.JSONDecodeError as exc:
        yield "document", MalformedRecord(f"bad JSON: {exc}")
        return
    yield from parse_hf_items(items)


def parse_hf_items(items) -> Iterator[tuple[str, PaperRecord | MalformedRecord]]:
    if not isinstance(items, list):
        yield "document", MalformedRecord("expected a JSON array of daily papers")
        return
    for number, item in enumerate(items, start=1):
        where = f"item {number}"
        try:
            rec = parse_daily_item(item)
        except MalformedRecord as exc:
            rec = exc
        except PARSE_ERRORS as exc:
            rec = unreadable(exc)
        yield where, rec


def parse_daily_item(item: dict) -> PaperRecord:
    paper = item.get("paper") if isinstance(item, dict) else None
    if not isinstance(paper, dict):
        raise MalformedRecord("item without a paper object")
    paper_id = str(paper.get("id") or "").strip()
    if not paper_id:
        raise MalformedRecord("paper without id")
    abstract = clean_text(paper.get("summary") or item.get("summary"))
    repo = str(paper.get("githubRepo") or "").strip()
    abs_url, pdf_url = arxiv_urls(paper_id) if is_arxiv_id(paper_id) else (None, None)
    day = _entry_day(paper, item)
    return PaperRecord(
        id=paper_id,
        title=clean_text(paper.get("title") or item.get("title")),
        abstract=abstract,
        authors=[parse_author_name(a["name"]) for a in _list(paper.get("authors"), "authors") if _named(a)],
        submitted_at=_datetime(paper.get("publishedAt")),
        abs_url=abs_url,
        pdf_url=pdf_url,
        # the repository the authors linked on HF comes first, then any in the abstract
        code_urls=_dedupe(_repo_urls(repo) + extract_code_urls(abstract)),
        project_page=paper.get("projectPage") or None,
        source=SOURCE,
        extra=_extra(paper, item),
        entries=[EntryRecord(day=day, source="hf", upvotes=_count(paper.get("upvotes")),
                             num_comments=_count(item.get("numComments")))],
    ).validate()


def _entry_day(paper: dict, item: dict) -> date:
    value = paper.get("submittedOnDailyAt") or item.get("publishedAt")
    parsed = _datetime(value)
    if parsed is None:
        raise MalformedRecord("no submittedOnDailyAt or publishedAt date")
    return parsed.date()


def _extra(paper: dict, item: dict) -> dict:
    extra = {}
    if paper.get("ai_keywords"):
        extra["ai_keywords"] = _list(paper["ai_keywords"], "ai_keywords")
    if paper.get("ai_summary"):
        extra["ai_summary"] = clean_text(paper["ai_summary"])
    org = paper.get("organization") or item.get("organization")
    if isinstance(org, dict) and org.get("name"):
        extra["organization"] = {"name": org["name"], "fullname": org.get("fullname") or org["name"]}
    return extra


def _list(value, name: str) -> list:
    if not value:
        return []
    if type(value) is not list:
        raise MalformedRecord(f"{name} must be a list, got {type(value).__name__}")
    return value


def _named(author) -> bool:
    return isinstance(author, dict) and bool(str(author.get("name") or "").strip())


def _repo_urls(repo: str) -> list[str]:
    """githubRepo, normalised like links found in abstracts so the two deduplicate."""
    if not repo:
        return []
    return extract_code_urls(repo) or [repo]


def _datetime(value) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    except (ValueError, OverflowError) as exc:  # (an offset can push year 1 or 9999 out of range)
        raise MalformedRecord(f"bad date {value!r:.80}") from exc
    return parsed


def _count(value) -> int:
    """An upvote or comment count: a whole number (HF sends ints; a negative one counts as 0).

    "many", 3.5, 1e30 or true are refused rather than coerced: the record check bounds it."""
    if value is None:
        return 0
    if type(value) is not int:
        raise MalformedRecord(f"bad count {value!r:.40}")
    return max(0, value)


def _dedupe(urls: list[str]) -> list[str]:
    return list(dict.fromkeys(urls))  # in order, and linear however many links a summary has
