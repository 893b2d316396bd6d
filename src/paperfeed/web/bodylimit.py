"""A cap on request bodies, enforced before anything buffers one (the CSRF middleware reads
whole form bodies to find the token, so without this an anonymous POST of any size was
held in memory).

A declared Content-Length over the cap is refused at once, unread. A chunked body has no
length up front, so its chunks are counted as they arrive and reading stops at the cap.
"""

from __future__ import annotations

import json

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """Raised from receive(). An HTTPException, so a route that is reading its body when the
    cap is hit answers through the app's error handlers (FastAPI turns other exceptions from
    body parsing into a 400)."""

    def __init__(self, limit: int):
        super().__init__(413, f"The request body is larger than this server accepts ({limit:,} bytes).")


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and (not declared.strip().isdigit() or int(declared) > self.max_bytes):
            await _refuse(scope, send, 413 if declared.strip().isdigit() else 400,
                          BodyTooLarge(self.max_bytes).detail if declared.strip().isdigit()
                          else "The Content-Length header is not a number.")
            return
        started = False
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge as exc:  # raised where no handler answered it (e.g. in the CSRF middleware)
            if started:
                raise
            await _refuse(scope, send, 413, exc.detail)


async def _refuse(scope: Scope, send: Send, status: int, message: str) -> None:
    if scope.get("path", "").startswith("/api/"):
        body, ctype = json.dumps({"error": message}).encode(), b"application/json"
    else:
        body, ctype = message.encode(), b"text/plain; charset=utf-8"
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", ctype), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
