"""Time from `make run` on a fresh clone to the first hybrid search answer.

Runs what `make run` runs (`paperfeed init --demo …`, then `paperfeed serve`) on a new data
dir and asks `/api/papers/search?mode=hybrid` until `X-Search-Mode` says hybrid. The demo
files and their shipped vectors are read from demo/; ``--synthetic`` writes random vectors
for the demo's ids and text hashes instead (timing only, when the real file is not built).

    .venv/bin/python bench/first_minute.py [--synthetic] [--port 8765]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
DEMO = ["arxiv-snapshot-sample.jsonl.gz", "arxiv-listing-2025-03_2026-07.jsonl.gz"]
QUERY = "difusion langauge modle"


def synthetic_vectors(demo: Path, scratch: Path) -> None:
    """Random unit vectors under the real ids and text hashes (import once to learn them)."""
    from paperfeed.config import Settings
    from paperfeed.db import open_database
    from paperfeed.index.shipped import BuildPlan, write_vectors
    from paperfeed.ingest.importer import import_file
    from paperfeed.store.indexing import live_paper_texts

    db = open_database(Settings(data_dir=scratch))
    for name in DEMO:
        import_file(db, demo / name)
    with db.session() as session:
        plan = BuildPlan.from_rows(live_paper_texts(session))
    db.dispose()
    vectors = np.random.default_rng(0).standard_normal((len(plan.ids), 384)).astype(np.float32)
    write_vectors(demo, plan.ids, plan.hashes, vectors / np.linalg.norm(vectors, axis=1, keepdims=True))


def first_hybrid_answer(port: int, timeout: float) -> float | None:
    url = f"http://127.0.0.1:{port}/api/papers/search?q={QUERY.replace(' ', '+')}&mode=hybrid&limit=5"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                if response.headers.get("X-Search-Mode") == "hybrid":
                    return time.monotonic()
        except OSError:
            pass
        time.sleep(0.5)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", action="store_true")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    paperfeed = [sys.executable, "-m", "paperfeed"]
    with tempfile.TemporaryDirectory(prefix="first-minute-") as tmp:
        demo, data = Path(tmp) / "demo", Path(tmp) / "data"
        demo.mkdir()
        for name in DEMO:
            shutil.copy(ROOT / "demo" / name, demo)
        if args.synthetic:
            synthetic_vectors(demo, Path(tmp) / "scratch")
        else:
            for path in (ROOT / "demo").glob("vectors-*"):
                shutil.copy(path, demo)
        env = {**os.environ, "PAPERFEED_DATA_DIR": str(data), "PYTHONPATH": str(ROOT / "src")}
        start = time.monotonic()
        subprocess.run([*paperfeed, "init", *[a for n in DEMO for a in ("--demo", str(demo / n))]], env=env,
                       check=True)
        initialised = time.monotonic()
        server = subprocess.Popen([*paperfeed, "serve", "--host", "127.0.0.1", "--port", str(args.port),
                                   "--workers", "2"], env=env)
        try:
            answered = first_hybrid_answer(args.port, args.timeout)
            kind = "synthetic" if args.synthetic else "shipped"
            print(f"init (import + {kind} vectors + indexes): {initialised - start:.1f} s", flush=True)
            print(f"first hybrid answer: {answered - start:.1f} s after start" if answered
                  else f"no hybrid answer within {args.timeout:.0f} s", flush=True)
        finally:
            stop(server)


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(60)
    except subprocess.TimeoutExpired:  # a busy machine: do not leave it running
        server.kill()
        server.wait()


if __name__ == "__main__":
    main()
