"""Live fetchers: the arXiv API, OAI-PMH, the arXiv announcement RSS and Hugging Face.

Each one requests through ``PoliteClient``, parses with the matching parser, writes through
the single upsert path, and records when it last ran in ``HarvestState`` under a name like
``fetch:rss:cs.LG`` (the /about page shows these). The OAI-PMH harvest also checkpoints its
resumptionToken in the same transaction as each page's papers, so an interrupted harvest
resumes from the last committed page without duplicates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

import httpx
import orjson

from paperfeed.config import Settings
from paperfeed.db import Database
from paperfeed.ingest.atom import ArxivApiError, AtomPage, parse_atom_page
from paperfeed.ingest.formats import Item
from paperfeed.ingest.hf import parse_hf_items
from paperfeed.ingest.http import FetchError, PoliteClient
from paperfeed.ingest.importer import ImportReport, import_items, note_dropped, skip_record
from paperfeed.ingest.oai import OaiPage, parse_oai_page
from paperfeed.ingest.parallel import dropped_note
from paperfeed.ingest.rss import parse_rss_page
from paperfeed.models import utcnow
from paperfeed.records import MalformedRecord, PaperRecord, parse_arxiv_reference
from paperfeed.store.papers import get_state, mark_withdrawn, set_state, upsert_records

log = logging.getLogger(__name__)

API_URL = "https://export.arxiv.org/api/query"
OAI_URL = "https://oaipmh.arxiv.org/oai"
RSS_URL = "https://rss.arxiv.org/rss/"
HF_URL = "https://huggingface.co/api/daily_papers"
API_PAGE_SIZE = 100
ID_LIST_CHUNK = 100


@dataclass
class FetchReport(ImportReport):
    """An import report plus what only fetching knows."""

    withdrawn: int = 0
    pages: int = 0
    total: int | None = None  # as the source states it
    resumed_from: str | None = None  # the OAI token a harvest resumed from
    ids: list[str] = field(default_factory=list)  # ids of the papers read
    missing: list[str] = field(default_factory=list)  # requested ids arXiv did not return

    def summary(self) -> str:
        text = super().summary()
        if self.withdrawn:
            text += f"; marked withdrawn {self.withdrawn}"
        if self.missing:
            text += f"; not found {', '.join(self.missing)}"
        return text


# --- arXiv API -----------------------------------------------------------------


def search_arxiv_api(
    db: Database,
    settings: Settings,
    query: str | None = None,
    ids: list[str] | None = None,
    start: int = 0,
    max_results: int | None = None,
    page_size: int = API_PAGE_SIZE,
    sort_by: str = "submittedDate",
    client: PoliteClient | None = None,
    on_progress: Callable[[int, int | None], None] | None = None,
    state_name: str | None = None,
) -> FetchReport:
    """Page through an API search (``search_query``) or ``id_list`` look-up and import it.

    Stops at ``max_results``, at the stated ``totalResults``, or at an empty page.
    Raises ``ArxivApiError`` with arXiv's message when arXiv rejects the query.
    """
    report = FetchReport()
    position = start
    with _client(settings, client) as http:
        while max_results is None or position < start + max_results:
            size = page_size if max_results is None else min(page_size, start + max_results - position)
            page = _api_page(http, _api_params(query, ids, position, size, sort_by))
            report.total = page.total
            report.merge(import_items(db, page.items, label=f"start={position}: "))
            report.ids.extend(rec.id for _, rec in page.items if isinstance(rec, PaperRecord))
            report.pages += 1
            position += len(page.items)
            if on_progress:
                on_progress(position - start, _bounded(page.total, start, max_results))
            if not page.items and page.total is not None and position < page.total:
                # arXiv's API now and then answers a page with no entries; a rerun gets them
                log.warning("arXiv returned an empty page at start=%d of %d; stopping", position, page.total)
            if not page.items or (page.total is not None and position >= page.total):
                break
    _record_fetch(db, state_name, report, query=query)
    return report


def fetch_arxiv_ids(
    db: Database, settings: Settings, ids: Iterable[str], client: PoliteClient | None = None,
) -> FetchReport:
    """Fetch papers by id (or abs/pdf URL) with ``id_list``: the latest version of each.

    Unreadable ids are reported as skipped; ids arXiv does not know end up in ``missing``.
    """
    report = FetchReport()
    wanted: list[str] = []
    for raw in ids:
        try:
            paper_id, _version = parse_arxiv_reference(raw)
        except MalformedRecord as exc:
            skip_record(report, raw, str(exc))
            continue
        if paper_id not in wanted:
            wanted.append(paper_id)
    with _client(settings, client) as http:
        for chunk in _chunks(wanted, ID_LIST_CHUNK):
            page_report = search_arxiv_api(db, settings, ids=chunk, max_results=len(chunk), client=http)
            report.merge(page_report)
            report.pages += page_report.pages
            report.ids.extend(page_report.ids)
    returned = set(report.ids)
    report.missing = [paper_id for paper_id in wanted if paper_id not in returned]
    _record_fetch(db, "fetch:ids", report, ids=len(wanted))
    return report


def _api_params(query, ids, start: int, size: int, sort_by: str) -> dict:
    params = {"search_query": query or "", "id_list": ",".join(ids or []), "start": start, "max_results": size}
    if query:
        params.update(sortBy=sort_by, sortOrder="descending")
    return params


def _api_page(http: PoliteClient, params: dict) -> AtomPage:
    response = http.get(API_URL, params=params)
    if response.status_code == 400:
        page = _parse(parse_atom_page, response)  # an error feed raises ArxivApiError itself
        raise ArxivApiError(f"arXiv API rejected the query (HTTP 400, {len(page.items)} entries)")
    _expect_ok(response)
    return _parse(parse_atom_page, response)


# --- OAI-PMH -------------------------------------------------------------------


def harvest_oai(
    db: Database,
    settings: Settings,
    set_spec: str | None = None,
    since: date | None = None,
    until: date | None = None,
    metadata_prefix: str = "arXiv",
    client: PoliteClient | None = None,
    on_progress: Callable[[int, int | None], None] | None = None,
    max_records: int | None = None,
    restart: bool = False,
    default_since: date | None = None,
) -> FetchReport:
    """Harvest ListRecords page by page, following the resumptionToken.

    Each page's papers, withdrawals (deleted records) and the next token commit together,
    so a rerun after an interruption (or after ``max_records``) resumes from the token.
    Without ``since``, a harvest starts from the day the last complete one ran, else from
    ``default_since`` (None: everything).
    """
    name = f"fetch:oai:{metadata_prefix}:{set_spec or 'all'}"
    with db.session() as session:
        state = get_state(session, name) or {}
    request, token = _plan_harvest(state, set_spec, since, until, metadata_prefix, default_since, restart)
    report = FetchReport(resumed_from=token)
    next_from = state.get("next_from")
    with _client(settings, client) as http:
        while True:
            params = {"verb": "ListRecords", "resumptionToken": token} if token else _oai_params(request)
            page = _oai_page(http, params)
            report.total = page.complete_size or report.total
            _commit_oai_page(db, name, {"request": request, "next_from": next_from}, page, report)
            if on_progress:  # the cursor: a resumed harvest starts mid-list
                on_progress((page.cursor or 0) + len(page.items) + len(page.deleted), page.complete_size)
            token = page.token
            if token is None or (max_records is not None and report.read >= max_records):
                break
    return report


def _plan_harvest(state: dict, set_spec, since, until, prefix, default_since, restart) -> tuple[dict, str | None]:
    """The request to run and the token to resume from (None: start afresh)."""
    saved, token = state.get("request"), state.get("token")
    if token and not restart and saved:
        if (since is None or saved["from"] == since.isoformat()) and (until is None or saved["until"] == until.isoformat()):
            return saved, token
        log.warning("discarding the checkpointed token of a different harvest (%s)", saved)
    start = since or _day(state.get("next_from")) or default_since
    request = {"set": set_spec, "from": start.isoformat() if start else None,
               "until": until.isoformat() if until else None, "metadataPrefix": prefix}
    return request, None


def _oai_params(request: dict) -> dict:
    params = {"verb": "ListRecords", "metadataPrefix": request["metadataPrefix"]}
    for key in ("set", "from", "until"):
        if request[key]:
            params[key] = request[key]
    return params


def _oai_page(http: PoliteClient, params: dict) -> OaiPage:
    response = http.get(OAI_URL, params=params)
    _expect_ok(response)
    return _parse(parse_oai_page, response)


def _commit_oai_page(db: Database, name: str, carried: dict, page: OaiPage, report: FetchReport) -> None:
    records = _records(page.items, report, label=f"page {report.pages + 1}: ")
    state = {**carried, "token": page.token, "cursor": page.cursor,
             "complete_size": page.complete_size, "fetched_at": utcnow().isoformat()}
    if page.token is None:
        # the next incremental harvest starts from the day this one finished
        state["next_from"] = (page.response_date or utcnow().isoformat())[:10]
    with db.session() as session:
        if records:
            report.batch.add(upsert_records(session, records))
        report.withdrawn += mark_withdrawn(session, page.deleted)
        set_state(session, name, state)
    report.pages += 1


PHYSICS_ARCHIVES = frozenset({
    "astro-ph", "cond-mat", "gr-qc", "hep-ex", "hep-lat", "hep-ph", "hep-th", "math-ph", "nlin",
    "nucl-ex", "nucl-th", "physics", "quant-ph",
})


def oai_set_for_category(category: str) -> str:
    """arXiv's OAI set for a category: 'cs.LG' -> 'cs:cs:LG', 'hep-th' -> 'physics:hep-th'.

    A value that already contains ':' is taken as a set spec as it is.
    """
    if ":" in category:
        return category
    archive, _, sub = category.partition(".")
    group = "physics" if archive in PHYSICS_ARCHIVES else archive
    parts = [group] + ([archive] if group != archive or sub else []) + ([sub] if sub else [])
    return ":".join(parts)


# --- RSS and Hugging Face --------------------------------------------------------


def fetch_rss(
    db: Database, settings: Settings, categories: str | list[str], client: PoliteClient | None = None,
) -> FetchReport:
    """Import today's announcement feed for ``cs.LG+cs.CL`` (or a list of categories)."""
    joined = categories if isinstance(categories, str) else "+".join(categories)
    with _client(settings, client) as http:
        response = http.get(RSS_URL + joined)
        _expect_ok(response)
        page = _parse(parse_rss_page, response)
    report = FetchReport(pages=1)
    report.merge(import_items(db, page.items, label="rss "))
    _record_fetch(db, f"fetch:rss:{joined}", report, day=page.day.isoformat() if page.day else None,
                  announce_types=page.announce_types)
    return report


