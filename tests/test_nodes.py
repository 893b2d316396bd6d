"""Several real `paperfeed serve` nodes, each with its own data dir, over one PostgreSQL.

What an operator of a multi-machine instance relies on: a paper imported through one
node is found on the others within seconds; embedding is shared (each paper computed
once) and every node serves the vectors; a damaged index neither kills a node nor
empties its answers, and heals itself; a vote moved between papers changes the ETag.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import httpx
import pytest

from paperfeed.config import Settings
from paperfeed.db import Database
from paperfeed.records import EntryRecord, PaperRecord
from paperfeed.models import User
from paperfeed.store.papers import get_paper, upsert_records
from paperfeed.store.votes import add_vote, remove_vote

from conftest import _truncate_all

pytestmark = pytest.mark.slow
SRC = Path(__file__).parent.parent / "src"
DAY = date(2026, 5, 4)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    def __init__(self, name: str, root: Path, database_url: str, embed: bool):
        self.name = name
        self.data_dir = root / name
        self.data_dir.mkdir()
        self.port = _free_port()
        self.env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")])),
                    "PAPERFEED_DATA_DIR": str(self.data_dir), "PAPERFEED_DATABASE_URL": database_url,
                    "PAPERFEED_SECRET_KEY": "nodes-test", "PAPERFEED_EMBED_IN_BACKGROUND": str(embed).lower(),
                    "PAPERFEED_INDEX_SYNC_SECONDS": "0.3", "PAPERFEED_VECTOR_REFRESH_SECONDS": "1",
                    "PAPERFEED_EMBEDDING_THREADS": "1"}
        self.log_path = self.data_dir / "node.log"
        self.proc: subprocess.Popen | None = None

    def start(self, wait: bool = True) -> "Node":
        log = open(self.log_path, "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "paperfeed", "-v", "serve", "--port", str(self.port)],
                                     env=self.env, stdout=log, stderr=subprocess.STDOUT)
        if wait:
            self.wait_up()
        return self

    def wait_up(self) -> None:
        _wait(lambda: self._up(), 90, f"node {self.name} did not start:\n{self.log()}")

    def _up(self) -> bool:
        try:
            return httpx.get(self.url("/api/papers/search?q=x"), timeout=2).status_code == 200
        except httpx.HTTPError:
            assert self.proc.poll() is None, f"node {self.name} exited:\n{self.log()}"
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def search(self, q: str, mode: str = "keyword") -> httpx.Response:
        return httpx.get(self.url("/api/papers/search"), params={"q": q, "mode": mode, "limit": 50}, timeout=30)

    def log(self) -> str:
        return self.log_path.read_text()

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "paperfeed", *args], env=self.env, capture_output=True,
                              text=True, timeout=300, check=True)


def _wait(ready, seconds: float, message: str):
    deadline = time.monotonic() + seconds
    while True:
        result = ready()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(message)
        time.sleep(0.1)


def _ids(response: httpx.Response) -> list[str]:
    return [item["paper"]["id"] for item in response.json()]


def _write_jsonl(path: Path, papers: list[dict]) -> Path:
    path.write_text("".join(json.dumps(p) + "\n" for p in papers))
    return path


def _paper(pid: str, title: str, abstract: str) -> dict:
    return {"id": pid, "title": title, "abstract": abstract, "authors": ["Ada Lovelace"], "categories": ["cs.LG"],
            "published": "2026-05-04"}


@pytest.fixture(scope="module")
def cluster(postgres_url, tmp_path_factory):
    """Nodes A and B (no embedding), on a database emptied for this module."""
    root = tmp_path_factory.mktemp("nodes")
    db = Database(Settings(data_dir=root, database_url=postgres_url))
    _truncate_all(db)
    nodes = {name: Node(name, root, postgres_url, embed=False) for name in "AB"}
    try:
        for node in nodes.values():
            node.start()
        yield {"db": db, "root": root, "url": postgres_url, **nodes}
    finally:
        for node in nodes.values():
            node.stop()
        db.dispose()


def test_an_import_through_node_a_is_found_on_node_b_within_5_s(cluster):
    a, b = cluster["A"], cluster["B"]
    papers = [_paper(f"2605.{i:05d}", f"Okapi gait analysis number {i}", "Legged locomotion of forest giraffids.")
              for i in range(1, 41)]
    a.cli("import", "--no-progress", str(_write_jsonl(cluster["root"] / "okapi.jsonl", papers)))
    started = time.monotonic()
    _wait(lambda: len(_ids(b.search("okapi"))) == 40, 5, f"B did not find A's import in 5 s:\n{b.log()}")
    assert time.monotonic() - started < 5
    assert b.search("okapi").headers.get("X-Search-Notice") is None


def test_a_vote_moved_between_papers_changes_the_etag(cluster):
    db, b = cluster["db"], cluster["B"]
    with db.session() as session:
        upsert_records(session, [PaperRecord(id=f"2605.9000{i}", title=f"Voted paper {i}", source="api",
                                             entries=[EntryRecord(day=DAY, source="auto")]) for i in (1, 3)])
        user = User(username="mover", username_key="mover", email="mover@example.org", password_hash="-")
        session.add(user)
        session.flush()
        add_vote(session, user, get_paper(session, "2605.90001"))
    url = b.url(f"/api/daily_papers?date={DAY.isoformat()}&view=all")  # the unvoted paper too
    before = httpx.get(url, timeout=10)
    assert before.status_code == 200
    etag = before.headers["ETag"]
    assert httpx.get(url, headers={"If-None-Match": etag}, timeout=10).status_code == 304
    with db.session() as session:  # the same total, on another paper
        user = session.query(User).filter_by(username_key="mover").one()
        remove_vote(session, user, get_paper(session, "2605.90001"))
        add_vote(session, user, get_paper(session, "2605.90003"))
    after = httpx.get(url, headers={"If-None-Match": etag}, timeout=10)
    assert after.status_code == 200 and after.headers["ETag"] != etag
    counts = {item["paper"]["id"]: item["paper"]["upvotes"] for item in after.json()}
    assert counts["2605.90001"] == 0 and counts["2605.90003"] == 1


def test_a_truncated_index_file_degrades_b_then_b_repairs_itself(cluster):
    b = cluster["B"]
    _wait(lambda: len(_ids(b.search("okapi"))) == 40, 10, "B has not indexed the okapi papers")
    index = b.data_dir / "index"
    root = index / "keyword"
    with open(index / "write.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # keep B's sync loop from repairing before we have looked
        live = root / (root / "CURRENT").read_text().strip()
        victim = max((p for p in live.iterdir() if p.is_file() and p.suffix != ".json"), key=lambda p: p.stat().st_size)
        os.truncate(victim, min(1000, victim.stat().st_size // 2))
        degraded = b.search("okapi gait")
        assert degraded.status_code == 200
        assert "being rebuilt" in degraded.headers["X-Search-Notice"]
        assert len(_ids(degraded)) == 40  # answered from the database, not "No results"
        page = httpx.get(b.url("/search"), params={"q": "okapi"}, timeout=10)
        assert page.status_code == 200 and "being rebuilt" in page.text
        assert b.proc.poll() is None
    _wait(lambda: b.search("okapi gait").headers.get("X-Search-Notice") is None, 20,
          f"B did not repair its index:\n{b.log()}")
    assert len(_ids(b.search("okapi gait"))) == 40
    assert list(root.glob(f"{live.name}.damaged-*"))
    assert b.proc.poll() is None


def test_two_embedding_nodes_compute_each_paper_once_and_a_third_serves_hybrid(cluster):
    b = cluster["B"]  # embeds nothing itself
    papers = [_paper(f"2606.{i:05d}", f"Study {i} of tapir foraging", f"Tapirs browse fruit {i} in the forest.")
              for i in range(300)]
    b.cli("import", "--no-progress", str(_write_jsonl(cluster["root"] / "tapir.jsonl", papers)))
    embedders = [Node(name, cluster["root"], cluster["url"], embed=True) for name in ("E1", "E2")]
    try:
        for node in embedders:  # together, so that both compete for the same papers
            node.start(wait=False)
        for node in embedders:
            node.wait_up()
        total = 300 + 40 + 2  # everything in the database: this module's earlier papers too
        _wait(lambda: b.search("tapir fruit", mode="hybrid").headers["X-Search-Mode"] == "hybrid", 300,
              "B never answered hybrid:\n" + "\n".join(n.log()[-3000:] for n in embedders))
    finally:
        for node in embedders:
            node.stop()
    computed = [sum(int(n) for n in re.findall(r"embedded (\d+) papers \(model calls\)", node.log()))
                for node in embedders]
    assert sum(computed) == total, computed
    assert all(computed), f"one node did all the work: {computed}"
    hybrid = b.search("tapir fruit", mode="hybrid")
    assert hybrid.headers.get("X-Search-Notice") is None and len(_ids(hybrid)) == 50
