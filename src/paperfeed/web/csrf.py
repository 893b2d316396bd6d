"""CSRF protection for every state-changing request, as pure ASGI middleware.

Each browser gets a random ``pf_csrf`` cookie (HttpOnly, SameSite=Lax). The token that
pages embed (hidden ``csrf_token`` form fields, the ``X-CSRF-Token`` header htmx sends
from ``<body hx-headers>``) is an HMAC of that cookie under the instance secret, so a
page on another site can neither read nor compute it. A POST/PUT/PATCH/DELETE without a
matching token is answered 403 before any route runs. Requests authenticated with
``Authorization: Bearer`` are exempt: browsers never attach that header cross-site.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSRF_COOKIE = "pf_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
MAX_FORM_BYTES = 1 << 20


def csrf_token_for(key: bytes, secret: str) -> str:
    return hmac.new(key, f"csrf:{secret}".encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The token for templates: ``{{ csrf_token(request) }}``."""
    return request.scope.get("state", {}).get("csrf_token", "")


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
            submitted = headers.get(CSRF_HEADER) or _form_token(headers, body)
            if fresh or not submitted or not hmac.compare_digest(submitted, expected):
                await _reject(scope, receive, send)
                return

        if fresh:
            send = _setting_cookie(send, secret, self.secure or scope.get("scheme") == "https")
        await self.app(scope, receive, send)


# RFC 8058 one-click unsubscribe: the mail provider POSTs without cookies. The signed token in
# the path is the authorisation, and unsubscribing is idempotent, so a forged POST gains nothing.
CSRF_EXEMPT_PREFIXES = ("/digest/unsubscribe/",)


def _exempt(path: str) -> bool:
    return path.startswith(CSRF_EXEMPT_PREFIXES)


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


def _has_bearer(headers: Headers) -> bool:
    return headers.get("authorization", "").lower().startswith("bearer ")


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


def _form_token(headers: Headers, body: bytes) -> str | None:
    ctype = headers.get("content-type", "")
    if ctype.startswith("application/x-www-form-urlencoded") and len(body) <= MAX_FORM_BYTES:
        values = parse_qs(body.decode("latin-1"), keep_blank_values=True).get(CSRF_FIELD)
        return values[0] if values else None
    if ctype.startswith("multipart/form-data") and len(body) <= MAX_FORM_BYTES:
        return _multipart_field(ctype, body, CSRF_FIELD)
    return None


def _multipart_field(ctype: str, body: bytes, name: str) -> str | None:
    boundary = ctype.split("boundary=", 1)[-1].split(";")[0].strip().strip('"').encode()
    if not boundary:
        return None
    for part in body.split(b"--" + boundary):
        head, _, value = part.partition(b"\r\n\r\n")
        if f'name="{name}"'.encode() in head:
            return value.rstrip(b"\r\n").decode("utf-8", "replace")
    return None


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
