"""arXiv announcement feeds (rss.arxiv.org/rss/cs.LG+cs.CL): one day's new listings.

Each item has an ``arxiv:announce_type``:
- ``new`` and ``cross``: the paper is in today's announcement, so it gets an ``auto``
  entry on that day's page; a ``new`` paper's announce day is also that day.
- ``replace`` and ``replace-cross``: a new version of an older paper. Its metadata is
  updated, but it gets no entry: daily pages list new work, and arXiv replaces hundreds
  of old papers every day (Hugging Face's pages leave them out too).

The announce day is the item's pubDate (else the channel's) in arXiv's own time zone.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from email.utils import parsedate_to_datetime
from typing import BinaryIO

from paperfeed.ingest.normalize import (
    clean_optional,
    clean_text,
    extract_code_urls,
    parse_author_name,
    split_author_string,
)
from paperfeed.ingest.reading import PARSE_ERRORS, read_document, unreadable
from paperfeed.ingest.xmlparts import split_items, text_of, texts_of
from paperfeed.records import EntryRecord, MalformedRecord, PaperRecord, arxiv_urls, parse_arxiv_reference

SOURCE = "rss"
NS = {"arxiv": "http://arxiv.org/schemas/atom", "dc": "http://purl.org/dc/elements/1.1/"}
LISTED_TYPES = frozenset({"new", "cross"})
_HEAD = re.compile(r"^arXiv:(?P<id>\S+)\s+Announce Type:\s*(?P<type>[\w-]+)", re.I)


@dataclass
class RssPage:
    day: date | None
    items: list[tuple[str, PaperRecord | MalformedRecord]] = field(default_factory=list)
    announce_types: dict[str, int] = field(default_factory=dict)


def looks_like_rss(head: bytes) -> bool:
    return re.search(rb"<rss[\s>]", head) is not None


def parse_rss(stream: BinaryIO) -> Iterator[tuple[str, PaperRecord | MalformedRecord]]:
    """The ``PARSERS`` entry."""
    try:
        page = parse_rss_page(read_document(stream))
    except MalformedRecord as exc:
        yield "document", exc
        return
    yield from page.items


def parse_rss_page(data: bytes) -> RssPage:
    root, items = split_items(data, "item")
    channel = root.find("channel")
    page = RssPage(day=_channel_day(channel))
    for number, item in enumerate(items, start=1):
        where = f"item {number}"
        if isinstance(item, MalformedRecord):
            page.items.append((where, item))
            continue
        try:
            rec, kind = parse_item(item, page.day)
        except MalformedRecord as exc:
            page.items.append((f"{where} ({text_of(item, 'link') or 'no link':.120})", exc))
            continue
        except PARSE_ERRORS as exc:
            page.items.append((where, unreadable(exc)))
            continue
        page.announce_types[kind] = page.announce_types.get(kind, 0) + 1
        page.items.append((where, rec))
    return page


def parse_item(item: ET.Element, channel_day: date | None) -> tuple[PaperRecord, str]:
    """The paper and its announce type."""
    description = text_of(item, "description") or ""
    paper_id, version, kind = _identity(item, description)
    day = _day(text_of(item, "pubDate")) or channel_day
    abstract = _abstract(description)
    abs_url, pdf_url = arxiv_urls(paper_id)
    listed = kind in LISTED_TYPES and day is not None
    rec = PaperRecord(
        id=paper_id,
        title=clean_text(text_of(item, "title")),
        abstract=abstract,
        authors=[parse_author_name(n) for n in split_author_string(text_of(item, "dc:creator", NS) or "")],
        categories=texts_of(item, "category"),
        version=version,
        announced_on=day if kind == "new" else None,
        doi=clean_optional(text_of(item, "arxiv:DOI", NS)),
        license=clean_optional(text_of(item, "dc:rights", NS)),
        abs_url=abs_url,
        pdf_url=pdf_url,
        code_urls=extract_code_urls(abstract),
        source=SOURCE,
        entries=[EntryRecord(day=day, source="auto")] if listed else [],
    )
    return rec.validate(), kind


def _identity(item: ET.Element, description: str) -> tuple[str, int | None, str]:
    head = _HEAD.match(description.strip())
    kind = clean_text(text_of(item, "arxiv:announce_type", NS)) or (head["type"] if head else "")
    reference = head["id"] if head else (text_of(item, "link") or "")
    paper_id, version = parse_arxiv_reference(reference)
    return paper_id, version, kind.lower()


def _abstract(description: str) -> str:
    _, sep, rest = description.partition("Abstract:")
    return clean_text(rest if sep else description)


def _channel_day(channel: ET.Element | None) -> date | None:
    try:
        return _day(text_of(channel, "pubDate"))
    except MalformedRecord:
        return None  # items carry their own pubDate too


def _day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).date()
    except (TypeError, ValueError, OverflowError) as exc:
        raise MalformedRecord(f"bad pubDate {value!r:.80}") from exc
