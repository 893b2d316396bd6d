"""First-page thumbnails end to end: PDFs fetched over real HTTP from a local server (real
PDFs written by pdf_kit, plus encrypted, broken, HTML, missing, oversized and failing ones),
rendered by PDFium, stored in the database, and served to cards, paper pages and the API."""

from __future__ import annotations

import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from paperfeed.cli import cli
from paperfeed.ingest.http import PoliteClient
from paperfeed.jobs.thumbnails import WantedPapers, make_thumbnails
from paperfeed.models import Paper
from paperfeed.models.thumbnails import Thumbnail
from paperfeed.store.changes import current

import pinned
from community_kit import add_paper, make_app, utc_today
from pdf_kit import broken_pdf, encrypted_pdf, paper_pdf

CAP = 300_000  # bytes: the tests' PDF size cap
GOOD, OLD_STYLE = "2611.00001", "hep-th/9901001"
BAD = {  # id -> the reason recorded
    "2611.00002": "encrypted PDF (needs a password)",
    "2611.00003": "broken PDF",
    "2611.00004": "not a PDF (content type text/html)",
    "2611.00005": "HTTP 404 for the PDF",
    "2611.00006": f"PDF too large (over {CAP:,} bytes)",  # says so in Content-Length
    "2611.00007": f"PDF too large (over {CAP:,} bytes)",  # chunked: found out while reading
    "2611.00009": "withdrawn on arXiv",
}
FLAKY = "2611.00008"  # answers 503 every time


