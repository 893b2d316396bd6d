"""HTTP basics for every response: HEAD on every GET route, gzip, cache headers for static
files, and /favicon.ico.

- HEAD is answered as the GET it stands for, minus the body, so its headers (length, ETag,
  type) are exactly the GET's; FastAPI routes declared for GET otherwise answer 405.
- gzip (level 6: nearly level 9's ratio at a fraction of the CPU) for anything of 500 bytes
  or more, except formats that are already compressed (fonts, images).
- ``/static/vendor/*`` changes only with a paperfeed release: cached for a week, and for a
  year (``immutable``) when the URL carries a version (``asset_url`` adds one: the file's
  hash). Our own CSS and JS are revalidated on every use (a cheap 304 by ETag).
"""

from __future__ import annotations

import functools
import hashlib
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from starlette.datastructures import MutableHeaders
from starlette.middleware.gzip import GZipMiddleware

STATIC_DIR = Path(__file__).parent / "static"
VERSIONED = "public, max-age=31536000, immutable"
VENDOR = "public, max-age=604800"
OWN = "no-cache"

router = APIRouter(include_in_schema=False)


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    return FileResponse(STATIC_DIR / "favicon.ico", media_type="image/x-icon",
                        headers={"Cache-Control": "public, max-age=86400"})


def install(app: FastAPI) -> None:
    """Middleware outermost last: HEAD becomes GET before anything else looks at it."""
    app.add_middleware(StaticCacheControl)
    app.add_middleware(GZipMiddleware, minimum_size=500, compresslevel=6)
    app.add_middleware(HeadAsGet)
    app.include_router(router)
    app.state.templates.env.globals["asset_url"] = asset_url


@lru_cache(maxsize=256)
@functools.lru_cache(maxsize=64)
def asset_url(path: str) -> str:
    """``/static/<path>?v=<hash>``: a URL that changes whenever the file does, so it can be
    cached for a year. Hashed once per process: the files ship with the package."""
    digest = hashlib.sha256((STATIC_DIR / path).read_bytes()).hexdigest()[:10]
    return f"/static/{path}?v={digest}"


class HeadAsGet:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "HEAD":
            return await self.app(scope, receive, send)

        async def send_headers_only(message):
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        scope["method"] = "GET"  # in place, so the metrics middleware outside sees the matched route
        await self.app(scope, receive, send_headers_only)


class StaticCacheControl:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith("/static/"):
            return await self.app(scope, receive, send)
        policy = _policy(path, scope.get("query_string", b""))

        async def send_with_policy(message):
            if message["type"] == "http.response.start" and message["status"] in (200, 304):
                MutableHeaders(scope=message)["Cache-Control"] = policy
            await send(message)

        await self.app(scope, receive, send_with_policy)


def _policy(path: str, query: bytes) -> str:
    if not path.startswith("/static/vendor/"):
        return OWN
    return VERSIONED if b"v=" in query else VENDOR
