"""Held-out paraphrase queries: is search as good in the first minute (the demo's shipped
vectors) as after a full local embedding (the background worker's, with passage vectors)?

The corpus is 5,046 demo papers: the 44 targets of ``heldout_data.QUERIES`` and 5,002 others
drawn with ``random.Random(0)``. Each query has one relevant paper; recall@10 and MRR (over
the top 100) for keyword, semantic and hybrid search, through ``rank.search.search``:

1. **shipped**: ``index.shipped.load_shipped`` from ``demo/`` (what ``make run`` loads at once);
2. **local**: then ``embed_missing``, as the server's worker does (fp32, passages added).

    .venv/bin/python bench/heldout_quality.py [--papers 5046] [--skip-local]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from heldout_data import QUERIES  # noqa: E402

DEMO = ROOT / "demo"
LISTING = DEMO / "arxiv-listing-2025-03_2026-07.jsonl.gz"
MODES = ("keyword", "semantic", "hybrid")


def corpus(size: int) -> list[dict]:
    with gzip.open(LISTING, "rt") as fh:
        rows = [json.loads(line) for line in fh]
    targets = [r for r in rows if r["id"] in QUERIES]
    others = [r for r in rows if r["id"] not in QUERIES]
    random.Random(0).shuffle(others)
    return targets + others[:size - len(targets)]


def measure(db, label: str) -> dict[str, tuple[float, float]]:
    from paperfeed.rank.search import search

    out = {}
    for mode in MODES:
        ranks = []
        for target, query in QUERIES.items():
            res = search(db, query, limit=100, mode=mode, highlights=False)
            if res.mode != mode:
                raise SystemExit(f"{label}: asked for {mode}, got {res.mode}: {res.notice}")
            ids = [h.paper.id for h in res.hits]
            ranks.append(ids.index(target) + 1 if target in ids else None)
        recall = sum(1 for r in ranks if r and r <= 10) / len(ranks)
        mrr = sum(1 / r for r in ranks if r) / len(ranks)
        out[mode] = (recall, mrr)
        print(f"  {label:<8} {mode:<8} recall@10 {recall:.3f}   MRR {mrr:.3f}", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=5046)
    parser.add_argument("--skip-local", action="store_true", help="only the shipped vectors")
    args = parser.parse_args()
    from paperfeed.config import Settings
    from paperfeed.db import open_database
    from paperfeed.index.embedjob import embed_missing
    from paperfeed.index.shipped import load_shipped
    from paperfeed.index.sync import sync_index
    from paperfeed.ingest.importer import import_file

    rows = corpus(args.papers)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), embed_in_background=False)
        db = open_database(settings)
        source = Path(tmp) / "corpus.jsonl"
        source.write_text("".join(json.dumps(r) + "\n" for r in rows))
        import_file(db, source)
        loaded = load_shipped(db, DEMO)
        if loaded.refused or not loaded.stored:
            raise SystemExit(f"no shipped vectors in {DEMO}: {loaded.refused or 'none stored'}")
        sync_index(db, settings)
        print(f"{len(rows):,} papers, {len(QUERIES)} queries; {loaded.stored:,} shipped vectors", flush=True)
        results = {"shipped": measure(db, "shipped")}
        if not args.skip_local:
            started = time.monotonic()
            report = embed_missing(db, settings, refresh_every=1e9)
            print(f"  local embedding: {report.embedded:,} papers in {time.monotonic() - started:.0f} s", flush=True)
            results["local"] = measure(db, "local")
        db.dispose()
    print("\n| vectors | " + " | ".join(f"{m} recall@10 (MRR)" for m in MODES) + " |")
    print("|---|" + "---|" * len(MODES))
    for label, found in results.items():
        print(f"| {label} | " + " | ".join(f"{found[m][0]:.3f} ({found[m][1]:.3f})" for m in MODES) + " |")


if __name__ == "__main__":
    main()
