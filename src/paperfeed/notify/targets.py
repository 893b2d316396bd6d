"""Where a webhook may point: http(s) only, and (unless ``webhook_allow_private``) only to
public addresses, since the server makes the request (server-side request forgery).

The host is resolved and every address checked, both when the webhook is saved and again
at each send; the send then connects to an address that was just checked (the URL's host
stays in the Host header and TLS SNI/verification), so a DNS answer that changes between
check and connect (rebinding) cannot steer the request inside.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2000


class TargetError(ValueError):
    """A URL no webhook may use; the message is safe to show."""


@dataclass(frozen=True)
class Target:
    url: str
    scheme: str
    host: str
    port: int
    address: str  # the checked IP the request goes to

    @property
    def label(self) -> str:
        """scheme://host:port, for the call log: never the path, which often holds a secret."""
        return f"{self.scheme}://{self.host}:{self.port}"


def parse_url(url: str) -> tuple[str, str, int]:
    url = (url or "").strip()
    if not url or len(url) > MAX_URL_LENGTH or any(ord(c) < 33 for c in url):
        raise TargetError(f"Give an http(s) URL of at most {MAX_URL_LENGTH} characters, without spaces.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise TargetError("That URL cannot be read.") from None
    if parts.scheme not in ("http", "https"):
        raise TargetError("A webhook URL starts with https:// (or http://).")
    if not parts.hostname or parts.username or parts.password:
        raise TargetError("A webhook URL needs a host, and no user name or password before it.")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_link_local or ip.is_loopback)


def resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise TargetError(f"The host {host!r} cannot be resolved ({exc}).") from None
    return list(dict.fromkeys(info[4][0] for info in infos))


def check_target(url: str, allow_private: bool = False) -> Target:
    """The URL checked: scheme, host, and every address the host resolves to."""
    scheme, host, port = parse_url(url)
    addresses = resolve(host, port)
    if not addresses:
        raise TargetError(f"The host {host!r} has no address.")
    if not allow_private:
        private = [a for a in addresses if not is_public(a)]
        if private:
            raise TargetError(f"{host} resolves to a private, loopback or link-local address ({private[0]}); "
                              "webhooks may only reach public addresses.")
    return Target(url.strip(), scheme, host, port, addresses[0])
