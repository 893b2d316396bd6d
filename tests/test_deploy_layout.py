"""The N-machine layout of docs/deploy.md, run on this machine: two web processes and one
worker, each with its own data directory, over the test PostgreSQL, fetching from a local
server that replays recorded arXiv and Hugging Face responses.

The worker fetches once; neither web node fetches; both serve what it fetched, each from
its own search index, and both are ready. The dates in the answers come from the recorded
feeds, never from the clock.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest
from sqlalchemy import select

from paperfeed.models.jobs import JobRun
from replay_server import ReplayServer
from test_health import _free_port, _wait_until_up

ANNOUNCED = "2609.26811"  # in the recorded announcement feed of 2026-09-24


def node_env(settings, data_dir, **extra) -> dict:
    env = {**os.environ, "PAPERFEED_DATABASE_URL": settings.resolved_database_url,
           "PAPERFEED_DATA_DIR": str(data_dir), "PAPERFEED_SECRET_KEY": "one-secret-for-every-node",
           "PAPERFEED_EMBED_IN_BACKGROUND": "false", "PAPERFEED_THUMBNAILS": "false", **extra}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


@pytest.mark.parametrize("backend", ["postgres"])
def test_two_web_nodes_and_a_worker_over_one_postgresql(settings, db, tmp_path):
    processes = []
    with ReplayServer() as replay:
        worker_env = node_env(settings, tmp_path / "worker", PAPERFEED_FETCH_CATEGORIES="cs.LG,cs.CL",
                              PAPERFEED_FETCH_MIRROR_URL=replay.url, PAPERFEED_JOB_CHECK_SECONDS="0.5")
        ports = [_free_port(), _free_port()]
        try:
            for i, port in enumerate(ports):
                web_env = node_env(settings, tmp_path / f"web{i}", PAPERFEED_RUN_JOBS_IN_WEB="false",
                                   PAPERFEED_FETCH_CATEGORIES="cs.LG,cs.CL", PAPERFEED_FETCH_MIRROR_URL=replay.url)
                processes.append(_start(["serve", "--port", str(port)], web_env))
            processes.append(_start(["worker"], worker_env))
            for port, proc in zip(ports, processes):
                _wait_until_up(f"http://127.0.0.1:{port}", proc)
            _wait_for_jobs(db, {"fetch-arxiv", "fetch-hf"})
            answers = [_ask(port) for port in ports]
        finally:
            for proc in processes:
                proc.terminate()
            for proc in processes:
                proc.wait(timeout=30)
        fetched = sorted(replay.paths())
    assert fetched == ["/api/daily_papers", "/rss/cs.LG+cs.CL"]  # once, by the worker
    assert answers[0] == answers[1]
    day_ids, search_ids, ready, about = answers[0]
    assert ANNOUNCED in day_ids and ANNOUNCED in search_ids
    assert ready == "ready" and "fetch-arxiv" in about
    for node in ("web0", "web1", "worker"):  # each node keeps its own derived data, never the secret
        assert not (tmp_path / node / "secret_key").exists()
    assert (tmp_path / "web0" / "index").is_dir() and (tmp_path / "web1" / "index").is_dir()


def _start(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "paperfeed", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_for_jobs(db, names: set[str], seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with db.session() as s:
            done = {r.name for r in s.scalars(select(JobRun).where(JobRun.last_status == "ok"))}
        if names <= done:
            return
        time.sleep(0.3)
    raise AssertionError(f"jobs did not finish: {names - done}")


def _ask(port: int):
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
        day = http.get("/api/daily_papers", params={"date": "2026-09-24", "limit": 100}).json()
        found = http.get("/api/papers/search",
                         params={"q": "Drift Contract spectral updates", "mode": "keyword"}).json()
        ready = http.get("/readyz").json()["status"]
        about = http.get("/about").text
    return ({item["paper"]["id"] for item in day}, [item["paper"]["id"] for item in found][:3], ready,
            "fetch-arxiv" if "fetch-arxiv" in about else "")