class PdfServer:
    """Serves PDFs the way arXiv does (``/pdf/<id>``), and the ways it can go wrong."""

    def __init__(self):
        self.requests: list[tuple[str, str]] = []  # (path, User-Agent)
        self.streamed = 0  # bytes of the endless PDF that went out before the client hung up
        self.bodies = {f"/pdf/{GOOD}": paper_pdf(), f"/pdf/{OLD_STYLE}": paper_pdf("Gauge theory", pages=2),
                       "/pdf/2611.00002": encrypted_pdf(), "/pdf/2611.00003": broken_pdf()}
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802
                server.requests.append((self.path, self.headers.get("User-Agent", "")))
                server.answer(self)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/pdf/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path
        if path in self.bodies:
            return _send(handler, 200, self.bodies[path], "application/pdf")
        if path == "/pdf/2611.00004":
            return _send(handler, 200, b"<!doctype html><p>PDF being generated, try later</p>", "text/html")
        if path == "/pdf/2611.00006":
            handler.send_response(200)
            handler.send_header("Content-Type", "application/pdf")
            handler.send_header("Content-Length", str(50 * CAP))
            handler.end_headers()
            return None  # the client must refuse it on the header alone
        if path == "/pdf/2611.00007":
            return self._endless(handler)
        if path == "/pdf/2611.00008":
            return _send(handler, 503, b"busy", "text/plain", {"Retry-After": "7"})
        return _send(handler, 404, b"not found", "text/plain")

    def _endless(self, handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/pdf")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        chunk = b"%PDF-1.7\n" + b"0" * 65_527
        try:
            for _ in range(1600):  # 100 MiB, if nobody stops reading
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.streamed += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        handler.close_connection = True

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _send(handler, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@pytest.fixture
def pdfs():
    server = PdfServer()
    yield server
    server.close()


@pytest.fixture
def thumb_settings(db, pdfs):
    db.settings = db.settings.model_copy(update={
        "thumbnail_pdf_base_url": pdfs.base, "thumbnail_max_pdf_bytes": CAP, "http_max_retries": 1,
        "embed_in_background": False, "contact_email": "ops@example.org"})
    return db.settings


def _papers(db) -> dict[str, int]:
    ids = [GOOD, *BAD, FLAKY]
    pks = {paper_id: add_paper(db, paper_id, title=f"Paper {paper_id}", day=utc_today()) for paper_id in ids}
    pks[OLD_STYLE] = add_paper(db, OLD_STYLE, title="Gauge theory", day=utc_today() - timedelta(days=1))
    with db.session() as session:
        session.get(Paper, pks["2611.00009"]).withdrawn = True
    return pks


def _run(db, settings, now=None, limit=100, owner="w1", wanted=None):
    now = now or pinned.naive_now()
    with PoliteClient(settings, sleep=lambda s: None) as client:
        return make_thumbnails(db, settings, client, owner=owner, clock=lambda: now, limit=limit, wanted=wanted)


def _rows(db) -> dict[int, Thumbnail]:
    with db.session() as session:
        rows = {row.paper_pk: row for row in session.scalars(select(Thumbnail))}
        session.expunge_all()
    return rows


def test_pdfs_become_thumbnails_and_bad_ones_are_recorded_with_their_reason(db, thumb_settings, pdfs):
    pks = _papers(db)
    report = _run(db, thumb_settings)
    assert (report.made, report.failed, report.retrying) == (2, 7, 1)
    rows = _rows(db)
    for paper_id in (GOOD, OLD_STYLE):
        row = rows[pks[paper_id]]
        assert (row.status, row.reason, row.attempts) == ("ok", None, 1)
        assert row.small[:4] == b"RIFF" and row.small[8:12] == b"WEBP"
        assert (row.small_width, row.large_width) == (160, 480) and row.small_height == 208  # US letter
        assert 1_000 < len(row.small) < 30_000 and row.large_height == 622 and row.etag
    for paper_id, reason in BAD.items():
        row = rows[pks[paper_id]]
        assert (row.status, row.small, row.attempts) == ("failed", None, 1)
        assert row.reason.startswith(reason), (paper_id, row.reason)
    flaky = rows[pks[FLAKY]]
    assert (flaky.status, flaky.attempts) == ("retry", 1) and "HTTP 503" in flaky.reason
    assert flaky.next_attempt_at == pinned.naive_now() + timedelta(minutes=60)
    # Newest day first, each PDF asked for once (503s twice: one retry inside the client),
    # the withdrawn paper never, the old-style id with its slash, all with our User-Agent.
    paths = pdfs.paths()
    assert paths[-1] == f"/pdf/{OLD_STYLE}" and "/pdf/2611.00009" not in paths
    assert paths.count(f"/pdf/{FLAKY}") == 2
    assert {p: paths.count(p) for p in paths if p != f"/pdf/{FLAKY}"} == {p: 1 for p in paths if p != f"/pdf/{FLAKY}"}
    assert {agent for _, agent in pdfs.requests} == {thumb_settings.user_agent}
    assert "mailto:ops@example.org" in thumb_settings.user_agent
    assert pdfs.streamed < 16 * 2**20  # of 100 MiB: reading stopped at the cap (socket buffers took some)


def test_nothing_is_fetched_twice_and_failing_papers_are_not_retried_forever(db, thumb_settings, pdfs):
    pks = _papers(db)
    _run(db, thumb_settings)
    before = len(pdfs.requests)
    assert _run(db, thumb_settings).made == 0 and len(pdfs.requests) == before  # the flaky one waits
    now = pinned.naive_now()
    for waited, attempts in ((61, 2), (61 + 121, 3), (61 + 121 + 241, 4)):
        _run(db, thumb_settings, now=now + timedelta(minutes=waited))
        assert _rows(db)[pks[FLAKY]].attempts == attempts
    flaky = _rows(db)[pks[FLAKY]]
    assert flaky.status == "failed" and flaky.reason.startswith("gave up after 4 attempts: download failed")
    later = len(pdfs.requests)
    _run(db, thumb_settings, now=now + timedelta(days=365))
    assert len(pdfs.requests) == later  # 404s, withdrawn and given-up papers stay as they are


def test_a_killed_worker_s_claims_lapse_and_the_next_run_goes_on(db, thumb_settings, pdfs):
    from paperfeed.store.thumbnails import claim_next

    pk = add_paper(db, GOOD, day=utc_today())
    now = pinned.naive_now()
    with db.session() as session:
        assert claim_next(session, "killed", now, 300, 14).pk == pk  # then the worker died
    assert _run(db, thumb_settings, now=now + timedelta(seconds=10)).made == 0  # still claimed
    assert _run(db, thumb_settings, now=now + timedelta(seconds=301)).made == 1  # lapsed: taken over
    assert _rows(db)[pk].status == "ok" and pdfs.paths() == [f"/pdf/{GOOD}"]


def test_two_workers_at_once_fetch_each_pdf_once(db, thumb_settings, pdfs):
    for i in range(12):
        add_paper(db, f"2611.{100 + i:05d}", day=utc_today())
        pdfs.bodies[f"/pdf/2611.{100 + i:05d}"] = paper_pdf(f"Paper {i}", pages=2, seed=i)
    reports = [None, None]

    def work(i):
        reports[i] = _run(db, thumb_settings, owner=f"node-{i}")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sum(r.made for r in reports) == 12
    assert sorted(pdfs.paths()) == sorted(set(pdfs.paths())) and len(pdfs.paths()) == 12


def test_cards_paper_pages_and_the_api_show_thumbnails(db, thumb_settings, pdfs):
    pks = _papers(db)
    _run(db, thumb_settings)
    app = make_app(thumb_settings.model_copy(update={"base_url": "https://papers.example.org"}), db)
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        day = c.get(f"/papers/date/{utc_today()}").text
        img = f'<img class="card-thumb" src="/papers/{GOOD}/thumb-small.webp?v='
        assert img in day and 'width="160" height="208" loading="lazy"' in day
        assert f'alt="First page of the paper “Paper {GOOD}”"' in day
        assert day.count('class="card-thumb"') == 1  # the others keep today's card layout

        paper = c.get(f"/papers/{GOOD}").text
        assert f'src="/papers/{GOOD}/thumb-large.webp?v=' in paper and 'width="480" height="622"' in paper
        assert "paper-thumb" not in c.get("/papers/2611.00005").text

        etag = _rows(db)[pks[GOOD]].etag
        small = c.get(f"/papers/{GOOD}/thumb-small.webp?v={etag}")
        assert small.status_code == 200 and small.headers["content-type"] == "image/webp"
        assert small.content == _rows(db)[pks[GOOD]].small
        assert small.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert "content-encoding" not in small.headers  # WebP is compressed already: never gzipped
        plain = c.get(f"/papers/{GOOD}/thumb-small.webp")
        assert plain.headers["cache-control"] == "public, max-age=86400"
        again = c.get(f"/papers/{GOOD}/thumb-small.webp", headers={"If-None-Match": small.headers["etag"]})
        assert again.status_code == 304 and not again.content
        assert c.get(f"/papers/{OLD_STYLE}/thumb-large.webp").content[8:12] == b"WEBP"
        assert c.get(f"/papers/{GOOD}/thumb-huge.webp").status_code == 404
        assert c.get("/papers/2611.00005/thumb-small.webp").status_code == 404
        assert c.get("/papers/2699.99999/thumb-small.webp").status_code == 404
        assert c.get("/papers/..%2F..%2Fetc/thumb-small.webp").status_code == 404

        items = {i["paper"]["id"]: i for i in c.get(f"/api/daily_papers?date={utc_today()}").json()}
        assert items[GOOD]["thumbnail"] == f"https://papers.example.org/papers/{GOOD}/thumb-small.webp?v={etag}"
        assert items["2611.00005"]["thumbnail"] is None
        assert c.get(f"/api/papers/{GOOD}").json()["thumbnail"].endswith(f"thumb-small.webp?v={etag}")
        recent = {i["paper"]["id"]: i["thumbnail"] for i in c.get("/api/papers/search?limit=100").json()}
        assert recent[GOOD] and recent["2611.00003"] is None


def test_a_paper_page_asks_for_its_thumbnail_first_without_writing(db, thumb_settings, pdfs):
    from fastapi.testclient import TestClient

    pks = _papers(db)
    lonely = "2611.00077"  # on no day page: only a page view asks for it
    pdfs.bodies[f"/pdf/{lonely}"] = paper_pdf("Lonely", pages=1)
    from paperfeed.records import PaperRecord
    from paperfeed.store.papers import upsert_records

    with db.session() as session:
        upsert_records(session, [PaperRecord(id=lonely, title="Lonely", abstract="a", source="arxiv")])
    app = make_app(thumb_settings, db)
    with TestClient(app) as c:
        with db.session() as session:
            seq = current(session)
        assert c.get(f"/papers/{lonely}").status_code == 200
        with db.session() as session:
            assert current(session) == seq and session.scalar(select(Thumbnail.paper_pk)) is None  # no write
    wanted: WantedPapers = app.state.thumbnail_wanted
    assert _run(db, thumb_settings, limit=1, wanted=wanted).made == 1
    assert pdfs.paths() == [f"/pdf/{lonely}"] and wanted.snapshot() == []
    assert pks  # the day pages' papers come after


def test_the_job_runs_on_schedule_shows_its_backlog_and_can_be_turned_off(db, thumb_settings, pdfs):
    from paperfeed.jobs.fetch import configured_jobs

    _papers(db)
    env = {"PAPERFEED_DATABASE_URL": thumb_settings.resolved_database_url,
           "PAPERFEED_DATA_DIR": str(thumb_settings.data_dir), "PAPERFEED_FETCH_CATEGORIES": "cs.LG",
           "PAPERFEED_THUMBNAIL_PDF_BASE_URL": pdfs.base, "PAPERFEED_THUMBNAIL_MAX_PDF_BYTES": str(CAP),
           "PAPERFEED_HTTP_MAX_RETRIES": "0", "PAPERFEED_FETCH_SOURCES": "hf", "PAPERFEED_THUMBNAIL_BATCH": "3"}
    runner = CliRunner()
    status = runner.invoke(cli, ["jobs", "status"], env=env, catch_exceptions=False).output
    assert "thumbnails  [every 2 min]  never run" in status
    assert "backlog: 0 made, 10 waiting, 0 in progress, 0 to retry, 0 failed" in status
    ran = runner.invoke(cli, ["jobs", "run", "thumbnails"], env=env, catch_exceptions=False)
    assert ran.exit_code == 0 and "thumbnails: ok (made 0, failed 2, to retry 1" in ran.output
    assert "7 waiting" in ran.output
    ran = runner.invoke(cli, ["thumbnails", "run", "--limit", "20", OLD_STYLE], env=env, catch_exceptions=False)
    assert "made 2, failed 5, to retry 0" in ran.output
    assert pdfs.paths()[2] == f"/pdf/{OLD_STYLE}"  # asked for by id: first
    status = runner.invoke(cli, ["thumbnails", "status"], env=env, catch_exceptions=False).output
    assert "2 made, 0 waiting, 0 in progress, 1 to retry, 7 failed (" in status and "PDF too large (over 300,000 bytes): 2" in status
    off = {**env, "PAPERFEED_THUMBNAILS": "false"}
    status = runner.invoke(cli, ["jobs", "status"], env=off, catch_exceptions=False).output
    assert "thumbnails  [not configured now]" in status and "backlog" not in status
    assert runner.invoke(cli, ["thumbnails", "run"], env=off).exit_code == 1
    assert [job.name for job in configured_jobs(thumb_settings.model_copy(update={"fetch_categories": ["cs.LG"]}))][-1] \
        == "thumbnails"
    assert configured_jobs(thumb_settings.model_copy(update={"fetch_categories": ["cs.LG"], "thumbnails": False,
                                                             "fetch_sources": ["hf"]})) [-1].name == "fetch-hf"


def test_only_http_sources_are_accepted():
    from paperfeed.config import Settings

    assert Settings(thumbnail_pdf_base_url="https://mirror.example.org/pdf").thumbnail_pdf_base_url.endswith("/pdf/")
    with pytest.raises(ValueError, match="http"):
        Settings(thumbnail_pdf_base_url="file:///etc/")


def test_a_very_tall_first_page_is_cut_not_rendered_whole():
    from paperfeed.ingest.thumbnails import LARGE_WIDTH, render_first_page

    narrow = paper_pdf(pages=1).replace(b"/MediaBox [0 0 612 792]", b"/MediaBox [0 0 061 792]")  # 13x taller
    images = render_first_page(narrow)
    assert images.large_size == (LARGE_WIDTH, 2 * LARGE_WIDTH) and images.small_size[1] <= 2 * images.small_size[0]


def test_pdfs_from_arxiv_keep_its_spacing_and_retry_after(db, thumb_settings, pdfs):
    """The default source is arXiv: the polite client spaces requests 3 s apart (across
    processes) and honours Retry-After. A mirror transport sends them to the local server."""
    from paperfeed.jobs.fetch import MirrorTransport

    _papers(db)
    settings = thumb_settings.model_copy(update={"thumbnail_pdf_base_url": "https://arxiv.org/pdf/"})
    sleeps: list[float] = []
    root = pdfs.base.removesuffix("/pdf/")
    with PoliteClient(settings, transport=MirrorTransport(root), sleep=sleeps.append, clock=lambda: 1000.0) as client:
        report = make_thumbnails(db, settings, client, owner="w", clock=pinned.naive_now, limit=3)
    assert (report.made, report.failed, report.retrying) == (0, 2, 1)  # the 503, the withdrawn, the endless one
    assert pdfs.paths() == [f"/pdf/{FLAKY}", f"/pdf/{FLAKY}", "/pdf/2611.00007"]
    assert sleeps == [7.0, 3.0, 3.0]  # Retry-After, then arXiv's spacing before each request