def fetch_hf(db: Database, settings: Settings, day: date | None = None, client: PoliteClient | None = None) -> FetchReport:
    """Import Hugging Face's daily papers (``day``, or HF's latest day) with their votes."""
    params = {"date": day.isoformat()} if day is not None else None
    with _client(settings, client) as http:
        response = http.get(HF_URL, params=params)
        _expect_ok(response)
        try:
            items = orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise FetchError(f"{response.url}: not JSON: {exc}", response.status_code) from exc
    parsed = list(parse_hf_items(items))
    days = sorted({e.day.isoformat() for _, rec in parsed if isinstance(rec, PaperRecord) for e in rec.entries})
    report = FetchReport(pages=1)
    report.merge(import_items(db, parsed, label="hf "))
    _record_fetch(db, "fetch:hf", report, date=day.isoformat() if day else None, days=days)
    return report


# --- shared ----------------------------------------------------------------------


@contextmanager
def _client(settings: Settings, client: PoliteClient | None) -> Iterator[PoliteClient]:
    if client is not None:
        yield client
        return
    with PoliteClient(settings) as own:
        yield own


def _expect_ok(response: httpx.Response) -> None:
    if response.status_code != 200:
        raise FetchError(f"{response.url}: HTTP {response.status_code}: {response.text[:200]}",
                         response.status_code)


def _parse(parser, response: httpx.Response):
    try:
        return parser(response.content)
    except MalformedRecord as exc:
        raise FetchError(f"{response.url}: unreadable response: {exc}", response.status_code) from exc


def _records(items: Iterable[Item], report: FetchReport, label: str) -> list[PaperRecord]:
    records = []
    for where, item in items:
        if isinstance(item, MalformedRecord):
            skip_record(report, f"{label}{where}", str(item))
        else:
            records.append(item)
            if item.dropped:
                note_dropped(report, f"{label}{where}", dropped_note(item))
    report.read += len(records)
    return records


def _record_fetch(db: Database, name: str | None, report: FetchReport, **details) -> None:
    if not name:
        return
    with db.session() as session:
        set_state(session, name, {"fetched_at": utcnow().isoformat(), "read": report.read,
                                  "inserted": report.inserted, "skipped": report.skipped, **details})


def _bounded(total: int | None, start: int, max_results: int | None) -> int | None:
    if total is None:
        return max_results
    remaining = max(0, total - start)
    return remaining if max_results is None else min(remaining, max_results)


def _day(value) -> date | None:
    return date.fromisoformat(value[:10]) if value else None


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i : i + size]
