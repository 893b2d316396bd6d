"""Webhook delivery: how fast the outbox drains to a local receiver, with one worker and with
two claiming from the same database, and what a reply notification adds to a comment.

    PYTHONPATH=src .venv/bin/python bench/webhooks.py [--events 400] [--postgres URL] [--runs 3]

1. ``--events`` events for one webhook (a threaded http.server on 127.0.0.1 answering 200),
   delivered by one ``deliver_due`` loop, then the same number by two loops in threads
   (each a separate owner, as two worker nodes would be). Prints deliveries/s and the ratio
   two/one, and checks that every event arrived exactly once.
2. Posting a reply (which notifies the parent's author: a notification row, an event and
   its fan-out) against posting a top-level comment on a paper nobody submitted (no
   notification), alternating, same database: median time per comment and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from paperfeed.config import Settings  # noqa: E402
from paperfeed.db import Database  # noqa: E402
from paperfeed.models import Base  # noqa: E402

NOW = datetime(2026, 6, 10, 9, 30)


class Receiver:
    def __init__(self):
        self.keys: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.keys.append(self.headers["Idempotency-Key"])
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def fresh_database(folder: Path, postgres: str | None) -> tuple[Settings, Database]:
    url = postgres or f"sqlite:///{folder / 'bench.db'}"
    settings = Settings(data_dir=folder, database_url=url, secret_key="bench", webhook_allow_private=True,
                        embed_in_background=False)
    db = Database(settings)
    db.upgrade()
    if postgres:
        from sqlalchemy import text

        with db.engine.begin() as conn:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
                              + " RESTART IDENTITY CASCADE"))
    return settings, db


def make_user(db, settings, name: str) -> int:
    from paperfeed.store.users import create_user

    with db.session() as session:
        return create_user(session, settings, name, f"{name}@example.org", "a perfectly fine passphrase",
                           verified=True).pk


def emit_events(db, n: int, prefix: str) -> None:
    from paperfeed.store.webhooks import emit_event

    with db.session() as session:
        for i in range(n):
            emit_event(session, "trending", f"{prefix}-{i}", {"title": "t", "papers": []}, NOW)


def drain(db, settings, workers: int) -> float:
    from paperfeed.notify.deliver import deliver_due

    def loop(owner: str) -> None:
        while deliver_due(db, settings, clock=lambda: NOW, owner=owner, limit=20).sent:
            pass

    threads = [threading.Thread(target=loop, args=(f"w{i}",)) for i in range(workers)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started


def delivery_rates(events: int, postgres: str | None) -> None:
    from paperfeed.store.webhooks import create_webhook

    with tempfile.TemporaryDirectory() as folder:
        settings, db = fresh_database(Path(folder), postgres)
        receiver = Receiver()
        user = make_user(db, settings, "ada")
        with db.session() as session:
            create_webhook(session, user, "bench", "json", receiver.url, ["trending"])
        rates = {}
        for workers in (1, 2):
            emit_events(db, events, f"w{workers}")
            before = len(receiver.keys)
            seconds = drain(db, settings, workers)
            got = receiver.keys[before:]
            assert len(got) == events and len(set(got)) == events, (len(got), len(set(got)))
            rates[workers] = events / seconds
            print(f"  {workers} worker{'s' if workers > 1 else ''}: {events} deliveries in {seconds:.2f} s "
                  f"= {rates[workers]:.0f}/s, each exactly once")
        print(f"  two workers / one: {rates[2] / rates[1]:.2f}x")
        db.dispose()


def comment_costs(runs: int, postgres: str | None) -> None:
    from paperfeed.records import Author, PaperRecord
    from paperfeed.store.comments import add_comment
    from paperfeed.store.papers import get_paper, upsert_records

    with tempfile.TemporaryDirectory() as folder:
        settings, db = fresh_database(Path(folder), postgres)
        ada, bob = make_user(db, settings, "ada"), make_user(db, settings, "bob")
        with db.session() as session:
            upsert_records(session, [PaperRecord(id="2606.00001", title="t", abstract="a",
                                                 authors=[Author("A B", "B", "A")], source="jsonl")])
        from paperfeed.models import User

        with db.session() as session:
            paper_pk = get_paper(session, "2606.00001").pk
            parent = add_comment(session, session.get(User, ada), get_paper(session, "2606.00001"), "parent").pk
        plain, reply = [], []
        for i in range(runs * 100):
            for parent_pk, times in ((None, plain), (parent, reply)):
                started = time.perf_counter()
                with db.session() as session:
                    from paperfeed.models import Paper

                    add_comment(session, session.get(User, bob), session.get(Paper, paper_pk), f"c{i}", parent_pk)
                times.append(time.perf_counter() - started)
        p, r = statistics.median(plain) * 1000, statistics.median(reply) * 1000
        print(f"  top-level comment {p:.2f} ms, reply with notification {r:.2f} ms (median of {len(plain)}): "
              f"{r / p:.2f}x")
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=400)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", default=None, help="a PostgreSQL URL (its tables are emptied!)")
    args = parser.parse_args()
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(f"webhook delivery to a local receiver ({backend}):")
    delivery_rates(args.events, args.postgres)
    print(f"a comment with and without a reply notification ({backend}):")
    comment_costs(args.runs, args.postgres)


if __name__ == "__main__":
    main()
