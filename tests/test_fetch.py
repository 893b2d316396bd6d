"""The live fetchers, driven through httpx.MockTransport serving the real recorded responses.

Time is faked (an injected clock and sleep), so the tests run instantly and can check the
delays the polite client asked for: 3 s between arXiv requests, Retry-After, backoff.
"""

import json
from collections import deque
from datetime import date

import httpx
import orjson
import pytest
from click.testing import CliRunner
from conftest import FIXTURES
from sqlalchemy import func, select

from paperfeed.cli import cli
from paperfeed.ingest import fetch as fetch_module
from paperfeed.ingest.atom import ArxivApiError
from paperfeed.ingest.fetch import (
    fetch_arxiv_ids,
    fetch_hf,
    fetch_rss,
    harvest_oai,
    search_arxiv_api,
)
from paperfeed.ingest.formats import detect_format, open_input
from paperfeed.ingest.http import FetchError, PoliteClient
from paperfeed.ingest.importer import import_file
from paperfeed.models import DailyEntry, Paper
from paperfeed.store.papers import get_paper, get_state

ATOM = FIXTURES / "arxiv_api_atom"
OAI = FIXTURES / "oai_pmh"
OAI_DC_PAGE = OAI / "atomiklabs_listrecords_oai_dc_set-cs_2024-01-25_with_resumptionToken.xml"
ARXIV_PAGE = OAI / "paperhive_listrecords---should-list-identifiers-from-arxiv_1_http200.xml"
RAW_PAGE = OAI / "handmade_listrecords_arXivRaw.xml"
NOCK_503 = OAI / "paperhive_nock_raw" / "oaipmh-listrecords---should-list-identifiers-from-arxiv.json"
RSS = FIXTURES / "rss" / "laya-reader_arxiv_rss_cs.LG+cs.AI+cs.CL+stat.ML_2026-09-24.xml"
HF = FIXTURES / "hf_daily_papers" / "sotawhat_hf_daily_papers_2026-06-12.json"
SEARCH_CS_LG = ATOM / "sotawhat_q_all-transformer_AND_cat-cs.LG_m5.atom.xml"


class FakeTime:
    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


class Server:
    """Answers each request with ``answer(request)`` and logs it with the fake time it arrived."""

    def __init__(self, fake: FakeTime, answer):
        self.fake, self.answer, self.log = fake, answer, []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.log.append((self.fake.now, request))
        result = self.answer(request)
        if isinstance(result, Exception):
            raise result
        return result

    def client(self, settings) -> PoliteClient:
        return PoliteClient(settings, transport=httpx.MockTransport(self.handle), sleep=self.fake.sleep,
                            clock=self.fake.clock)

    @property
    def params(self) -> list[dict]:
        return [dict(request.url.params) for _, request in self.log]

    @property
    def gaps(self) -> list[float]:
        times = [t for t, _ in self.log]
        return [b - a for a, b in zip(times, times[1:])]


def in_order(*answers):
    queue = deque(answers)
    return lambda request: queue.popleft()


def ok(path, **headers) -> httpx.Response:
    return httpx.Response(200, content=path.read_bytes(), headers=headers)


def recorded_api() -> dict:
    """The arXiv API recordings, keyed by the query they answered."""
    out = {}
    for raw in (ATOM / "raw_recorded_json").glob("*.json"):
        rec = json.loads(raw.read_text())
        q = httpx.URL(rec["url"]).params
        key = (q["search_query"], q["id_list"], q["start"], q["max_results"] if q["search_query"] else "")
        out[key] = httpx.Response(rec["status_code"], content=rec["body"].encode())
    return out


def arxiv_api(request: httpx.Request) -> httpx.Response:
    q = request.url.params
    key = (q["search_query"], q["id_list"], q["start"], q["max_results"] if q["search_query"] else "")
    return recorded_api().get(key) or httpx.Response(404, text=f"no recording for {key}")


@pytest.fixture
def fake():
    return FakeTime()


@pytest.fixture
def polite_settings(settings):
    return settings.model_copy(update={"contact_email": "ops@example.org", "http_max_retries": 3})


def count_papers(db):
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Paper)), s.scalar(select(func.count(func.distinct(Paper.id))))


# --- arXiv API ---------------------------------------------------------------


def test_search_pages_with_start_and_max_results_three_seconds_apart(db, polite_settings, fake):
    server = Server(fake, arxiv_api)
    report = search_arxiv_api(db, polite_settings, query="testing", page_size=10, max_results=30,
                              client=server.client(polite_settings), state_name="fetch:api:testing")
    assert [(p["start"], p["max_results"]) for p in server.params] == [("0", "10"), ("10", "10"), ("20", "10")]
    assert (report.read, report.inserted, report.total, report.pages) == (30, 30, 214881, 3)
    assert server.gaps == [3.0, 3.0] and fake.sleeps == [3.0, 3.0]
    agent = server.log[0][1].headers["User-Agent"]
    assert agent.startswith("paperfeed/") and "ops@example.org" in agent
    with db.session() as s:
        state = get_state(s, "fetch:api:testing")
    assert state["read"] == 30 and state["fetched_at"]


