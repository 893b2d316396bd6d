"""Digest and confirmation emails, rendered from digest/templates/*.

A digest is multipart/alternative (text and HTML, quoted-printable UTF-8) with RFC 2369
List-Unsubscribe (an https URL and a mailto) and RFC 8058 List-Unsubscribe-Post headers, a
Date, and a Message-ID that is the same for every attempt at one delivery, so a receiving
server can drop a duplicate.

Sending thousands of digests per run, the MIME is assembled directly as bytes (the stdlib
``email`` package costs ~15 ms per message) and each paper's text and HTML block is
rendered once per run, then shared by every digest that includes it.
"""

from __future__ import annotations

import binascii
import email
import secrets
from dataclasses import dataclass, field
from email.header import Header
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import formataddr, formatdate, parseaddr
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from paperfeed.config import Settings
from paperfeed.digest import tokens
from paperfeed.digest.choose import Candidate
from paperfeed.digest.pool import DigestPeriod
from paperfeed.links import paper_path, safe_href
from paperfeed.mail import address_of, new_message

TEMPLATES = Path(__file__).resolve().parent / "templates"  # the mail's own, beside its code
ABSTRACT_CHARS = 300
MAX_AUTHORS = 5


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["short"] = short_abstract
    env.filters["author_list"] = author_list
    env.filters["safe_href"] = safe_href  # links from imported data: http(s) only
    env.filters["paper_path"] = paper_path
    return env


def short_abstract(text: str, limit: int = ABSTRACT_CHARS) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:.") + "…"


def author_list(names: list[str]) -> str:
    if len(names) <= MAX_AUTHORS:
        return ", ".join(names)
    return ", ".join(names[:MAX_AUTHORS]) + f" et al. ({len(names)} authors)"


@dataclass
class Recipient:
    pk: int
    email: str
    name: str | None = None


def base(settings: Settings) -> str:
    return settings.base_url.rstrip("/")


def unsubscribe_url(settings: Settings, recipient: Recipient) -> str:
    return f"{base(settings)}/digest/unsubscribe/{tokens.unsubscribe_token(settings, recipient.pk, recipient.email)}"


def unsubscribe_mailto(settings: Settings, recipient: Recipient) -> str:
    address = settings.digest_unsubscribe_email or address_of(settings.mail_from)
    token = tokens.unsubscribe_token(settings, recipient.pk, recipient.email)
    return f"mailto:{address}?subject={quote('unsubscribe ' + token)}"


def digest_subject(period: DigestPeriod) -> str:
    return f"Trending papers, {period.label}"


@dataclass
class DigestMail:
    recipient: Recipient
    message_id: str
    data: bytes  # the message as it goes over SMTP (CRLF line ends)

    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=default_policy)


SLOT = "\x00papers\x00"  # where the layout templates take the papers' blocks


