"""Helpers for the digest tests: a real aiosmtpd server on 127.0.0.1 and seeded papers."""

from __future__ import annotations

import asyncio
import email
import socket
import threading
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage
from email.policy import default as default_policy

import pinned
from aiosmtpd.controller import Controller



def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=default_policy)

    @property
    def text(self) -> str:
        return self.message.get_body(("plain",)).get_content().replace("\r\n", "\n")

    @property
    def html(self) -> str:
        return self.message.get_body(("html",)).get_content().replace("\r\n", "\n")


@dataclass
class RecordingHandler:
    """Stores accepted messages. ``rcpt_replies[address]`` is a list of replies to give to
    RCPT TO for that address, one per attempt, before accepting; ``mail_delay`` slows every
    transaction down (before anything is accepted)."""

    messages: list[Received] = field(default_factory=list)
    rcpt_replies: dict[str, list[str]] = field(default_factory=dict)
    mail_delay: float = 0.0
    in_mail: int = 0  # transactions now waiting out mail_delay (nothing of theirs accepted yet)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.mail_delay:
            self.in_mail += 1
            await asyncio.sleep(self.mail_delay)
            self.in_mail -= 1
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.lock:
            queue = self.rcpt_replies.get(address.lower())
            reply = queue.pop(0) if queue else None
        if reply is not None and not reply.startswith("250"):
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [m for m in self.messages if address in m.recipients]


class SMTPServer:
    def __init__(self, handler: RecordingHandler | None = None):
        self.handler = handler or RecordingHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> "SMTPServer":
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    def settings_overrides(self) -> dict:
        return {"smtp_host": "127.0.0.1", "smtp_port": self.port, "smtp_security": "none",
                "mail_from": "paperfeed <digest@paperfeed.test>"}


def paper(pid: str, title: str, *, abstract: str = "An abstract.", authors: tuple[str, ...] = ("Ada Lovelace",),
          categories: tuple[str, ...] = ("cs.LG",), upvotes: int = 0, code: str | None = None) -> dict:
    return dict(id=pid, title=title, abstract=abstract, authors=list(authors), categories=list(categories),
                upvotes=upvotes, code=code)


def seed_papers(db, papers: list[dict], day: date) -> None:
    """Insert papers through the one write path, each with an entry on ``day``."""
    from paperfeed.records import Author, EntryRecord
    from paperfeed.records import PaperRecord as Record
    from paperfeed.store.papers import upsert_records

    records = [Record(id=p["id"], title=p["title"], abstract=p["abstract"],
                      authors=[Author(name=a) for a in p["authors"]], categories=p["categories"],
                      abs_url=f"https://arxiv.org/abs/{p['id']}", code_urls=[p["code"]] if p["code"] else [],
                      source="hf", entries=[EntryRecord(day=day, source="hf", upvotes=p["upvotes"])])
               for p in papers]
    with db.session() as session:
        upsert_records(session, records)


def days_ago(n: int) -> date:
    return pinned.days_ago(n)