def test_fetch_ids_reports_unreadable_and_unknown_ids(db, polite_settings, fake):
    server = Server(fake, arxiv_api)
    report = fetch_arxiv_ids(db, polite_settings, ["0808.05394", "https://arxiv.org/abs/1707.08567v2", "abc"],
                             client=server.client(polite_settings))
    assert [p["id_list"] for p in server.params] == ["0808.05394,1707.08567"]  # 'abc' never sent
    assert (report.read, report.skipped, report.missing) == (1, 1, ["0808.05394"])
    assert "not an arXiv id" in report.errors[0].reason
    with db.session() as s:
        assert get_paper(s, "1707.08567").abs_url == "https://arxiv.org/abs/1707.08567"
        assert get_state(s, "fetch:ids")["read"] == 1


def test_fetch_old_style_id(db, polite_settings, fake):
    server = Server(fake, arxiv_api)
    report = fetch_arxiv_ids(db, polite_settings, ["astro-ph/0601001"], client=server.client(polite_settings))
    assert report.inserted == 1 and report.missing == []
    with db.session() as s:
        assert get_paper(s, "astro-ph/0601001").primary_category == "astro-ph"


def test_http_400_error_feed_becomes_arxivs_message(db, polite_settings, fake):
    server = Server(fake, arxiv_api)
    with pytest.raises(ArxivApiError, match="incorrect id format for abc"):
        search_arxiv_api(db, polite_settings, ids=["abc"], client=server.client(polite_settings))
    assert len(server.log) == 1  # a 400 is not retried


def test_broken_entry_in_a_fetched_page_is_skipped_and_reported(db, polite_settings, fake):
    body = (ATOM / "q_testing_s0_m10_bc5a6c384fe9.atom.xml").read_text().split("<entry>")
    body[3] = body[3].replace("</summary>", "</summar>", 1)
    server = Server(fake, lambda r: httpx.Response(200, text="<entry>".join(body)))
    report = search_arxiv_api(db, polite_settings, query="testing", page_size=10, max_results=10,
                              client=server.client(polite_settings))
    assert (report.read, report.inserted, report.skipped) == (9, 9, 1)
    assert report.errors[0].where == "start=0: entry 3" and "not well-formed" in report.errors[0].reason


# --- OAI-PMH -----------------------------------------------------------------


def recorded_503() -> httpx.Response:
    rec = json.loads(NOCK_503.read_text())[0]
    headers = list(zip(rec["rawHeaders"][::2], rec["rawHeaders"][1::2]))
    headers = [(k, v) for k, v in headers if k not in ("Content-Length", "Connection")]
    return httpx.Response(rec["status"], content=rec["response"].encode(), headers=headers)


def test_harvest_honours_retry_after_and_follows_the_token(db, polite_settings, fake):
    server = Server(fake, in_order(recorded_503(), ok(OAI_DC_PAGE), ok(ARXIV_PAGE)))
    report = harvest_oai(db, polite_settings, set_spec="cs", since=date(2024, 1, 25),
                         client=server.client(polite_settings), on_progress=lambda done, total: None)
    assert server.params[0] == {"verb": "ListRecords", "metadataPrefix": "arXiv", "set": "cs", "from": "2024-01-25"}
    assert server.params[2] == {"verb": "ListRecords", "resumptionToken": "6960524|1001"}
    assert 10.0 in fake.sleeps and server.gaps[0] == 10.0  # the recorded Retry-After: 10
    assert min(server.gaps) >= 3.0
    assert (report.read, report.inserted, report.pages, report.total) == (7, 7, 2, 1162)
    with db.session() as s:
        state = get_state(s, "fetch:oai:arXiv:cs")
    assert state["token"] is None and state["next_from"] == "2018-06-21"


def test_interrupted_harvest_resumes_from_the_checkpointed_token(db, polite_settings, fake):
    broken = Server(fake, in_order(ok(OAI_DC_PAGE), httpx.ConnectError("connection reset")))
    with pytest.raises(FetchError, match="connection reset"):
        harvest_oai(db, polite_settings, set_spec="cs", since=date(2024, 1, 25), client=broken.client(polite_settings))
    with db.session() as s:
        assert get_state(s, "fetch:oai:arXiv:cs")["token"] == "6960524|1001"
    assert count_papers(db) == (5, 5)

    rerun = Server(fake, in_order(ok(ARXIV_PAGE)))
    report = harvest_oai(db, polite_settings, set_spec="cs", client=rerun.client(polite_settings))
    assert rerun.params == [{"verb": "ListRecords", "resumptionToken": "6960524|1001"}]
    assert (report.resumed_from, report.read, report.inserted) == ("6960524|1001", 2, 2)
    assert count_papers(db) == (7, 7)
    with db.session() as s:
        state = get_state(s, "fetch:oai:arXiv:cs")
    assert state["token"] is None and state["request"]["from"] == "2024-01-25"

    incremental = Server(fake, in_order(ok(ARXIV_PAGE)))
    harvest_oai(db, polite_settings, set_spec="cs", client=incremental.client(polite_settings))
    assert incremental.params[0]["from"] == "2018-06-21"  # the last complete harvest's day


