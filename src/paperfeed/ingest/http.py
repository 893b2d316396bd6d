"""One polite HTTP client for every fetcher.

arXiv asks robots to send at most one request every 3 seconds, over one connection, and
to name themselves with a contact address. ``PoliteClient`` does that for arXiv hosts,
retries only what is worth retrying (timeouts, 429 and 5xx), and honours Retry-After.
Sleep and clock are injectable so tests can check the requested delays without waiting.

The spacing holds across processes too (CLI fetches, several web workers looking up a
submitted paper): arXiv requests take an exclusive lock on a small file in the data
directory that holds the time of the last request.
"""

from __future__ import annotations

import fcntl
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx

from paperfeed.config import Settings

log = logging.getLogger(__name__)

ARXIV_HOSTS = frozenset({"arxiv.org", "export.arxiv.org", "rss.arxiv.org", "oaipmh.arxiv.org"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_BACKOFF = 120.0
MAX_RETRY_AFTER = 900.0  # a longer wait is more likely a misconfigured server than a plan


class FetchError(RuntimeError):
    """A request that failed for good (retries used up, or a status we do not retry)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class BodyTooLarge(FetchError):
    """A response body over the caller's cap; the rest of it was never read."""


class ArxivGate:
    """The time of the last arXiv request, shared by every process using one data directory.

    Holding it (an exclusive ``flock``) is the right to talk to arXiv: one connection at a
    time across processes, as arXiv asks.
    """

    def __init__(self, path: Path):
        self.path = path
        self.last: float | None = None
        self._file = None

    @contextmanager
    def hold(self) -> Iterator["ArxivGate"]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                fh.seek(0)
                self.last, self._file = _float_or_none(fh.read()), fh
                yield self
            finally:
                self._file = None
                fcntl.flock(fh, fcntl.LOCK_UN)

    def stamp(self, when: float) -> None:
        self.last = when
        if self._file is not None:
            self._file.seek(0)
            self._file.truncate()
            self._file.write(repr(when))
            self._file.flush()


class PoliteClient:
    """``httpx.Client`` wrapper: spacing for arXiv hosts, one request at a time, retries.

    ``clock`` must be comparable across processes (wall time), since the last request time
    is shared through the data directory.
    """

    def __init__(
        self,
        settings: Settings,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ):
        self.min_interval = settings.arxiv_min_interval
        self.max_retries = settings.http_max_retries
        self.sleep = sleep
        self.clock = clock
        self._lock = threading.Lock()  # one request at a time within this process
        self._gate = ArxivGate(settings.data_dir / "arxiv-last-request")
        self._client = httpx.Client(
            transport=transport,
            timeout=settings.http_timeout,
            headers={"User-Agent": settings.user_agent},
            follow_redirects=True,
            # a single connection, as arXiv asks
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )

    def __enter__(self) -> "PoliteClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def get(self, url: str, params: dict | None = None, max_bytes: int | None = None) -> httpx.Response:
        """GET with retries; returns the final response (any non-retryable status included).

        With ``max_bytes``, a body that says or turns out to be longer raises ``BodyTooLarge``
        as soon as that is known, without reading the rest (a PDF download, say)."""
        with self._lock:
            if not is_arxiv_host(url):
                return self._get_with_retries(url, params, None, max_bytes)
            with self._gate.hold() as gate:
                return self._get_with_retries(url, params, gate, max_bytes)

    def _get_with_retries(self, url: str, params: dict | None, gate: ArxivGate | None,
                          max_bytes: int | None = None) -> httpx.Response:
        attempt = 0
        while True:
            if gate is not None:
                self._wait_turn(gate)
            try:
                response = self._send(url, params, max_bytes)
            except httpx.TimeoutException as exc:
                attempt = self._next_attempt(attempt, f"timeout: {exc}", url)
                self.sleep(backoff_delay(attempt))
                continue
            except httpx.TransportError as exc:
                # refused connections, DNS failures: retrying at once rarely helps
                raise FetchError(f"{url}: {exc.__class__.__name__}: {exc}") from exc
            if response.status_code not in RETRY_STATUSES:
                return response
            reason = f"HTTP {response.status_code}"
            attempt = self._next_attempt(attempt, reason, url, response.status_code)
            delay = retry_after_seconds(response) or backoff_delay(attempt)
            log.warning("%s from %s; retrying in %.1f s", reason, url, delay)
            self.sleep(delay)

    def _send(self, url: str, params: dict | None, max_bytes: int | None) -> httpx.Response:
        if max_bytes is None:
            return self._client.get(url, params=params)
        with self._client.stream("GET", url, params=params) as response:
            return _read_capped(response, max_bytes)

    def _next_attempt(self, attempt: int, reason: str, url: str, status: int | None = None) -> int:
        if attempt >= self.max_retries:
            raise FetchError(f"{url}: {reason}, gave up after {attempt + 1} attempts", status)
        return attempt + 1

    def _wait_turn(self, gate: ArxivGate) -> None:
        now = self.clock()
        if gate.last is not None:
            # capped, so a clock that jumped backwards cannot stall fetching
            wait = min(self.min_interval, gate.last + self.min_interval - now)
            if wait > 0:
                self.sleep(wait)
                now = self.clock()
        gate.stamp(now)


def _read_capped(response: httpx.Response, max_bytes: int) -> httpx.Response:
    """The response with its body read, up to ``max_bytes`` (decoded) bytes at most."""
    declared = response.headers.get("Content-Length", "")
    if response.status_code == 200 and declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLarge(f"{response.url}: {int(declared):,} bytes, over the cap of {max_bytes:,}", 200)
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > max_bytes:
            raise BodyTooLarge(f"{response.url}: over the cap of {max_bytes:,} bytes", response.status_code)
    # the body is decoded already: the copy must not claim an encoding or the wire length
    headers = [(k, v) for k, v in response.headers.multi_items()
               if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
    return httpx.Response(response.status_code, headers=headers, content=bytes(body), request=response.request)


def is_arxiv_host(url: str) -> bool:
    host = httpx.URL(url).host.lower()
    return host in ARXIV_HOSTS or host.endswith(".arxiv.org")


def _float_or_none(text: str) -> float | None:
    try:
        return float(text) if text.strip() else None
    except ValueError:
        return None  # a damaged file only costs one unspaced request


def backoff_delay(attempt: int) -> float:
    """1, 2, 4, 8 ... seconds, capped."""
    return min(MAX_BACKOFF, 2.0 ** (attempt - 1))


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Retry-After as seconds, from either of its forms (delta-seconds or an HTTP date)."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(MAX_RETRY_AFTER, float(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    # Measured against the server's own Date header when it sent one, so clock skew
    # between us and the server does not matter.
    now = _server_now(response)
    return min(MAX_RETRY_AFTER, max(0.0, (when - now).total_seconds()))


def _server_now(response: httpx.Response) -> datetime:
    date_header = response.headers.get("Date")
    if date_header:
        try:
            server_now = parsedate_to_datetime(date_header)
        except (TypeError, ValueError):
            server_now = None
        if server_now is not None and server_now.tzinfo is not None:
            return server_now
    return datetime.now(timezone.utc)
