"""Anonymous reads served from memory, keyed by the database's change sequence.

A day, week or month page, a paper page or a read-API answer depends on the data only (even
trending is measured from the data's newest day), so for a visitor without a session it is
the same bytes until the change sequence moves: every vote, comment, import or embedding
moves it, so a change shows at once, on every node. The one per-visitor part of a page is
the CSRF token; it is stored as a placeholder and put back for each request.

Not cached: signed-in visitors (their votes show), search (it also depends on how far this
node's index has got, which the sequence does not say), non-GET requests, and answers that
set headers of their own beyond the usual ones.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from paperfeed.store.changes import current as current_seq

# thumbnails are left to browsers (cached a year by versioned URL), not kept beside the pages;
# /c/: public and unlisted collections (a private one is a 404 to anonymous visitors, never stored)
CACHED = re.compile(r"^/(?:$|papers/(?!trending$)(?!.*/thumb-\w+\.webp$)|c/|api/daily_papers$|api/papers/(?!search$))")
PLACEHOLDER = b"\x00csrf\x00"
KEEP_HEADERS = {b"content-type", b"content-length", b"etag", b"last-modified", b"cache-control", b"x-total-count",
                b"x-view", b"set-cookie"}


class PageCache:
    def __init__(self, app: ASGIApp, db, maxsize: int = 512):
        self.app, self.db, self.maxsize = app, db, maxsize
        self._entries: OrderedDict[tuple, tuple[int, list, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _cacheable(scope):
            return await self.app(scope, receive, send)
        try:  # in a thread: a database that is slow to answer must not hold up the event loop
            seq = await run_in_threadpool(self._sequence)
        except SQLAlchemyError:  # the database is away: let the app answer (503) as it does
            return await self.app(scope, receive, send)
        key = (scope["path"], scope.get("query_string", b""), seq)
        token = (scope.get("state") or {}).get("csrf_token", "").encode()
        hit = self._get(key)
        if hit is not None:
            return await _replay(send, *hit, token)
        await self.app(scope, receive, self._recorder(send, key, token))

    def _sequence(self) -> int:
        with self.db.session() as session:
            return current_seq(session)

    def _recorder(self, send: Send, key: tuple, token: bytes) -> Send:
        start: dict = {}
        body: list[bytes] = []

        async def record(message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))
                if not message.get("more_body") and _storable(start):
                    whole = b"".join(body)
                    self._put(key, (start["status"], _kept(start["headers"]),
                                    whole.replace(token, PLACEHOLDER) if token else whole))
            await send(message)

        return record

    def _get(self, key: tuple):
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
            return hit

    def _put(self, key: tuple, value) -> None:
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)


def _cacheable(scope: Scope) -> bool:
    if scope["type"] != "http" or scope["method"] != "GET" or not CACHED.match(scope["path"]):
        return False
    headers = dict(scope.get("headers") or ())
    cookie = headers.get(b"cookie", b"")
    # a session or a token makes the answer personal; a conditional GET is answered by the app (304)
    return b"pf_session=" not in cookie and b"authorization" not in headers and b"if-none-match" not in headers


def _storable(start: dict) -> bool:
    return start.get("status") == 200 and all(k.lower() in KEEP_HEADERS for k, _ in start.get("headers", ()))


def _kept(headers) -> list:
    """The answer's own headers; a Set-Cookie belongs to the visitor who caused it, and the
    length is the replayed body's."""
    return [(k, v) for k, v in headers if k.lower() not in (b"set-cookie", b"content-length")]


async def _replay(send: Send, status: int, headers: list, body: bytes, token: bytes) -> None:
    if token:
        body = body.replace(PLACEHOLDER, token)
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
