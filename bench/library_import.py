"""Reference-manager import over the 75k demo papers: speed and matching accuracy.

    .venv/bin/python bench/library_import.py [--refs 2000] [--data-dir DIR]

Imports the demo listing into a fresh SQLite instance (or reuses --data-dir), then builds
a Zotero-style BibTeX library from real papers: a third cited by arXiv id (eprint), a third
by a DOI, where the paper has one, else by title only, written the way reference managers
write titles (braces around capitals, other case, punctuation), and a third of
references this instance does not have. Times `import_library` (parse + match + write, in
one transaction that is rolled back, so each run starts equal) and prints, as baselines
from the same run, the cost of the arXiv-id look-up alone and of a bare scan of every
title. Accuracy: how many of the title-only references matched the right paper, and how
many of the unknown ones matched anything (should be none).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "demo" / "arxiv-listing-2025-03_2026-07.jsonl.gz"


def main() -> None:
    args = parse_args()
    from paperfeed.config import Settings
    from paperfeed.db import open_database

    data_dir = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="library-bench-"))
    db = open_database(Settings(data_dir=data_dir, secret_key="bench", embed_in_background=False))
    owner_pk = prepare(db)
    library, truth = build_library(db, args.refs)
    print(f"library: {len(library):,} bytes, {args.refs:,} references")
    runs = [run_import(db, owner_pk, library) for _ in range(args.runs)]
    seconds = statistics.median(r[0] for r in runs)
    report = runs[-1][1]
    print(f"import_library: median {seconds * 1000:.0f} ms over {args.runs} runs "
          f"({args.refs / seconds:,.0f} refs/s); matched {report.matched}, unmatched {len(report.unmatched)}")
    id_only, scan = baselines(db, truth)
    print(f"baseline, arXiv-id look-up alone: {id_only * 1000:.0f} ms; bare scan of every title: {scan * 1000:.0f} ms")
    accuracy(db, library, truth)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refs", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data-dir")
    return parser.parse_args()


def prepare(db) -> int:
    from sqlalchemy import func, select

    from paperfeed.ingest.importer import import_file
    from paperfeed.models import Paper, User
    from paperfeed.store.users import create_user

    with db.session() as session:
        papers = session.scalar(select(func.count()).select_from(Paper))
    if papers < 70_000:
        clock = time.perf_counter()
        import_file(db, DEMO)
        print(f"setup: imported the demo listing in {time.perf_counter() - clock:.1f}s")
    with db.session() as session:
        user = session.scalar(select(User).where(User.username_key == "bench"))
        if user is None:
            user = create_user(session, db.settings, "bench", "bench@example.org", "a long bench passphrase",
                               verified=True)
        print(f"papers: {session.scalar(select(func.count()).select_from(Paper)):,}, "
              f"with a DOI: {session.scalar(select(func.count()).where(Paper.doi.is_not(None))):,}")
        return user.pk


def build_library(db, n: int) -> tuple[bytes, dict]:
    from sqlalchemy import select

    from paperfeed.models import Paper

    rng = random.Random(7)
    with db.session() as session:
        rows = session.execute(select(Paper.pk, Paper.id, Paper.title, Paper.doi)).all()
    picked = rng.sample(rows, 2 * n // 3)
    entries, truth = [], {"id": {}, "title": {}, "unknown": []}
    for i, (pk, paper_id, title, doi) in enumerate(picked):
        key = f"ref{i}"
        if i % 2 == 0:
            entries.append(f"@misc{{{key},\n  title = {{{title}}},\n  eprint = {{{paper_id}}},\n"
                           f"  archivePrefix = {{arXiv}},\n}}")
            truth["id"][key] = pk
        else:
            extra = f"  doi = {{{doi.upper()}}},\n" if doi else ""
            entries.append(f"@article{{{key},\n  title = {{{zotero_title(title, rng)}}},\n{extra}"
                           f"  journal = {{Some Journal}},\n}}")
            truth["title"][key] = pk
    for i in range(n - len(picked)):
        key = f"unknown{i}"
        entries.append(f"@book{{{key},\n  title = {{An Unpublished Treatise on Topic {i} and Its Consequences}},\n}}")
        truth["unknown"].append(key)
    rng.shuffle(entries)
    return "\n\n".join(entries).encode(), truth


def zotero_title(title: str, rng: random.Random) -> str:
    """How reference managers write a title: capitals protected in braces, case changed."""
    words = title.replace("{", "").replace("}", "").split()
    out = [("{" + w + "}" if w[:1].isupper() else w) for w in words]
    return " ".join(out).lower() if rng.random() < 0.3 else " ".join(out)


def run_import(db, owner_pk: int, library: bytes):
    from paperfeed.ingest.library import import_library
    from paperfeed.models import User

    with db.sessions() as session:
        clock = time.perf_counter()
        report = import_library(session, session.get(User, owner_pk), library, filename="bench.bib", title="Bench")
        elapsed = time.perf_counter() - clock
        session.rollback()  # every run starts from the same database
    return elapsed, report


def baselines(db, truth: dict) -> tuple[float, float]:
    from paperfeed.store.collections import iter_paper_titles
    from paperfeed.store.papers import paper_pks

    from sqlalchemy import select

    from paperfeed.models import Paper

    with db.sessions() as session:
        ids = list(session.scalars(select(Paper.id).where(Paper.pk.in_(list(truth["id"].values())))))
        clock = time.perf_counter()
        paper_pks(session, ids)
        id_only = time.perf_counter() - clock
        clock = time.perf_counter()
        sum(1 for _ in iter_paper_titles(session))
        scan = time.perf_counter() - clock
    return id_only, scan


def accuracy(db, library: bytes, truth: dict) -> None:
    """Which paper each reference matched, against the paper it was made from."""
    from paperfeed.ingest.library import match_each, parse_library

    refs = parse_library(library)
    keys = [line.split("{", 1)[1].rstrip(",") for line in library.decode().splitlines() if line.startswith("@")]
    with db.sessions() as session:
        found = dict(zip(keys, match_each(session, refs)))
    for kind in ("id", "title"):
        wanted = truth[kind]
        right = sum(1 for k, pk in wanted.items() if found[k][0] == pk)
        wrong = sum(1 for k, pk in wanted.items() if found[k][0] not in (None, pk))
        print(f"{kind} references: {right:,} of {len(wanted):,} matched the right paper "
              f"({right / max(1, len(wanted)):.1%}), {wrong} a wrong one")
    hits = sum(1 for k in truth["unknown"] if found[k][0] is not None)
    print(f"unknown references: {hits} of {len(truth['unknown']):,} matched anything (should be 0)")


if __name__ == "__main__":
    main()
