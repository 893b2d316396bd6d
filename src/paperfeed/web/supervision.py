"""Worker processes of ``paperfeed serve --workers N`` die with the process that started them.

uvicorn's workers inherit the listening socket. When the parent is killed outright
(``kill -9``, the OOM killer) nothing tells them, so they kept serving the port and a
restart failed with "Address already in use". Each worker now asks the kernel for a
SIGTERM when its parent dies (Linux ``PR_SET_PDEATHSIG``), and a watchdog thread checks
the parent pid once a second, for other systems and as a fallback. SIGTERM is uvicorn's
graceful stop: the worker closes the socket, finishes its requests and exits.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import sys
import threading

log = logging.getLogger(__name__)

SUPERVISOR_ENV = "PAPERFEED_SUPERVISOR_PID"  # set by `serve` for its workers
PR_SET_PDEATHSIG = 1
WATCH_INTERVAL_SECONDS = 1.0


def mark_as_supervisor() -> None:
    """In ``serve``, before uvicorn starts the workers: they inherit the environment."""
    os.environ[SUPERVISOR_ENV] = str(os.getpid())


def die_with_supervisor() -> None:
    """In a worker: stop when the ``serve`` process that started it is gone. A process not
    started by ``serve`` (plain ``uvicorn --factory``, tests) is left alone."""
    supervisor = os.environ.get(SUPERVISOR_ENV, "")
    if not supervisor.isdigit():
        return
    _request_parent_death_signal()
    if os.getppid() != int(supervisor):  # it died before the request above took effect
        _stop("the serve process is gone")
        return
    threading.Thread(target=_watch, args=(int(supervisor),), name="supervisor-watch", daemon=True).start()


def _request_parent_death_signal() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %s", ctypes.get_errno())
    except OSError as exc:  # no libc to load: the watchdog still covers it
        log.warning("cannot ask for a parent-death signal: %s", exc)


def _watch(supervisor: int) -> None:
    stopped = threading.Event()
    while not stopped.wait(WATCH_INTERVAL_SECONDS):
        if os.getppid() != supervisor:
            _stop("the serve process is gone")
            return


def _stop(reason: str) -> None:
    log.warning("worker %s stopping: %s", os.getpid(), reason)
    os.kill(os.getpid(), signal.SIGTERM)