def test_harvest_stops_at_max_records_and_a_rerun_continues(db, polite_settings, fake):
    first = Server(fake, in_order(ok(OAI_DC_PAGE)))
    report = harvest_oai(db, polite_settings, set_spec="cs", since=date(2024, 1, 25), max_records=3,
                         client=first.client(polite_settings))
    assert report.read == 5 and len(first.log) == 1
    second = Server(fake, in_order(ok(ARXIV_PAGE)))
    harvest_oai(db, polite_settings, set_spec="cs", since=date(2024, 1, 25), client=second.client(polite_settings))
    assert second.params[0]["resumptionToken"] == "6960524|1001"


def test_deleted_records_mark_papers_withdrawn(db, polite_settings, fake, tmp_path):
    known = tmp_path / "known.jsonl"
    known.write_bytes(orjson.dumps({"id": "0704.0003", "title": "The evolution of the Earth-Moon system"}))
    import_file(db, known)
    server = Server(fake, in_order(ok(RAW_PAGE)))
    report = harvest_oai(db, polite_settings, metadata_prefix="arXivRaw", client=server.client(polite_settings))
    assert (report.read, report.withdrawn) == (2, 1)
    assert server.params[0] == {"verb": "ListRecords", "metadataPrefix": "arXivRaw"}
    with db.session() as s:
        assert get_paper(s, "0704.0003").withdrawn
        assert not get_paper(s, "0704.0001").withdrawn and get_paper(s, "0704.0001").version == 2


# --- RSS and Hugging Face ------------------------------------------------------


def test_fetch_rss_records_the_day_and_the_fetch(db, polite_settings, fake):
    server = Server(fake, in_order(ok(RSS)))
    report = fetch_rss(db, polite_settings, ["cs.LG", "cs.AI", "cs.CL", "stat.ML"], client=server.client(polite_settings))
    assert str(server.log[0][1].url) == "https://rss.arxiv.org/rss/cs.LG+cs.AI+cs.CL+stat.ML"
    assert (report.read, report.batch.entries_inserted) == (4, 3)
    with db.session() as s:
        state = get_state(s, "fetch:rss:cs.LG+cs.AI+cs.CL+stat.ML")
    assert state["day"] == "2026-09-24" and state["announce_types"] == {"new": 2, "cross": 1, "replace": 1}


def test_fetch_hf_asks_for_the_day_and_is_not_spaced(db, polite_settings, fake):
    server = Server(fake, in_order(ok(HF), ok(HF)))
    client = server.client(polite_settings)
    fetch_hf(db, polite_settings, date(2026, 6, 12), client=client)
    again = fetch_hf(db, polite_settings, date(2026, 6, 12), client=client)
    assert server.params[0] == {"date": "2026-06-12"}
    assert fake.sleeps == []  # only arXiv hosts are spaced
    assert again.unchanged == 30
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(DailyEntry).where(DailyEntry.source == "hf")) == 30
        assert get_state(s, "fetch:hf")["days"] == ["2026-06-12"]


# --- the polite client ---------------------------------------------------------


def test_spacing_is_shared_by_clients_on_one_data_directory(polite_settings, fake):
    # two clients stand for two processes (a cron fetch and a web worker): only the
    # timestamp file in the data directory connects them
    server = Server(fake, lambda r: httpx.Response(200, text="ok"))
    first, second = server.client(polite_settings), server.client(polite_settings)
    first.get("https://export.arxiv.org/api/query")
    second.get("https://rss.arxiv.org/rss/cs.LG")
    second.get("https://huggingface.co/api/daily_papers")  # not arXiv: not spaced
    assert server.gaps == [3.0, 0.0]
    assert (polite_settings.data_dir / "arxiv-last-request").read_text() == "1003.0"


def test_retry_after_as_an_http_date(polite_settings, fake):
    limited = httpx.Response(429, headers={"Date": "Thu, 11 Jun 2026 10:00:00 GMT",
                                           "Retry-After": "Thu, 11 Jun 2026 10:00:07 GMT"})
    server = Server(fake, in_order(limited, httpx.Response(200, text="[]")))
    response = server.client(polite_settings).get("https://huggingface.co/api/daily_papers")
    assert response.status_code == 200 and fake.sleeps == [7.0]


