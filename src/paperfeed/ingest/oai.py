"""arXiv OAI-PMH ListRecords / GetRecord pages in the oai_dc, arXiv and arXivRaw formats.

A page gives its records, the ids of deleted records (arXiv marks withdrawn papers that
way; they carry no metadata), and the resumptionToken for the next page. Which format a
record is in is read from its metadata element, so one parser reads all three.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import BinaryIO

from paperfeed.ingest.normalize import (
    clean_optional, clean_text, extract_code_urls, extract_project_page, parse_author_name, split_author_string,
)
from paperfeed.ingest.reading import PARSE_ERRORS, read_document, unreadable
from paperfeed.ingest.xmlparts import naive_utc, split_items, text_of, texts_of, to_int
from paperfeed.records import Author, EntryRecord, MalformedRecord, PaperRecord, arxiv_urls

SOURCE = "oai"
OAI = "http://www.openarchives.org/OAI/2.0/"
ARXIV = "http://arxiv.org/OAI/arXiv/"
ARXIV_RAW = "http://arxiv.org/OAI/arXivRaw/"
OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
NS = {"o": OAI, "ax": ARXIV, "raw": ARXIV_RAW, "oai_dc": OAI_DC, "dc": "http://purl.org/dc/elements/1.1/"}
ID_PREFIX = "oai:arXiv.org:"


class OaiError(RuntimeError):
    """An OAI-PMH error reply (e.g. badResumptionToken), with the protocol's code."""

    def __init__(self, code: str, message: str):
        super().__init__(f"OAI-PMH error {code}: {message}")
        self.code = code


