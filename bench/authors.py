"""Author pages over the 75k demo papers: the author-name table against scanning author lists.

    .venv/bin/python bench/authors.py [--data-dir DIR] [--names 200]

Imports the demo listing into a fresh SQLite instance twice in the same run, with and
without writing the author table, to price it at import; times the migration's backfill
(migrate down past it and up again); then times, for the most prolific authors and for
random ones, the store's ``author_page`` (index look-up, newest first, co-authors) against
the query one would write without the table (a LIKE over every paper's author JSON), and
the whole `/authors/{name}` page through the app.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path
from unittest import mock

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "demo" / "arxiv-listing-2025-03_2026-07.jsonl.gz"


def main() -> None:
    args = parse_args()
    base = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="authors-bench-"))
    if args.reuse:
        db = open_instance(base / "with", migrate=False)
    else:
        with_table, db = import_once(base / "with", index_authors=True)
        without_table, _ = import_once(base / "without", index_authors=False)
        print(f"import of the demo: {with_table:.1f} s with the author table, {without_table:.1f} s without "
              f"({with_table / without_table:.2f}x)")
    print(f"migration backfill (76k papers, then the index): {time_backfill(db):.1f} s")
    names = sample_names(db, args.names)
    half = len(names) // 2
    for label, group in (("the most prolific", names[:half]), ("random", names[half:])):
        table = time_queries(db, group, by_table)
        scan = time_queries(db, group[: max(5, len(group) // 10)], by_scan)
        print(f"author_page, {len(group)} {label} names: p50 {table[0]:.2f} ms, p95 {table[1]:.2f} ms (table); "
              f"LIKE scan p50 {scan[0]:.1f} ms ({scan[0] / table[0]:.0f}x slower)")
    page = time_pages(db, names[half:half + 50])
    print(f"/authors/{{name}} through the app (random names, first view): p50 {page[0]:.1f} ms, p95 {page[1]:.1f} ms")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="where the two instances go (default: a temporary folder)")
    parser.add_argument("--names", type=int, default=200, help="author names to time")
    parser.add_argument("--reuse", action="store_true", help="reuse DATA_DIR/with from an earlier run (no imports)")
    return parser.parse_args()


def open_instance(data_dir: Path, migrate: bool = True):
    from paperfeed.config import Settings
    from paperfeed.db import open_database

    data_dir.mkdir(parents=True, exist_ok=True)
    return open_database(Settings(data_dir=data_dir, embed_in_background=False), migrate=migrate)


def import_once(data_dir: Path, index_authors: bool):
    from paperfeed.ingest.importer import import_file

    db = open_instance(data_dir)
    started = time.perf_counter()
    if index_authors:
        import_file(db, DEMO)
    else:
        with mock.patch("paperfeed.store.papers.write_author_names", lambda *a, **k: None):
            import_file(db, DEMO)
    return time.perf_counter() - started, db


def time_backfill(db) -> float:
    from alembic import command

    from paperfeed.db import alembic_config, upgrade

    command.downgrade(alembic_config(db.engine), "0008_jobs")
    started = time.perf_counter()
    upgrade(db.engine)
    return time.perf_counter() - started


def sample_names(db, n: int) -> list[str]:
    """Half the most prolific authors (the slowest pages), half picked at random."""
    from sqlalchemy import func, select

    from paperfeed.models import AuthorName

    with db.session() as s:
        top = [name for name, in s.execute(select(func.min(AuthorName.name)).group_by(AuthorName.key)
                                           .order_by(func.count().desc()).limit(n // 2))]
        every = list(s.scalars(select(AuthorName.name).limit(200_000)))
    return top + random.Random(16).sample(every, n - len(top))


def by_table(session, name: str) -> int:
    from paperfeed.store.authors import author_page

    return len(author_page(session, name).papers)


def by_scan(session, name: str) -> int:
    from sqlalchemy import String, cast, select

    from paperfeed.models import Paper

    last = name.split()[-1]
    rows = session.scalars(select(Paper).where(cast(Paper.authors, String).like(f"%{last}%"))
                           .order_by(Paper.submitted_at.desc()).limit(50))
    return len(list(rows))


def time_queries(db, names: list[str], query) -> tuple[float, float]:
    times = []
    with db.session() as session:
        for name in names:
            started = time.perf_counter()
            query(session, name)
            times.append((time.perf_counter() - started) * 1000)
    return percentiles(times)


def time_pages(db, names: list[str]) -> tuple[float, float]:
    from urllib.parse import quote

    from fastapi.testclient import TestClient

    from paperfeed.web.app import create_app

    app = create_app(db.settings.model_copy(update={"embed_in_background": False, "index_sync_in_background": False,
                                                     "run_jobs_in_web": False}), db=db)
    times = []
    with TestClient(app) as client:
        for name in names:
            started = time.perf_counter()
            assert client.get("/authors/" + quote(name, safe="")).status_code == 200
            times.append((time.perf_counter() - started) * 1000)
    return percentiles(times)


def percentiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1]


if __name__ == "__main__":
    main()
