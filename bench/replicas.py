"""Replicas: a new node's first search, cross-node freshness, and what the change sequence costs.

    PYTHONPATH=src .venv/bin/python bench/replicas.py [--papers 0] [--import-papers 10000] [--runs 3]
                                                      [--postgres URL]

1. Import time with and without the change sequence, alternating in the same run: this
   code against ``--base-ref`` (the commit before it), each a fresh child process and
   database; median ratio.
2. The demo listing (``--papers 0``: all of it, ~75k) imported into one database; a new
   node (an empty data dir) answers its first search before it has any index (the
   database fallback), then its sync loop builds the keyword index.
3. 1,000 new papers imported through node A; node B runs its sync loop (1 s interval,
   the default) on its own data dir: time from A's last commit until B's search finds
   all 1,000.

Nodes here are data dirs in one process (each with its own Database, index handles and
sync loop), which is what `serve` runs per node; tests/test_nodes.py does the same with
real processes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import gzip
import itertools
import json
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LISTING = REPO / "demo" / "arxiv-listing-2025-03_2026-07.jsonl.gz"


def _database(url: str | None, data_dir: Path, template: Path | None = None):
    from paperfeed.config import Settings
    from paperfeed.db import Database

    data_dir.mkdir(parents=True, exist_ok=True)
    if url is None:
        path = data_dir / "paperfeed.db"
        if template is not None:
            shutil.copy(template, path)
        url = f"sqlite:///{path}"
    db = Database(Settings(data_dir=data_dir, database_url=url, embed_in_background=False))
    db.upgrade()
    return db


def _fresh_pg(admin_url: str) -> tuple[str, callable]:
    from sqlalchemy import create_engine, text

    name = f"paperfeed_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return admin_url.rsplit("/", 1)[0] + "/" + name, drop


def _head(n: int, target: Path) -> Path:
    with gzip.open(LISTING, "rb") as src, open(target, "wb") as out:
        out.writelines(itertools.islice(src, n) if n else src)
    return target


def import_overhead(tmp: Path, n: int, runs: int, pg: str | None, base_ref: str) -> dict:
    """Import time of this code against ``base_ref`` (the code before the change sequence:
    no column, no index on it, no counter), alternating fresh child processes."""
    sample = _head(n, tmp / "sample.jsonl")
    base = tmp / "base"
    base.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", base_ref, "src"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(base)], input=archive.stdout, check=True)
    sources = {"with": str(REPO / "src"), "without": str(base / "src")}
    times: dict[str, list[float]] = {"with": [], "without": []}
    for run in range(runs):
        for label in ("with", "without") if run % 2 == 0 else ("without", "with"):
            url, drop = _fresh_pg(pg) if pg else (None, lambda: None)
            data_dir = tmp / f"ovh-{label}-{run}"
            out = subprocess.run([sys.executable, __file__, "--child-import", str(sample), str(data_dir), url or ""],
                                 env={**os.environ, "PYTHONPATH": sources[label]}, check=True, capture_output=True,
                                 text=True)
            times[label].append(float(out.stdout.strip().splitlines()[-1]))
            drop()
    with_s, without_s = statistics.median(times["with"]), statistics.median(times["without"])
    return {"papers": n, "with_s": round(with_s, 2), "without_s": round(without_s, 2),
            "ratio": round(with_s / without_s, 3), "runs": times}


def child_import(sample: str, data_dir: str, url: str) -> None:
    from paperfeed.ingest.importer import import_file

    db = _database(url or None, Path(data_dir))
    start = time.perf_counter()
    import_file(db, sample)
    print(time.perf_counter() - start)
    db.dispose()


def new_node_first_search(tmp: Path, papers: int, pg: str | None) -> tuple[dict, object]:
    from paperfeed.index.syncloop import SyncLoop
    from paperfeed.ingest.importer import import_file
    from paperfeed.rank.search import search

    url, drop = _fresh_pg(pg) if pg else (None, lambda: None)
    corpus = _head(papers, tmp / "corpus.jsonl")
    writer = _database(url, tmp / "node-a")
    start = time.perf_counter()
    report = import_file(writer, corpus)
    imported = time.perf_counter() - start
    node_b = _database(url or writer.settings.resolved_database_url, tmp / "node-b")
    query = "attention for long context language models"
    start = time.perf_counter()
    first = search(node_b, query, mode="hybrid", limit=20)
    first_s = time.perf_counter() - start
    start = time.perf_counter()
    built = SyncLoop(node_b, node_b.settings).run_once()
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    second = search(node_b, query, mode="hybrid", limit=20)
    second_s = time.perf_counter() - start
    result = {"papers": report.inserted, "import_s": round(imported, 1), "first_search_ms": round(first_s * 1000, 1),
              "first_hits": len(first.hits), "first_notice": first.notice,
              "keyword_build_s": round(build_s, 2), "indexed": built.indexed if built else None,
              "after_build_ms": round(second_s * 1000, 1), "after_build_hits": len(second.hits),
              "after_build_notice": second.notice}
    return result, (writer, node_b, url, drop)


def cross_node_freshness(tmp: Path, handles) -> dict:
    from paperfeed.index.sync import sync_index
    from paperfeed.index.syncloop import SyncLoop
    from paperfeed.ingest.importer import import_file
    from paperfeed.rank.search import search

    writer, node_b, _url, _drop = handles
    sync_index(writer, writer.settings)  # node A's own index, as its import command leaves it
    token = "zyxwombat"
    new = tmp / "thousand.jsonl"
    new.write_text("".join(json.dumps({"id": f"2999.{i:05d}", "title": f"The {token} study number {i}",
                                       "abstract": "A fresh paper.", "authors": ["Ada Lovelace"],
                                       "categories": ["cs.LG"], "published": "2026-07-01"}) + "\n"
                           for i in range(1000)))
    loop = SyncLoop(node_b, node_b.settings).start()  # node B, as `serve` starts it
    try:
        time.sleep(2)  # B is idle and current
        start = time.perf_counter()
        import_file(writer, new)
        committed = time.perf_counter()
        while len(search(node_b, token, mode="keyword", limit=1000).hits) < 1000:
            time.sleep(0.02)
        found = time.perf_counter()
    finally:
        loop.stop()
    return {"import_s": round(committed - start, 2), "searchable_on_b_after_commit_s": round(found - committed, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--papers", type=int, default=0, help="demo papers for the new-node test (0: all)")
    parser.add_argument("--import-papers", type=int, default=10_000, help="papers per import-overhead run")
    parser.add_argument("--runs", type=int, default=3, help="import-overhead runs of each kind")
    parser.add_argument("--postgres", help="admin URL: run on PostgreSQL (a throwaway database) instead of SQLite")
    parser.add_argument("--base-ref", default="90b0fc3", help="the code to compare import time with")
    parser.add_argument("--child-import", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_import:
        return child_import(*args.child_import)
    tmp = Path(tempfile.mkdtemp(prefix="paperfeed-replicas-"))
    try:
        overhead = import_overhead(tmp, args.import_papers, args.runs, args.postgres, args.base_ref)
        print("import with / without the change sequence:", json.dumps(overhead))
        first, handles = new_node_first_search(tmp, args.papers, args.postgres)
        print("new node's first search:", json.dumps(first))
        print("1,000 papers imported on A, searchable on B:", json.dumps(cross_node_freshness(tmp, handles)))
        handles[0].dispose()
        handles[1].dispose()
        handles[3]()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
