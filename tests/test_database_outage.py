"""A database that cannot be reached (issue #11, finding 11): pages and the API answer 503
with Retry-After, and recover by themselves; ``paperfeed serve`` waits for the database at
start for a while, one line per attempt, then gives up with one line and exit 1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import make_url

from community_kit import free_port
from paperfeed.config import Settings
from paperfeed.db import Database, DatabaseUnreachable, wait_for_database
from paperfeed.web.app import create_app

QUIET = {"embed_in_background": False, "secret_key": "test-secret", "base_url": "http://testserver"}


def closed_pg_url() -> str:
    return f"postgresql://postgres@127.0.0.1:{free_port()}/paperfeed"  # nothing listens there


def assert_unavailable(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 503 and page.headers["retry-after"].isdigit()
    assert "text/html" in page.headers["content-type"] and "not reachable" in page.text
    api = client.get("/api/daily_papers")
    assert api.status_code == 503 and api.headers["retry-after"].isdigit()
    assert set(api.json()) == {"error"}
    write = client.post("/api/papers/2611.00001/upvote", headers={"Authorization": "Bearer pf_x"})
    assert write.status_code == 503 and set(write.json()) == {"error"}


@pytest.mark.parametrize("url", ["postgres-closed-port", "sqlite-cannot-open"])
def test_an_unreachable_database_is_a_503_with_retry_after(tmp_path, url):
    if url == "postgres-closed-port":
        url = closed_pg_url()
    else:
        url = f"sqlite:///{tmp_path}/missing-dir/paperfeed.db"
    settings = Settings(data_dir=tmp_path / "data", database_url=url, **QUIET)
    db = Database(settings)
    try:
        assert_unavailable(TestClient(create_app(settings, db), raise_server_exceptions=True))
    finally:
        db.dispose()


class CuttableProxy:
    """A TCP forwarder to the database that a test can cut (every connection closed, the port
    refusing) and restore, as a network outage or a database restart would."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(32)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        listener, self.listener = self.listener, None
        if listener is not None:
            listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self.lock:
            conns, self.conns = self.conns, []
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


@pytest.fixture
def proxied_pg(postgres_url, tmp_path):
    url = make_url(postgres_url)
    proxy = CuttableProxy(url.host or "127.0.0.1", url.port or 5432)
    proxy.restore()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    yield proxy, Settings(data_dir=tmp_path / "data", database_url=proxied, **QUIET)
    proxy.cut()


def test_an_outage_in_the_middle_gives_503_and_the_site_recovers(proxied_pg):
    proxy, settings = proxied_pg
    db = Database(settings)
    client = TestClient(create_app(settings, db), raise_server_exceptions=True)
    try:
        assert client.get("/api/papers/2611.99999").status_code == 404  # reached the database
        proxy.cut()
        assert_unavailable(client)
        proxy.restore()
        assert client.get("/api/papers/2611.99999").status_code == 404
        assert client.get("/about").status_code == 200
    finally:
        db.dispose()


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_start_up_wait_retries_until_its_time_is_up(tmp_path):
    settings = Settings(data_dir=tmp_path, database_url=closed_pg_url())
    clock, lines = FakeClock(), []
    with pytest.raises(DatabaseUnreachable) as caught:
        wait_for_database(settings, 5.0, lines.append, sleep=clock.sleep, clock=clock)
    assert clock.now == 5.0 and len(lines) == 3  # tries at 0, 2, 4 and 5 s
    assert all(line.startswith("database not reachable (attempt ") for line in lines)
    message = str(caught.value)
    assert "tried 4 times over 5 s" in message and "\n" not in message


def paperfeed_serve(env: dict, port: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "paperfeed", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def serve_env(tmp_path, url: str, wait: float) -> dict:
    return {**os.environ, "PAPERFEED_DATABASE_URL": url, "PAPERFEED_DATA_DIR": str(tmp_path / "data"),
            "PAPERFEED_EMBED_IN_BACKGROUND": "false", "PAPERFEED_SECRET_KEY": "test-secret",
            "PAPERFEED_DATABASE_CONNECT_WAIT_SECONDS": str(wait)}


def test_serve_gives_up_on_an_unreachable_database_with_one_line(tmp_path):
    proc = paperfeed_serve(serve_env(tmp_path, closed_pg_url(), 1.5), free_port())
    _, err = proc.communicate(timeout=60)
    lines = err.strip().splitlines()
    assert proc.returncode == 1 and "Traceback" not in err, err
    assert lines[0].startswith("database not reachable (attempt 1: ") and "Connection refused" in lines[0]
    assert lines[-1].startswith("Error: cannot reach the database at postgresql://postgres@127.0.0.1:")
    assert len(lines) <= 3, err


def test_serve_starts_once_the_database_comes_up(proxied_pg, tmp_path):
    proxy, settings = proxied_pg
    proxy.cut()
    port = free_port()
    proc = paperfeed_serve(serve_env(tmp_path, settings.database_url, 60), port)
    try:
        _wait_for(lambda: proc.poll() is not None or "attempt 1" in _peek_stderr(proc))
        assert proc.poll() is None, proc.stderr.read()
        proxy.restore()
        _wait_for(lambda: _answers(port) or proc.poll() is not None, timeout=60)
        assert _answers(port)
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


_stderr_seen: dict[int, str] = {}


def _peek_stderr(proc: subprocess.Popen) -> str:
    """The first line of stderr (blocks until there is one; the caller's deadline covers it)."""
    if proc.pid not in _stderr_seen:
        _stderr_seen[proc.pid] = proc.stderr.readline()
    return _stderr_seen[proc.pid]


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/about", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def _wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        time.sleep(0.05)