@dataclass
class DigestRenderer:
    """Renders one period's digests. Each paper's blocks are rendered and quoted-printable
    encoded once per run (the text block once per list position, for its number), then
    shared by every digest that includes the paper; only the layout is per recipient.
    Quoted-printable is line-local, so encoding whole lines separately and joining them
    gives the same bytes as encoding the joined text."""

    settings: Settings
    period: DigestPeriod
    _text_blocks: dict[tuple[int, int], bytes] = field(default_factory=dict)
    _html_blocks: dict[int, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.site = base(self.settings)
        self.sender_domain = address_of(self.settings.mail_from).rsplit("@", 1)[-1] or "localhost"

    def render(self, recipient: Recipient, papers: list[Candidate], personalised: bool = False) -> DigestMail:
        env, settings = environment(), self.settings
        unsubscribe = unsubscribe_url(settings, recipient)
        context = {
            "site": self.site, "site_name": settings.site_name, "period": self.period, "papers": Markup(SLOT),
            "personalised": personalised, "unsubscribe_url": unsubscribe,
            "manage_url": f"{self.site}/settings/digest", "subject": digest_subject(self.period),
        }
        text = self._fill(env.get_template("email.txt").render(context),
                          [self._text_block(p, n) for n, p in enumerate(papers, 1)])
        html = self._fill(env.get_template("email.html").render(context),
                          [self._html_block(p) for p in papers])
        mid = f"<digest.{self.period.key.replace(':', '.')}.{recipient.pk}@{self.sender_domain}>"
        headers = [
            ("From", settings.mail_from), ("To", recipient.email), ("Subject", context["subject"]),
            ("Date", formatdate(usegmt=True)), ("Message-ID", mid),
            ("List-Unsubscribe", f"<{unsubscribe}>, <{unsubscribe_mailto(settings, recipient)}>"),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ("List-Id", f"{settings.site_name} digest <digest.{self.sender_domain}>"),
            ("Auto-Submitted", "auto-generated"),
        ]
        return DigestMail(recipient, mid, alternative_mime(headers, text, html))

    @staticmethod
    def _fill(layout: str, blocks: list[bytes]) -> bytes:
        head, _, tail = layout.partition(SLOT)
        return b"".join([_qp(head), *blocks, _qp(tail)])

    def _text_block(self, paper: Candidate, number: int) -> bytes:
        key = (paper.pk, number)
        if key not in self._text_blocks:
            text = environment().get_template("paper.txt").render(p=paper, n=number, site=self.site)
            self._text_blocks[key] = _qp(text.rstrip("\n") + "\n\n")  # a blank line between papers
        return self._text_blocks[key]

    def _html_block(self, paper: Candidate) -> bytes:
        if paper.pk not in self._html_blocks:
            html = environment().get_template("paper.html").render(p=paper, site=self.site)
            self._html_blocks[paper.pk] = _qp(html)
        return self._html_blocks[paper.pk]


def _qp(text: str) -> bytes:
    """Quoted-printable UTF-8 of whole lines (a missing final line break is added)."""
    if text and not text.endswith("\n"):
        text += "\n"
    return binascii.b2a_qp(text.encode())


def alternative_mime(headers: list[tuple[str, str]], text_qp: bytes, html_qp: bytes) -> bytes:
    """multipart/alternative bytes from quoted-printable UTF-8 parts, with CRLF line ends.

    Header values must not contain CR or LF (addresses are validated at subscribe time);
    non-ASCII values are RFC 2047-encoded.
    """
    for name, value in headers:
        if "\r" in value or "\n" in value:
            raise ValueError(f"line break in the {name} header")
    boundary = f"=_pf_{secrets.token_hex(12)}"
    lines = [f"{name}: {_header(name, value)}" for name, value in headers]
    lines += ["MIME-Version: 1.0", f'Content-Type: multipart/alternative; boundary="{boundary}"', "",
              f"--{boundary}"]
    head = "\n".join(lines).encode()
    part = 'Content-Type: text/{}; charset="utf-8"\nContent-Transfer-Encoding: quoted-printable\n\n'
    body = b"".join([
        head, b"\n", part.format("plain").encode(), text_qp,
        f"--{boundary}\n".encode(), part.format("html").encode(), html_qp,
        f"--{boundary}--\n".encode(),
    ])
    return body.replace(b"\n", b"\r\n")


def _header(name: str, value: str) -> str:
    if value.isascii():
        return value
    if name in ("From", "To", "Reply-To"):
        return formataddr(parseaddr(value), charset="utf-8")  # encode the display name, not the address
    return Header(value, "utf-8").encode()


def render_digest(settings: Settings, period: DigestPeriod, recipient: Recipient, papers: list[Candidate],
                  personalised: bool = False) -> DigestMail:
    return DigestRenderer(settings, period).render(recipient, papers, personalised)


def render_confirmation(settings: Settings, email_address: str, token: str) -> EmailMessage:
    env = environment()
    context = {"site": base(settings), "site_name": settings.site_name,
               "confirm_url": f"{base(settings)}/digest/confirm/{token}",
               "hours": settings.digest_confirm_ttl_hours}
    text = env.get_template("confirm_email.txt").render(context)
    return new_message(settings, email_address, f"Confirm your {settings.site_name} digest subscription", text)
