"""arXiv API Atom feeds (export.arxiv.org/api/query): search and id_list results.

A page carries the OpenSearch totals used for paging. arXiv reports a bad query as a
feed with one entry whose id points at /api/errors; that becomes ``ArxivApiError`` with
arXiv's own message, rather than a paper called "Error".
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

from paperfeed.ingest.normalize import (clean_optional, clean_text, extract_code_urls, extract_project_page,
                                        parse_author_name)
from paperfeed.ingest.reading import PARSE_ERRORS, read_document, unreadable
from paperfeed.ingest.xmlparts import naive_utc, split_items, text_of, to_int
from paperfeed.records import MalformedRecord, PaperRecord, arxiv_urls, split_version

SOURCE = "api"
ATOM = "http://www.w3.org/2005/Atom"
NS = {"a": ATOM, "arxiv": "http://arxiv.org/schemas/atom", "os": "http://a9.com/-/spec/opensearch/1.1/"}


class ArxivApiError(RuntimeError):
    """arXiv rejected the query; the message is arXiv's text (e.g. 'incorrect id format for abc')."""


@dataclass
class AtomPage:
    total: int | None
    start: int
    per_page: int | None
    items: list[tuple[str, PaperRecord | MalformedRecord]] = field(default_factory=list)


def looks_like_atom(head: bytes) -> bool:
    return re.search(rb"<feed[\s>]", head) is not None and ATOM.encode() in head


def parse_atom(stream: BinaryIO) -> Iterator[tuple[str, PaperRecord | MalformedRecord]]:
    """The ``PARSERS`` entry: every entry of a saved API response."""
    try:
        page = parse_atom_page(read_document(stream))
    except (ArxivApiError, MalformedRecord) as exc:
        yield "document", MalformedRecord(str(exc))
        return
    yield from page.items


def parse_atom_page(data: bytes) -> AtomPage:
    root, entries = split_items(data, "entry", ATOM)
    page = AtomPage(
        total=to_int(text_of(root, "os:totalResults", NS)),
        start=to_int(text_of(root, "os:startIndex", NS)) or 0,
        per_page=to_int(text_of(root, "os:itemsPerPage", NS)),
    )
    for number, entry in enumerate(entries, start=1):
        where = f"entry {number}"
        if isinstance(entry, MalformedRecord):
            page.items.append((where, entry))
            continue
        _raise_if_error(entry)
        try:
            page.items.append((where, parse_entry(entry)))
        except MalformedRecord as exc:
            page.items.append((f"{where} ({text_of(entry, 'a:id', NS) or 'no id':.120})", exc))
        except PARSE_ERRORS as exc:
            page.items.append((where, unreadable(exc)))
    return page


def _raise_if_error(entry: ET.Element) -> None:
    entry_id = text_of(entry, "a:id", NS) or ""
    if "/api/errors" in entry_id:
        message = clean_text(text_of(entry, "a:summary", NS)) or entry_id.rsplit("#", 1)[-1]
        raise ArxivApiError(f"arXiv API error: {message}")


def parse_entry(entry: ET.Element) -> PaperRecord:
    paper_id, version = _entry_id(text_of(entry, "a:id", NS))
    abstract = clean_text(text_of(entry, "a:summary", NS))
    comments = clean_optional(text_of(entry, "arxiv:comment", NS))
    published = _datetime(text_of(entry, "a:published", NS))
    updated = _datetime(text_of(entry, "a:updated", NS))
    abs_url, pdf_url = arxiv_urls(paper_id)
    return PaperRecord(
        id=paper_id,
        title=clean_text(text_of(entry, "a:title", NS)),
        abstract=abstract,
        authors=[parse_author_name(n) for n in _author_names(entry)],
        categories=_categories(entry),
        version=version,
        versions=_versions(version, published, updated),
        submitted_at=published,
        updated_at=updated,
        comments=comments,
        journal_ref=clean_optional(text_of(entry, "arxiv:journal_ref", NS)),
        doi=clean_optional(text_of(entry, "arxiv:doi", NS)),
        abs_url=abs_url,
        pdf_url=pdf_url,
        code_urls=extract_code_urls(abstract, comments),
        project_page=extract_project_page(comments),
        source=SOURCE,
    ).validate()


def _entry_id(raw: str | None) -> tuple[str, int | None]:
    """'http://arxiv.org/abs/astro-ph/0601001v1' -> ('astro-ph/0601001', 1)."""
    if not raw or "/abs/" not in raw:
        raise MalformedRecord(f"entry id is not an arXiv abs URL: {raw!r}")
    return split_version(raw.split("/abs/", 1)[1])


def _author_names(entry: ET.Element) -> list[str]:
    names = (text_of(a, "a:name", NS) for a in entry.findall("a:author", NS))
    return [clean_text(n) for n in names if n and n.strip()]


def _categories(entry: ET.Element) -> list[str]:
    primary = entry.find("arxiv:primary_category", NS)
    terms = [primary.get("term")] if primary is not None else []
    terms += [c.get("term") for c in entry.findall("a:category", NS)]
    out: list[str] = []
    for term in terms:
        if term and term not in out:
            out.append(term)
    return out


def _versions(version: int | None, published: datetime | None, updated: datetime | None) -> list[dict]:
    """The feed dates v1 (published) and the current version (updated); the rest are unknown."""
    out = []
    if published is not None:
        out.append({"version": 1, "created": published.isoformat()})
    if version and version > 1 and updated is not None:
        out.append({"version": version, "created": updated.isoformat()})
    return out


def _datetime(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise MalformedRecord(f"bad date {value!r}") from exc
    return naive_utc(parsed)
