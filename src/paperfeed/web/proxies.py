"""The client's address and scheme, believing X-Forwarded-For / X-Forwarded-Proto only from
the proxies named in ``settings.trusted_proxies`` (none by default).

uvicorn trusts these headers from 127.0.0.1 unless told otherwise, which let anyone on the
same host (or any request relayed by a local process) pick the address that per-IP limits
count. ``paperfeed serve`` passes the same list to uvicorn; this middleware applies the rule
again inside the app, so the address is right under any server. Applying it twice is
harmless: after the first pass the peer is the client, which is not a trusted proxy.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(entries: Iterable[str]) -> list[Network]:
    return [ipaddress.ip_network(entry, strict=False) for entry in entries]


def is_trusted(host: str | None, trusted: list[Network]) -> bool:
    if not host or not trusted:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:  # a unix socket path or a test client's name
        return False
    return any(address in net for net in trusted)


def forwarded_client(peer: str | None, forwarded_for: str, trusted: list[Network]) -> str | None:
    """The first address, walking X-Forwarded-For from the nearest hop, that is not a trusted
    proxy; None when the peer itself is not trusted (then its header means nothing)."""
    if not is_trusted(peer, trusted):
        return None
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not is_trusted(hop, trusted):
            return hop
    return hops[0] if hops else None


class TrustedProxyMiddleware:
    def __init__(self, app: ASGIApp, trusted: Iterable[str] = ()):
        self.app = app
        self.trusted = networks(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.trusted:
            peer = (scope.get("client") or (None, 0))[0]
            if is_trusted(peer, self.trusted):
                headers = Headers(scope=scope)
                client = forwarded_client(peer, headers.get("x-forwarded-for", ""), self.trusted)
                if client:
                    scope["client"] = (client, 0)
                proto = headers.get("x-forwarded-proto", "").split(",")[-1].strip().lower()
                if proto in ("http", "https"):
                    scope["scheme"] = proto if scope["type"] == "http" else {"http": "ws", "https": "wss"}[proto]
        await self.app(scope, receive, send)
