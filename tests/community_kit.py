"""Shared helpers for the community tests: an app with an injectable clock, signed-in
clients that carry CSRF tokens like a browser does, a real SMTP server, recent papers."""

from __future__ import annotations

import re
import socket
import threading
import time
from contextlib import contextmanager
from datetime import date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

import pinned
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from paperfeed.accounts import create_user
from paperfeed.records import Author, EntryRecord, PaperRecord
from paperfeed.store.papers import upsert_records
from paperfeed.web.app import create_app

PASSWORD = "a perfectly fine passphrase"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([0-9a-f]+)">')


class Clock:
    def __init__(self, start: float = pinned.NOW.timestamp()):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_app(settings, db, clock: Clock | None = None, transport=None):
    app = create_app(settings, db)
    app.state.clock = clock or Clock()
    app.state.arxiv_transport = transport
    return app


class Client(TestClient):
    """A TestClient that fetches a CSRF token once and sends it on every POST."""

    def csrf(self) -> str:
        page = self.get("/login")
        return CSRF_META.search(page.text).group(1)

    def form(self, path: str, data: dict | None = None, **kw):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf())
        return self.post(path, data=data, follow_redirects=False, **kw)

    def htmx(self, path: str, **kw):
        return self.post(path, headers={"HX-Request": "true", "X-CSRF-Token": self.csrf()}, **kw)


def client(app) -> Client:
    # server errors come back as 500 responses, so a test can name the route that failed
    return Client(app, base_url="http://testserver", raise_server_exceptions=False)


def add_user(db, settings, username: str, *, admin: bool = False, verified: bool = True, email: str | None = None):
    with db.session() as session:
        user = create_user(session, settings, username, email or f"{username.lower()}@example.org", PASSWORD,
                           is_admin=admin, verified=verified)
        return user.pk


def signed_in(app, db, settings, username: str, **kw) -> Client:
    add_user(db, settings, username, **kw)
    c = client(app)
    r = c.form("/login", {"login": username, "password": PASSWORD})
    assert r.status_code == 303, r.text
    return c


def add_paper(db, paper_id: str = "2611.00001", *, title: str = "A recent paper", day: date | None = None,
              source: str = "auto", upvotes: int | None = None, published: date | None = None) -> int:
    day = day or utc_today()
    published = published or day
    record = PaperRecord(id=paper_id, title=title, abstract="An abstract about $x^2$.",
                         authors=[Author("Ada Lovelace", "Lovelace", "Ada")], categories=["cs.LG"],
                         submitted_at=datetime(published.year, published.month, published.day, 12),
                         announced_on=day, source="hf" if source == "hf" else "arxiv",
                         abs_url=f"https://arxiv.org/abs/{paper_id}",
                         entries=[EntryRecord(day=day, source=source, upvotes=upvotes)])
    with db.session() as session:
        upsert_records(session, [record])
        from paperfeed.store.papers import get_paper

        return get_paper(session, paper_id).pk


def entry_counts(db, paper_id: str) -> list[tuple[date, int, int]]:
    from sqlalchemy import select

    from paperfeed.models import DailyEntry, Paper

    with db.session() as session:
        rows = session.execute(select(DailyEntry.day, DailyEntry.upvotes, DailyEntry.num_comments)
                               .join(Paper).where(Paper.id == paper_id).order_by(DailyEntry.day)).all()
    return [tuple(r) for r in rows]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """Collects what a real aiosmtpd server on 127.0.0.1 receives."""

    def __init__(self):
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def wait_for(self, to: str, count: int = 1, timeout: float = 10.0) -> EmailMessage:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            mine = [m for m in self.messages if to in m["To"]]
            if len(mine) >= count:
                return mine[count - 1]
            time.sleep(0.05)
        raise AssertionError(f"no mail #{count} to {to}; got {[m['To'] for m in self.messages]}")

    def for_address(self, to: str) -> list[EmailMessage]:
        return [m for m in self.messages if to in m["To"]]


@contextmanager
def smtp_server():
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


def link_in(message: EmailMessage, path: str) -> str:
    body = message.get_body(("plain",)).get_content()
    match = re.search(r"https?://\S+" + re.escape(path) + r"\S*", body)
    assert match, body
    return match.group(0)


class ServerThread:
    """uvicorn serving an app on a free port, in a thread."""

    def __init__(self, app):
        import uvicorn

        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "ServerThread":
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def utc_today() -> date:
    """The pinned clock's day: what the app (make_app) takes for today."""
    return pinned.TODAY


def days_ago(n: int) -> date:
    return pinned.days_ago(n)