def test_backoff_then_give_up(polite_settings, fake):
    server = Server(fake, lambda r: httpx.Response(503))
    with pytest.raises(FetchError, match="HTTP 503, gave up after 4 attempts"):
        server.client(polite_settings).get("https://huggingface.co/api/daily_papers")
    assert fake.sleeps == [1.0, 2.0, 4.0] and len(server.log) == 4


def test_timeouts_are_retried(polite_settings, fake):
    server = Server(fake, in_order(httpx.ReadTimeout("slow"), httpx.Response(200, text="ok")))
    assert server.client(polite_settings).get("https://export.arxiv.org/api/query").text == "ok"
    assert len(server.log) == 2 and server.gaps == [3.0]  # backoff 1 s, then the arXiv spacing


def test_other_failures_are_not_retried(db, polite_settings, fake):
    server = Server(fake, lambda r: httpx.Response(404, text="not here"))
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch_hf(db, polite_settings, client=server.client(polite_settings))
    refused = Server(fake, lambda r: httpx.ConnectError("refused"))
    with pytest.raises(FetchError, match="refused"):
        refused.client(polite_settings).get("https://export.arxiv.org/api/query")
    assert len(server.log) == 1 and len(refused.log) == 1


# --- the CLI -------------------------------------------------------------------


@pytest.mark.parametrize("path, fmt, read", [
    (ATOM / "q_testing_s0_m15_80c242b59d59.atom.xml", "atom", 15),
    (OAI_DC_PAGE, "oai", 5),
    (RAW_PAGE, "oai", 2),
    (RSS, "rss", 4),
    (HF, "hf", 30),
])
def test_import_command_detects_each_format(settings, db, path, fmt, read):
    assert detect_format(open_input(path)) == fmt
    env = {"PAPERFEED_DATABASE_URL": settings.resolved_database_url, "PAPERFEED_DATA_DIR": str(settings.data_dir)}
    result = CliRunner().invoke(cli, ["import", str(path)], env=env, catch_exceptions=False)
    assert result.exit_code == 0 and f"read {read}, inserted {read}," in result.output


@pytest.fixture
def cli_fetch(sqlite_settings, monkeypatch, fake):
    """The fetch commands with their client on a mock transport (the real PoliteClient)."""
    holder = {}

    def serve(answer):
        holder["server"] = Server(fake, answer)
        return holder["server"]

    monkeypatch.setattr(fetch_module, "PoliteClient", lambda settings: holder["server"].client(settings))
    env = {"PAPERFEED_DATABASE_URL": sqlite_settings.resolved_database_url,
           "PAPERFEED_DATA_DIR": str(sqlite_settings.data_dir)}

    def invoke(*args):
        return CliRunner().invoke(cli, ["fetch", *args], env=env)

    return serve, invoke


def test_fetch_arxiv_command(cli_fetch):
    serve, invoke = cli_fetch
    server = serve(in_order(ok(SEARCH_CS_LG)))
    result = invoke("arxiv", "--category", "cs.LG", "--since", "2026-06-01", "--max", "5", "--progress")
    assert result.exit_code == 0, result.output
    assert "read 5, inserted 5" in result.output
    query = server.params[0]["search_query"]
    assert query.startswith("cat:cs.LG AND submittedDate:[202606010000 TO ")


def test_fetch_command_shows_arxivs_error(cli_fetch):
    serve, invoke = cli_fetch
    body = (ATOM / "id_abc_s0_m100_b79c8dcf6bc3.atom.xml").read_bytes()
    serve(lambda r: httpx.Response(400, content=body))
    result = invoke("arxiv", "--category", "nonsense")
    assert result.exit_code == 1
    assert "Error: arXiv API error: incorrect id format for abc" in result.output


def test_fetch_ids_command_exits_non_zero_when_nothing_was_found(cli_fetch):
    serve, invoke = cli_fetch
    serve(arxiv_api)
    result = invoke("ids", "0000.0000")
    assert result.exit_code == 1 and "not found 0000.0000" in result.output
    found = invoke("ids", "astro-ph/0601001")
    assert found.exit_code == 0 and "inserted 1" in found.output


def test_truncated_page_stops_the_harvest_and_keeps_the_checkpoint(db, polite_settings, fake):
    cut = httpx.Response(200, content=ARXIV_PAGE.read_bytes()[:-300])
    server = Server(fake, in_order(ok(OAI_DC_PAGE), cut))
    with pytest.raises(FetchError, match="unreadable response"):
        harvest_oai(db, polite_settings, set_spec="cs", since=date(2024, 1, 25), client=server.client(polite_settings))
    with db.session() as s:
        assert get_state(s, "fetch:oai:arXiv:cs")["token"] == "6960524|1001"
