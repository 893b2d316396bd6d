"""/healthz, /readyz and /metrics: on both backends, with a database that is down, with a
schema behind the code, and with `serve --workers 2` adding up both workers' counts."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import datetime

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from paperfeed.config import Settings
from paperfeed.db import Database
from paperfeed.jobs.fetch import Job
from paperfeed.jobs.runner import JobRunner
from paperfeed.jobs.schedule import EveryHours
from paperfeed.web.app import create_app
from test_jobs import NoClient  # a fetch client for jobs that fetch nothing
from web_helpers import load_demo

NOW = datetime(2026, 6, 10, 9, 30)


@pytest.fixture
def client(settings, db):
    load_demo(db, lines=50)
    with TestClient(create_app(settings, db)) as c:
        yield c


def test_healthz_and_readyz_when_all_is_well(client, db):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.headers["cache-control"] == "no-store"
    body = ready.json()
    assert body["status"] == "ready" and body["database"]["ok"] is True
    assert body["migrations"]["ok"] and body["migrations"]["current"] == body["migrations"]["head"]
    index = body["index"]
    assert index["papers"] == paper_count(db) and index["embedded"] == 0
    assert index["keyword_lag"] == index["papers"] - index["keyword_docs"]
    for path in ("/healthz", "/readyz", "/metrics"):
        assert path not in client.get("/openapi.json").json()["paths"]


def test_a_database_that_is_down_is_alive_but_not_ready(tmp_path):
    settings = Settings(data_dir=tmp_path, database_url="postgresql://nobody@127.0.0.1:9/nowhere",
                        secret_key="s", embed_in_background=False)
    database = Database(settings)
    with TestClient(create_app(settings, database), raise_server_exceptions=False) as c:
        assert c.get("/healthz").status_code == 200
        ready = c.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["status"] == "not ready" and ready.json()["database"]["ok"] is False
    assert "OperationalError" in ready.json()["error"]


def test_a_schema_behind_the_code_is_not_ready(sqlite_settings, sqlite_db):
    with sqlite_db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0005_entry_index'"))
    with TestClient(create_app(sqlite_settings, sqlite_db)) as c:
        ready = c.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["migrations"] == {"current": "0005_entry_index", "head": "0009_foryou", "ok": False}


def test_a_schema_from_a_newer_release_stays_ready(sqlite_settings, sqlite_db):
    """In a rolling upgrade, nodes not yet upgraded keep serving after `db upgrade`."""
    with sqlite_db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099_from_the_future'"))
    with TestClient(create_app(sqlite_settings, sqlite_db)) as c:
        ready = c.get("/readyz")
    assert ready.status_code == 200 and ready.json()["migrations"]["ahead"] is True


def sample(text_: str, series: str) -> float:
    """One series' value in the exposition text (0 when absent)."""
    for line in text_.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


PAPER_ROUTE = 'method="GET",route="/papers/{paper_id:path}"'


def test_metrics_count_requests_by_route_template_and_read_jobs_from_the_database(client, db, settings):
    def boom(ctx):
        raise RuntimeError("no network")

    JobRunner(db, settings, jobs=[Job("boom", EveryHours(6), boom)], client_factory=NoClient).run_due(NOW)
    before = client.get("/metrics").text  # counters are per process: compare before and after
    for paper in ("2503.11685", "9999.99998", "9999.99999"):
        client.get(f"/papers/{paper}")
    client.get("/static/style.css")
    client.get("/api/papers/search", params={"q": "attention", "mode": "keyword"})
    client.get("/no/such/page")
    metrics = client.get("/metrics")
    after, lines = metrics.text, metrics.text.splitlines()
    assert metrics.headers["content-type"].startswith("text/plain")

    def grew(series: str) -> float:
        return sample(after, series) - sample(before, series)

    assert grew(f'paperfeed_http_requests_total{{{PAPER_ROUTE},status="200"}}') == 1
    assert grew(f'paperfeed_http_requests_total{{{PAPER_ROUTE},status="404"}}') == 2
    assert grew(f"paperfeed_http_request_duration_seconds_count{{{PAPER_ROUTE}}}") == 3
    assert grew(f'paperfeed_http_request_duration_seconds_bucket{{le="+Inf",{PAPER_ROUTE}}}') == 3
    assert grew('paperfeed_http_requests_total{method="GET",route="/static/{path}",status="200"}') == 1
    assert grew('paperfeed_http_requests_total{method="GET",route="unmatched",status="404"}') == 1
    assert grew('paperfeed_api_searches_total{mode="keyword"}') == 1
    assert "/papers/2503.11685" not in after  # raw paths never become labels
    assert 'paperfeed_job_runs_total{job="boom"} 1.0' in lines
    assert 'paperfeed_job_failures_total{job="boom"} 1.0' in lines
    assert 'paperfeed_job_consecutive_failures{job="boom"} 1.0' in lines
    papers = paper_count(db)
    assert f"paperfeed_papers {papers:.1f}" in lines and f"paperfeed_embedding_backlog {papers:.1f}" in lines
    assert "paperfeed_digests_sent_total 0.0" in lines
    assert f"paperfeed_index_keyword_docs {papers:.1f}" in lines and "paperfeed_index_keyword_lag 0.0" in lines


def paper_count(db) -> int:
    from sqlalchemy import func, select

    from paperfeed.models import Paper

    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Paper).where(Paper.withdrawn.is_(False)))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_with_two_workers_adds_up_their_metrics(sqlite_settings):
    port = _free_port()
    env = {**os.environ, "PAPERFEED_DATABASE_URL": sqlite_settings.resolved_database_url,
           "PAPERFEED_DATA_DIR": str(sqlite_settings.data_dir), "PAPERFEED_EMBED_IN_BACKGROUND": "false",
           "PAPERFEED_SECRET_KEY": "s"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen([sys.executable, "-m", "paperfeed", "serve", "--port", str(port), "--workers", "2"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, proc)
        with httpx.Client(base_url=base) as http:  # a new connection per request spreads them over workers
            for _ in range(20):
                assert http.get("/healthz", headers={"Connection": "close"}).status_code == 200
            text_ = http.get("/metrics").text
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    # 20 and the one that saw it up, whichever worker answered each
    assert 'paperfeed_http_requests_total{method="GET",route="/healthz",status="200"} 21.0' in text_, text_
    files = list((sqlite_settings.data_dir / "metrics").glob("*.db"))
    pids = {f.stem.rsplit("_", 1)[-1] for f in files}
    assert len(pids) >= 1 and files


def _wait_until_up(base: str, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode()
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("serve did not come up")


def test_a_web_node_that_does_not_embed_keeps_its_own_index_current(sqlite_settings, sqlite_db):
    load_demo(sqlite_db, lines=30)
    settings = sqlite_settings.model_copy(update={"index_sync_in_background": True, "index_sync_seconds": 0.2})
    with TestClient(create_app(settings, sqlite_db)) as c:
        for _ in range(100):  # no search is made: only the sync loop indexes
            index = c.get("/readyz").json()["index"]
            if index["keyword_docs"]:
                break
            time.sleep(0.1)
    assert index["keyword_docs"] == index["papers"] == paper_count(sqlite_db) and index["keyword_lag"] == 0
