"""CSRF protection for every state-changing request, as pure ASGI middleware.

Each browser gets a random ``pf_csrf`` cookie (HttpOnly, SameSite=Lax). The token that
pages embed (hidden ``csrf_token`` form fields, the ``X-CSRF-Token`` header htmx sends
from ``<body hx-headers>``) is an HMAC of that cookie under the instance secret, so a
page on another site can neither read nor compute it. A POST/PUT/PATCH/DELETE without a
matching token is answered 403 before any route runs. Requests authenticated with
``Authorization: Bearer <token>`` are exempt: browsers never attach that header cross-site.
A Bearer header with no token is not an exemption (auth.py answers it 401).

The body it reads is already capped (bodylimit.py, outside this middleware), and forms are
parsed with Starlette's parsers (python-multipart), the same ones the routes use.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from http.cookies import CookieError, SimpleCookie

from starlette.datastructures import Headers
from starlette.formparsers import FormParser, MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSRF_COOKIE = "pf_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def csrf_token_for(key: bytes, secret: str) -> str:
    return hmac.new(key, f"csrf:{secret}".encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The token for templates: ``{{ csrf_token(request) }}``."""
    return (request.scope.get("state") or {}).get("csrf_token", "")


class CSRFMiddleware:
    def __init__(self, app: ASGIApp, key_source, secure: bool = False):
        self.app = app
        self.key_source = key_source  # a callable returning the signing key (read lazily)
        self.secure = secure  # the site is served over https (settings.base_url)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        secret = _cookie(headers, CSRF_COOKIE)
        fresh = not _valid_secret(secret)
        if fresh:
            secret = secrets.token_urlsafe(24)
        key = self.key_source()
        expected = csrf_token_for(key, secret)
        scope.setdefault("state", {})["csrf_token"] = expected

        if scope["method"] in UNSAFE and not _has_bearer(headers) and not _exempt(scope.get("path", "")):
            body, receive = await _buffer_body(receive)
            submitted = headers.get(CSRF_HEADER) or await _form_token(headers, body)
            if fresh or not submitted or not _same(submitted, expected):
                await _reject(scope, receive, send)
                return

        if fresh and not _cookieless(scope.get("path", "")):
            send = _setting_cookie(send, secret, self.secure or scope.get("scheme") == "https")
        await self.app(scope, receive, send)


# RFC 8058 one-click unsubscribe: the mail provider POSTs without cookies. The signed token in
# the path is the authorisation, and unsubscribing is idempotent, so a forged POST gains nothing.
CSRF_EXEMPT_PREFIXES = ("/digest/unsubscribe/",)


def _exempt(path: str) -> bool:
    return path.startswith(CSRF_EXEMPT_PREFIXES)


# Machine-read answers carry no cookie: caches and feed readers would store it, and no form
# there needs a token (API writes authenticate with a Bearer token).
COOKIELESS_PREFIXES = ("/api/", "/feeds/", "/static/", "/metrics", "/healthz", "/readyz", "/favicon.ico",
                       "/openapi.json")


def _cookieless(path: str) -> bool:
    return path.startswith(COOKIELESS_PREFIXES)


def _valid_secret(value: str | None) -> bool:
    return bool(value) and 16 <= len(value) <= 64 and value.replace("-", "").replace("_", "").isalnum()


def _cookie(headers: Headers, name: str) -> str | None:
    jar = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except CookieError:  # a malformed Cookie header is just "no cookie"
        return None
    morsel = jar.get(name)
    return morsel.value if morsel else None


def bearer_credentials(authorization: str) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header: "" when the scheme is Bearer
    but no token follows, None for no header or another scheme."""
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip()


def _has_bearer(headers: Headers) -> bool:
    return bool(bearer_credentials(headers.get("authorization", "")))


def _same(submitted: str, expected: str) -> bool:
    # compare_digest refuses str with non-ASCII characters (a TypeError, so a 500): compare bytes
    return hmac.compare_digest(submitted.encode("utf-8", "replace"), expected.encode())


async def _buffer_body(receive: Receive) -> tuple[bytes, Receive]:
    """Reads the request body once and hands the app a receive() that replays it."""
    chunks, more = [], True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


async def _form_token(headers: Headers, body: bytes) -> str | None:
    ctype = headers.get("content-type", "").lower()
    if ctype.startswith("application/x-www-form-urlencoded"):
        parser = FormParser(headers, _once(body))
    elif ctype.startswith("multipart/form-data"):
        parser = MultiPartParser(headers, _once(body))
    else:
        return None
    try:
        form = await parser.parse()
    except (MultiPartException, ValueError, KeyError):  # malformed: no token, so a 403
        return None
    try:
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    finally:
        await form.close()  # uploaded parts may be spooled to temporary files


async def _once(body: bytes):
    yield body
    yield b""


async def _reject(scope: Scope, receive: Receive, send: Send) -> None:
    path = scope.get("path", "")
    message = "This form has expired or did not come from this site (CSRF check failed). Reload the page and try again."
    if path.startswith("/api/") or "application/json" in Headers(scope=scope).get("accept", ""):
        body = json.dumps({"error": message}).encode()
        ctype = b"application/json"
    else:
        body = (f"<!doctype html><title>Forbidden</title><h1>403 Forbidden</h1><p>{message}</p>"
                f'<p><a href="/">Home</a></p>').encode()
        ctype = b"text/html; charset=utf-8"
    await send({"type": "http.response.start", "status": 403,
                "headers": [(b"content-type", ctype), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _setting_cookie(send: Send, secret: str, secure: bool) -> Send:
    flag = "; Secure" if secure else ""
    cookie = f"{CSRF_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax{flag}".encode()

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message.setdefault("headers", [])
            message["headers"] = list(message["headers"]) + [(b"set-cookie", cookie)]
        await send(message)

    return wrapped
