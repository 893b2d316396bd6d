"""Digest sending speed: N personalised digests over the 75k demo papers to a local SMTP server.

    .venv/bin/python bench/digest_speed.py [--subscribers 10000] [--period weekly] [--data-dir DIR]

Imports the demo listing into a fresh SQLite instance (or reuses --data-dir), gives the
period's entries random upvotes, creates N active subscribers (30% trending only, the rest
with 1-3 categories, up to 2 keywords from a vocabulary of 40, and an author in one of
five), builds the keyword search index, then times `send_period` against an aiosmtpd
server running in its own process. Prints the split between choosing papers (pool,
search look-ups and per-subscriber choice), rendering, SMTP and database work.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "demo" / "arxiv-listing-2025-03_2026-07.jsonl.gz"
KEYWORDS = [
    "language model", "diffusion", "reinforcement learning", "graph neural network", "speech", "quantum",
    "transformer", "robotics", "protein", "federated learning", "retrieval", "reasoning", "vision language",
    "segmentation", "benchmark", "agents", "optimization", "causal", "privacy", "compression",
    "3D reconstruction", "time series", "medical imaging", "code generation", "hallucination", "alignment",
    "multimodal", "knowledge graph", "recommendation", "adversarial", "interpretability", "video generation",
    "point cloud", "climate", "finance", "theorem proving", "neural operator", "tokenizer", "mixture of experts",
    "quantization",
]


def main() -> None:
    args = parse_args()
    if args.smtp_server:
        serve_smtp(int(args.smtp_server[0]), Path(args.smtp_server[1]))
        return
    from paperfeed.config import Settings
    from paperfeed.db import open_database

    data_dir = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="digest-bench-"))
    port = free_port()
    settings = Settings(data_dir=data_dir, secret_key="bench", base_url="https://papers.example.org",
                        smtp_host="127.0.0.1", smtp_port=port, mail_from="paperfeed <digest@papers.example.org>",
                        embed_in_background=False, digest_batch_size=500, digest_smtp_connections=args.connections)
    db = open_database(settings)
    today = prepare(db, args)
    count_file = data_dir / "smtp-count"
    server = subprocess.Popen([sys.executable, __file__, "--smtp-server", str(port), str(count_file)])
    try:
        wait_for_port(port)
        report, wall = timed_send(db, args.period, today)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    received = int(count_file.read_text()) if count_file.exists() else -1
    server_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    print_report(report, wall, received, args, server_cpu.ru_utime + server_cpu.ru_stime, db.settings)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--subscribers", type=int, default=10_000)
    p.add_argument("--period", choices=["daily", "weekly"], default="weekly")
    p.add_argument("--data-dir", help="reuse this instance (imported on first use)")
    p.add_argument("--connections", type=int, default=4, help="parallel SMTP connections (digest_smtp_connections)")
    p.add_argument("--smtp-server", nargs=2, metavar=("PORT", "COUNT_FILE"), help=argparse.SUPPRESS)
    return p.parse_args()


def prepare(db, args):
    from sqlalchemy import delete, func, select, update

    from paperfeed.digest.pool import WINDOW_DAYS
    from paperfeed.ingest.importer import import_file
    from paperfeed.models import DailyEntry, DigestDelivery, DigestSubscriber, Paper

    with db.session() as session:
        papers = session.scalar(select(func.count()).select_from(Paper))
    if papers < 70_000:
        clock = time.perf_counter()
        import_file(db, DEMO)
        print(f"setup: imported the demo listing in {time.perf_counter() - clock:.1f}s")
    rng = random.Random(42)
    with db.session() as session:
        today = session.scalar(select(func.max(DailyEntry.day)))
        start = today - timedelta(days=WINDOW_DAYS[args.period] - 1)
        entries = list(session.scalars(select(DailyEntry.pk).where(DailyEntry.day >= start)))
        session.execute(update(DailyEntry), [{"pk": pk, "upvotes": int(rng.paretovariate(1.2)) - 1}
                                             for pk in entries])
        authors = [a["name"] for (authors,) in session.execute(
            select(Paper.authors).join(DailyEntry).where(DailyEntry.day >= start)) for a in authors[:2]]
        cats = [c for (c,) in session.execute(select(Paper.primary_category).join(DailyEntry)
                                              .where(DailyEntry.day >= start)) if c]
        session.execute(delete(DigestDelivery))
        session.execute(delete(DigestSubscriber))
        session.execute(DigestSubscriber.__table__.insert(),
                        [subscriber(i, rng, cats, authors, args.period, today) for i in range(args.subscribers)])
    print(f"setup: {len(entries)} entries in the {args.period} window ending {today}, "
          f"{args.subscribers} subscribers")
    warm_search(db)
    return today


def subscriber(i: int, rng: random.Random, cats: list[str], authors: list[str], period: str, today) -> dict:
    personal = rng.random() >= 0.3
    return {
        "email": f"reader{i:05d}@example.org", "status": "active", "frequency": period,
        "weekday": today.weekday() if period == "weekly" else 0, "size": 10, "confirm_nonce": f"{i:016x}",
        "confirm_mails": 0, "permanent_failures": 0,
        "categories": sorted({rng.choice(cats) for _ in range(rng.randint(1, 3))}) if personal else [],
        "keywords": sorted({rng.choice(KEYWORDS) for _ in range(rng.randint(0, 2))}) if personal else [],
        "authors": [rng.choice(authors)] if personal and rng.random() < 0.2 else [],
    }


def warm_search(db) -> None:
    from paperfeed.rank.search import search

    clock = time.perf_counter()
    results = search(db, "warm up the index", limit=1)
    print(f"setup: search index ready in {time.perf_counter() - clock:.1f}s (mode {results.mode})")


def timed_send(db, period: str, today):
    from paperfeed.digest.send import send_period

    clock, cpu = time.perf_counter(), time.process_time()
    report = send_period(db, period, today)
    report.cpu = time.process_time() - cpu
    return report, time.perf_counter() - clock


def print_report(report, wall: float, received: int, args, server_cpu: float, settings) -> None:
    t = report.timings
    load = os.getloadavg()[0]
    print(f"sent {report.sent} digests ({report.skipped} skipped, {report.failed + report.bounced} failed) "
          f"in {wall:.1f}s wall = {report.sent / wall:.0f}/s; the SMTP server received {received}")
    print(f"goal: {args.subscribers} digests in <= 60 s: {'met' if wall <= 60 else 'NOT met'} "
          f"(1-min load average now {load:.1f} on {os.cpu_count()} cores)")
    print(f"CPU: sender {report.cpu:.1f}s ({1000 * report.cpu / max(report.sent, 1):.2f} ms/digest), "
          f"SMTP server {server_cpu:.1f}s")
    print("sender's main thread (wall):")
    for name in ("pool", "choose", "render"):
        print(f"  {name:7s} {t[name]:7.2f}s  {100 * t[name] / wall:5.1f}% of wall")
    print(f"{settings.digest_smtp_connections} SMTP worker threads (wall, summed over threads):")
    for name in ("smtp", "db"):
        print(f"  {name:7s} {t[name]:7.2f}s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("SMTP server did not start")


def serve_smtp(port: int, count_file: Path) -> None:
    """A counting aiosmtpd server (runs in its own process so it does not share our GIL)."""
    from aiosmtpd.controller import Controller

    class Counter:
        count = 0

        async def handle_DATA(self, server, session, envelope):
            Counter.count += 1
            return "250 OK"

    controller = Controller(Counter(), hostname="127.0.0.1", port=port)
    controller.start()
    stop = asyncio.Event()

    def finish(*_):
        count_file.write_text(str(Counter.count))
        controller.stop()
        os._exit(0)

    signal.signal(signal.SIGTERM, finish)
    while not stop.is_set():
        time.sleep(1)


if __name__ == "__main__":
    main()