@dataclass
class OaiPage:
    items: list[tuple[str, PaperRecord | MalformedRecord]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    token: str | None = None
    complete_size: int | None = None
    cursor: int | None = None
    response_date: str | None = None


def looks_like_oai(head: bytes) -> bool:
    return re.search(rb"<OAI-PMH[\s>]", head) is not None


def parse_oai(stream: BinaryIO) -> Iterator[tuple[str, PaperRecord | MalformedRecord]]:
    """The ``PARSERS`` entry. A saved page cannot mark papers withdrawn (its deleted records
    have no title to create a paper from), so those are reported as skipped; the harvest
    (``fetch arxiv --via oai``) does mark them."""
    try:
        page = parse_oai_page(read_document(stream))
    except (OaiError, MalformedRecord) as exc:
        yield "document", MalformedRecord(str(exc))
        return
    yield from page.items
    for paper_id in page.deleted:
        yield f"deleted record {paper_id}", MalformedRecord("deleted record (withdrawn); only a harvest marks it")


def parse_oai_page(data: bytes) -> OaiPage:
    root, records = split_items(data, "record", OAI)
    _raise_if_error(root)
    page = OaiPage(response_date=text_of(root, "o:responseDate", NS))
    _read_token(root, page)
    for number, record in enumerate(records, start=1):
        where = f"record {number}"
        if isinstance(record, MalformedRecord):
            page.items.append((where, record))
            continue
        header = record.find("o:header", NS)
        identifier = text_of(header, "o:identifier", NS) or ""
        if header is not None and header.get("status") == "deleted":
            page.deleted.append(identifier.removeprefix(ID_PREFIX))
            continue
        try:
            page.items.append((where, parse_record(record)))
        except MalformedRecord as exc:
            page.items.append((f"{where} ({identifier or 'no identifier':.120})", exc))
        except PARSE_ERRORS as exc:
            page.items.append((where, unreadable(exc)))
    return page


def _raise_if_error(root: ET.Element) -> None:
    error = root.find("o:error", NS)
    if error is not None and error.get("code") != "noRecordsMatch":
        raise OaiError(error.get("code") or "unknown", clean_text(error.text))


def _read_token(root: ET.Element, page: OaiPage) -> None:
    token = root.find(".//o:resumptionToken", NS)
    if token is None:
        return
    page.token = (token.text or "").strip() or None  # an empty token marks the last page
    page.complete_size = to_int(token.get("completeListSize"))
    page.cursor = to_int(token.get("cursor"))


def parse_record(record: ET.Element) -> PaperRecord:
    metadata = record.find("o:metadata", NS)
    if metadata is None or len(metadata) == 0:
        raise MalformedRecord("record without metadata")
    body = metadata[0]
    if body.tag == f"{{{ARXIV}}}arXiv":
        rec = _from_arxiv(body)
    elif body.tag == f"{{{ARXIV_RAW}}}arXivRaw":
        rec = _from_arxiv_raw(body)
    elif body.tag == f"{{{OAI_DC}}}dc":
        header_id = text_of(record, "o:header/o:identifier", NS) or ""
        rec = _from_oai_dc(body, header_id.removeprefix(ID_PREFIX))
    else:
        raise MalformedRecord(f"unsupported metadata format {body.tag}")
    place_new_paper(rec, _day_datetime(text_of(record, "o:header/o:datestamp", NS)))
    return rec.validate()


# A paper first submitted this many days or fewer before its datestamp, with no later version,
# is taken as new in that day's announcement (weekends and holidays delay it a few days).
NEW_PAPER_MAX_DAYS = 7


def place_new_paper(rec: PaperRecord, datestamp: datetime | None) -> None:
    """Put a newly announced paper on its announcement day, as the RSS feed would.

    arXiv stamps a record when its metadata changes in public, so a new paper's datestamp is
    the day it was announced. That lets an OAI-PMH catch-up after downtime fill the missed
    days' pages; replaced and old papers (a later version, or an old first version) stay off.
    """
    if datestamp is None or rec.submitted_at is None or len(rec.versions) > 1:
        return
    if rec.updated_at is not None and rec.updated_at.date() > rec.submitted_at.date():
        return
    day = datestamp.date()
    if 0 <= (day - rec.submitted_at.date()).days <= NEW_PAPER_MAX_DAYS:
        rec.announced_on = day
        rec.entries = [EntryRecord(day=day, source="auto")]


def _from_arxiv(body: ET.Element) -> PaperRecord:
    created = _day_datetime(text_of(body, "ax:created", NS))
    updated = _day_datetime(text_of(body, "ax:updated", NS))
    authors = [_arxiv_author(a) for a in body.findall("ax:authors/ax:author", NS)]
    return _record(body, "ax", authors, submitted=created, updated=updated or created)


def _arxiv_author(element: ET.Element) -> Author:
    last = clean_text(text_of(element, "ax:keyname", NS))
    first = clean_text(text_of(element, "ax:forenames", NS))
    suffix = clean_text(text_of(element, "ax:suffix", NS))
    return Author(name=" ".join(p for p in (first, last, suffix) if p), last=last, first=first, suffix=suffix)


def _from_arxiv_raw(body: ET.Element) -> PaperRecord:
    versions = _raw_versions(body)
    authors = [parse_author_name(n) for n in split_author_string(text_of(body, "raw:authors", NS) or "")]
    rec = _record(
        body, "raw", authors,
        submitted=datetime.fromisoformat(versions[0]["created"]) if versions else None,
        updated=datetime.fromisoformat(versions[-1]["created"]) if versions else None,
    )
    rec.versions = versions
    rec.version = versions[-1]["version"] if versions else None
    submitter = clean_optional(text_of(body, "raw:submitter", NS))
    if submitter:
        rec.extra["submitter"] = submitter
    return rec


def _raw_versions(body: ET.Element) -> list[dict]:
    out = []
    for element in body.findall("raw:version", NS):
        try:
            number = _version_number(element.get("version") or "")
            created = parsedate_to_datetime(text_of(element, "raw:date", NS) or "")
        except (TypeError, ValueError, OverflowError) as exc:
            raise MalformedRecord(f"bad version element {ET.tostring(element)[:120]!r}") from exc
        out.append({"version": number, "created": naive_utc(created).isoformat()})
    return sorted(out, key=lambda v: v["version"])


def _version_number(text: str) -> int:
    """'v2' -> 2. A huge number ('v99999999999999999999') would overflow the column."""
    digits = text.lstrip("v")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 9:
        raise ValueError(f"bad version {text!r:.40}")
    return int(digits)


def _record(body: ET.Element, p: str, authors: list[Author], submitted, updated) -> PaperRecord:
    """The fields the arXiv and arXivRaw formats share (same element names)."""
    paper_id = clean_text(text_of(body, f"{p}:id", NS))
    abstract = clean_text(text_of(body, f"{p}:abstract", NS))
    comments = clean_optional(text_of(body, f"{p}:comments", NS))
    abs_url, pdf_url = arxiv_urls(paper_id) if paper_id else (None, None)
    extra = {key: value for key in ("report-no", "msc-class", "acm-class")
             if (value := clean_optional(text_of(body, f"{p}:{key}", NS)))}
    return PaperRecord(
        id=paper_id,
        title=clean_text(text_of(body, f"{p}:title", NS)),
        abstract=abstract,
        authors=authors,
        categories=(text_of(body, f"{p}:categories", NS) or "").split(),
        submitted_at=submitted,
        updated_at=updated,
        comments=comments,
        journal_ref=clean_optional(text_of(body, f"{p}:journal-ref", NS)),
        doi=clean_optional(text_of(body, f"{p}:doi", NS)),
        license=clean_optional(text_of(body, f"{p}:license", NS)),
        abs_url=abs_url,
        pdf_url=pdf_url,
        code_urls=extract_code_urls(abstract, comments),
        project_page=extract_project_page(comments),
        source=SOURCE,
        extra=extra,
    )


def _from_oai_dc(body: ET.Element, paper_id: str) -> PaperRecord:
    """Dublin Core: no category codes and no version numbers; dates are v1 and the latest."""
    descriptions = [clean_text(d) for d in texts_of(body, "dc:description", NS)]
    comments = next((d.removeprefix("Comment:").strip() for d in descriptions if d.startswith("Comment:")), None)
    abstract = next((d for d in descriptions if not d.startswith("Comment:")), "")
    dates = sorted(_day_datetime(d) for d in texts_of(body, "dc:date", NS))
    identifiers = texts_of(body, "dc:identifier", NS)
    doi = next((i.removeprefix("doi:").strip() for i in identifiers if i.startswith("doi:")), None)
    abs_url, pdf_url = arxiv_urls(paper_id) if paper_id else (None, None)
    return PaperRecord(
        id=paper_id,
        title=clean_text(text_of(body, "dc:title", NS)),
        abstract=abstract,
        authors=[_dc_creator(c) for c in texts_of(body, "dc:creator", NS)],
        submitted_at=dates[0] if dates else None,
        updated_at=dates[-1] if dates else None,
        comments=comments or None,
        doi=doi,
        license=clean_optional(text_of(body, "dc:rights", NS)),
        abs_url=abs_url,
        pdf_url=pdf_url,
        code_urls=extract_code_urls(abstract, comments),
        project_page=extract_project_page(comments),
        source=SOURCE,
    )


def _dc_creator(value: str) -> Author:
    """'Liepins, Vilnis' -> Vilnis Liepins; collaborations have no comma."""
    value = clean_text(value)
    if "," not in value:
        return parse_author_name(value)
    last, first = (part.strip() for part in value.split(",", 1))
    return Author(name=f"{first} {last}".strip(), last=last, first=first)


def _day_datetime(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.strip()[:10])
    except ValueError as exc:
        raise MalformedRecord(f"bad date {value!r}") from exc


