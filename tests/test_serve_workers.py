"""``paperfeed serve --workers 2``: when the parent is killed outright, its workers stop too,
so nothing keeps the port and a restart on it succeeds (issue #11, finding 10)."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from community_kit import free_port

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def serve(tmp_path: Path, port: int, stderr=subprocess.PIPE) -> subprocess.Popen:
    env = {**os.environ, "PAPERFEED_DATA_DIR": str(tmp_path / "data"), "PAPERFEED_EMBED_IN_BACKGROUND": "false",
           "PAPERFEED_SECRET_KEY": "test-secret"}
    return subprocess.Popen([sys.executable, "-m", "paperfeed", "serve", "--workers", "2", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=stderr)


def workers_of(parent: int) -> list[int]:
    """uvicorn's worker processes: children of ``parent`` started by multiprocessing's spawn."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (proc / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == parent and b"spawn_main" in cmdline:
            found.append(int(proc.name))
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/about", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.1)


def test_workers_die_with_a_killed_parent_and_the_port_is_free_again(tmp_path):
    port = free_port()
    parent = serve(tmp_path, port)
    workers: list[int] = []
    try:
        wait_for(lambda: answers(port) or parent.poll() is not None, 120, "the server answers")
        assert parent.poll() is None, parent.stderr.read().decode()
        wait_for(lambda: len(workers_of(parent.pid)) == 2, 30, "both workers are up")
        workers = workers_of(parent.pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        wait_for(lambda: not any(alive(pid) for pid in workers), 30, "the workers have exited")
        assert not listening(port)
        again = serve(tmp_path, port)
        try:
            wait_for(lambda: answers(port) or again.poll() is not None, 120, "the restarted server answers")
            assert again.poll() is None, again.stderr.read().decode()
        finally:
            again.terminate()
            again.wait(timeout=60)
    finally:
        for pid in [parent.pid, *workers]:  # nothing of ours may outlive the test
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


WATCHED_CHILD = """
import time
from paperfeed.web import supervision
supervision._request_parent_death_signal = lambda: None  # leave it to the watchdog thread
supervision.die_with_supervisor()
print("watching", flush=True)
time.sleep(120)
"""
MIDDLE = """
import os, subprocess, sys
env = {**os.environ, "PAPERFEED_SUPERVISOR_PID": str(os.getpid())}
child = subprocess.Popen([sys.executable, "-c", sys.argv[1]], env=env)
print(child.pid, flush=True)
child.wait()
"""


def test_without_the_kernel_signal_the_watchdog_stops_the_worker():
    middle = subprocess.Popen([sys.executable, "-c", MIDDLE, WATCHED_CHILD], stdout=subprocess.PIPE, text=True)
    child = int(middle.stdout.readline())
    try:
        assert middle.stdout.readline().strip() == "watching"  # the parent was alive at start
        middle.send_signal(signal.SIGKILL)
        middle.wait()
        wait_for(lambda: not alive(child), 30, "the orphaned worker has exited")
    finally:
        if alive(child):
            os.kill(child, signal.SIGKILL)


def test_each_failed_request_is_logged_once_with_time_level_and_logger(tmp_path):
    # A table gone under a running server: every query on it is a bug-class error (a 500),
    # not an outage. Each must give one traceback, not one from the app and one from uvicorn.
    port = free_port()
    log_path = tmp_path / "serve.log"  # a file, not a pipe: 8 tracebacks would fill a pipe and stall
    with log_path.open("wb") as log_file:
        parent = serve(tmp_path, port, stderr=log_file)
    try:
        wait_for(lambda: answers(port) or parent.poll() is not None, 120, "the server answers")
        wait_for(lambda: len(workers_of(parent.pid)) == 2, 30, "both workers are up")
        conn = sqlite3.connect(tmp_path / "data" / "paperfeed.db")
        conn.execute("ALTER TABLE paper RENAME TO paper_gone")
        conn.commit()
        conn.close()
        statuses = [httpx.get(f"http://127.0.0.1:{port}/api/papers/2401.{n:05d}", timeout=60).status_code
                    for n in range(1, 9)]
        assert statuses == [500] * 8
    finally:
        parent.terminate()
        parent.wait(timeout=60)
    log = log_path.read_text()
    records = re.split(r"\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ )", log)  # a traceback stays in its record
    assert sum("Traceback" in record for record in records) == 8, log
    assert "Exception in ASGI application" not in log
    unhandled = [line for line in log.splitlines() if "unhandled error on GET /api/papers/" in line]
    assert len(unhandled) == 8
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ ERROR paperfeed\.web\.errors: ", line)
               for line in unhandled), unhandled
