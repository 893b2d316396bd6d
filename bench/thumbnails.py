"""Thumbnails: render speed on this machine's cores, bytes per thumbnail, and what they do to
a day page's load.

    .venv/bin/python bench/thumbnails.py [--pdfs 40] [--seconds 5] [--connections 8]

No real arXiv PDFs are available offline, so the PDFs are generated (tests/pdf_kit.py): US
letter, 10 pages each, two columns of text in standard fonts and a vector figure (curves,
a filled band, bars) on every page, compressed like real ones. Real first pages with
embedded fonts and raster figures render slower; treat the rates as an upper bound.

1. Render only (no download): first page to a 480 px and a 160 px WebP, in one process and
   in one process per core; the baseline in the same run is PDFium rasterising the page
   alone (no resize, no WebP).
2. Bytes per thumbnail, small and large.
3. A day page, served by ``paperfeed serve`` on a temporary SQLite instance with the first
   3,000 papers of the bundled listing: HTML bytes and req/s with no thumbnails and with one
   for every paper on the day, with the page cache on (the default) and off; the first
   visit's bytes (HTML plus the small images of the cards); req/s of a thumbnail itself;
   and a static file as the baseline, all in the same run. Four servers (without and with
   thumbnails, cache on and off) run side by side and are measured in turns.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from itertools import islice
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO / "tests"), str(REPO / "bench")]

from pdf_kit import paper_pdf  # noqa: E402
from web_load import BIN, cpu_seconds, free_port, run_python  # noqa: E402

LISTING = REPO / "demo" / "arxiv-listing-2025-03_2026-07.jsonl.gz"


def make_pdfs(count: int) -> list[bytes]:
    return [paper_pdf(f"Generated paper number {i} on sparse attention", pages=10, seed=i) for i in range(count)]


def _render(pdf: bytes):
    from paperfeed.ingest.thumbnails import render_first_page

    images = render_first_page(pdf)
    return len(images.small), len(images.large)


def _rasterise(pdf: bytes) -> int:
    import pypdfium2 as pdfium

    from paperfeed.ingest.thumbnails import LARGE_WIDTH

    document = pdfium.PdfDocument(pdf)
    page = document[0]
    bitmap = page.render(scale=LARGE_WIDTH / page.get_size()[0])
    size = bitmap.width
    document.close()
    return size


def rate(function, pdfs: list[bytes], processes: int) -> tuple[float, list, float]:
    """Thumbnails per second over ``pdfs``, the results, and CPU ms per thumbnail (one process)."""
    if processes == 1:
        function(pdfs[0])  # warm: library load
        started, cpu = time.perf_counter(), time.process_time()
        results = [function(pdf) for pdf in pdfs]
        cpu_ms = (time.process_time() - cpu) * 1000 / len(pdfs)
        return len(pdfs) / (time.perf_counter() - started), results, cpu_ms
    with ProcessPoolExecutor(processes) as pool:
        list(pool.map(function, pdfs[:processes]))  # warm every worker
        started = time.perf_counter()
        results = list(pool.map(function, pdfs, chunksize=2))
        return len(pdfs) / (time.perf_counter() - started), results, 0.0


def render_section(count: int) -> None:
    pdfs = make_pdfs(count)
    print(f"{count} generated PDFs, 10 pages each, {statistics.mean(map(len, pdfs)) / 1024:.0f} KiB on average; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    cores = os.cpu_count() or 1
    base1, _, base_cpu = rate(_rasterise, pdfs, 1)
    one, sizes, one_cpu = rate(_render, pdfs, 1)
    many, _, _ = rate(_render, pdfs, cores)
    print(f"{'render only':<44} {'thumbnails/s':>12}")
    print(f"{'baseline: PDFium rasterises the page (1 proc)':<44} {base1:>12.1f}")
    print(f"{'first page to both WebPs, 1 process':<44} {one:>12.1f}   ({one / base1:.2f}x the baseline)")
    print(f"{f'first page to both WebPs, {cores} processes':<44} {many:>12.1f}   ({many / one:.2f}x one process)")
    print(f"CPU per thumbnail: {one_cpu:.1f} ms (baseline rasterising: {base_cpu:.1f} ms), so {cores} idle cores "
          f"make {cores * 1000 / one_cpu:.0f} thumbnails/s; wall-clock rates above depend on the machine's load")
    small = [s for s, _ in sizes]
    large = [lg for _, lg in sizes]
    print(f"bytes per thumbnail: small (160 px) mean {statistics.mean(small):,.0f}, max {max(small):,}; "
          f"large (480 px) mean {statistics.mean(large):,.0f}, max {max(large):,}")


# --- the day page -------------------------------------------------------------------


def make_instance(data_dir: Path, papers: int) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    listing = data_dir / "listing.jsonl.gz"
    with gzip.open(LISTING, "rb") as src, gzip.open(listing, "wb") as out:
        out.writelines(islice(src, papers))
    env = environment(data_dir, cache=True)
    subprocess.run([str(BIN / "paperfeed"), "init"], env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([str(BIN / "paperfeed"), "import", str(listing), "--workers", "0"], env=env, check=True,
                   stdout=subprocess.DEVNULL)


def environment(data_dir: Path, cache: bool) -> dict:
    return dict(os.environ, PAPERFEED_DATA_DIR=str(data_dir), PAPERFEED_EMBED_IN_BACKGROUND="false",
                PAPERFEED_PAGE_CACHE_ENTRIES="512" if cache else "0", PAPERFEED_SECRET_KEY="bench")


def serve(data_dir: Path, cache: bool) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen([str(BIN / "paperfeed"), "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env=environment(data_dir, cache), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read()
            return proc, port
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise SystemExit("the server did not come up")


def fill_thumbnails(data_dir: Path, day) -> tuple[int, list[str]]:
    """Thumbnails for every paper on ``day``, from generated PDFs on a local server."""
    from paperfeed.config import Settings
    from paperfeed.db import Database
    from paperfeed.ingest.http import PoliteClient
    from paperfeed.jobs.thumbnails import make_thumbnails
    from paperfeed.store.feed import page_entries
    from test_thumbnails import PdfServer

    settings = Settings(data_dir=data_dir, embed_in_background=False)
    db = Database(settings)
    with db.session() as session:
        ids = [e.paper.id for e in page_entries(session, day, day, limit=1000).entries]
    pdfs = PdfServer()
    for i, paper_id in enumerate(ids):
        pdfs.bodies[f"/pdf/{paper_id}"] = paper_pdf(f"Paper {paper_id}", pages=10, seed=i)
    settings = settings.model_copy(update={"thumbnail_pdf_base_url": pdfs.base, "thumbnail_days": 0})
    with PoliteClient(settings, sleep=lambda s: None) as client:
        report = make_thumbnails(db, settings, client, owner="bench", clock=datetime.utcnow, limit=len(ids))
    pdfs.close()
    db.dispose()
    return report.made, ids


def fetch(url: str) -> bytes:
    return urllib.request.urlopen(url, timeout=60).read()


def card_images(html: bytes) -> list[str]:
    import re

    return re.findall(rb'class="card-thumb" src="([^"]+)"', html)


def day_page_section(seconds: int, connections: int, papers: int, rounds: int) -> None:
    from paperfeed.config import Settings
    from paperfeed.db import Database
    from paperfeed.store.feed import latest_day

    root = Path(tempfile.mkdtemp(prefix="thumbs-bench-"))
    plain, thumbs = root / "plain", root / "thumbs"
    servers = {}
    try:
        make_instance(plain, papers)
        db = Database(Settings(data_dir=plain))
        with db.session() as session:
            day = latest_day(session)
        db.dispose()
        shutil.copytree(plain, thumbs)  # the same instance, then with thumbnails
        made, _ = fill_thumbnails(thumbs, day)
        # four servers side by side, measured in turns, so a busy moment hits every state alike
        servers = {(state, cache): serve(data_dir, cache)
                   for state, data_dir in (("no thumbnails", plain), (f"{made} thumbnails", thumbs))
                   for cache in (True, False)}
        path = f"/papers/date/{day}"
        sizes = {key: fetch(f"http://127.0.0.1:{port}{path}") for key, (_, port) in servers.items()}
        rates: dict = {key: [] for key in servers}
        cpu: dict = {key: [] for key in servers}
        static: list[float] = []
        for _ in range(rounds):
            static.append(run_python(f"http://127.0.0.1:{servers[next(iter(servers))][1]}/static/app.js",
                                     seconds, connections)[0])
            for key, (proc, port) in servers.items():
                before = cpu_seconds(proc.pid)
                rates[key].append(run_python(f"http://127.0.0.1:{port}{path}", seconds, connections)[:2])
                cpu[key].append((cpu_seconds(proc.pid) - before) * 1000 / max(1.0, rates[key][-1][0] * seconds))
        port = servers[(f"{made} thumbnails", True)][1]
        html = fetch(f"http://127.0.0.1:{port}{path}")
        images = [fetch(f"http://127.0.0.1:{port}{src.decode()}") for src in card_images(html)]
        thumb_rps = run_python(f"http://127.0.0.1:{port}{card_images(html)[0].decode()}", seconds, connections)[0]
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(root, ignore_errors=True)
    print(f"\nday page {path} ({papers:,} papers imported; the page shows {len(images)} cards), python asyncio "
          f"client, {connections} connections, {rounds} rounds of {seconds}s in turns, `paperfeed serve` (1 worker); "
          f"medians")
    base = statistics.median(static)
    print(f"{'state':<16} {'page cache':<10} {'HTML bytes':>10} {'gzipped':>8} {'req/s':>8} {'x static':>8} "
          f"{'p50 ms':>8} {'cpu ms/req':>10}")
    for (state, cache), runs in rates.items():
        rps, p50 = statistics.median(r for r, _ in runs), statistics.median(p for _, p in runs)
        body = sizes[(state, cache)]
        print(f"{state:<16} {'on' if cache else 'off':<10} {len(body):>10,} {len(gzip.compress(body, 6)):>8,} {rps:>8.1f} "
              f"{rps / base:>8.2f} {p50:>8.1f} {statistics.median(cpu[(state, cache)]):>10.2f}")
    print(f"first visit with thumbnails: HTML {len(html):,} bytes + {len(images)} small thumbnails "
          f"{sum(map(len, images)):,} bytes (mean {statistics.mean(map(len, images)):,.0f}); lazy loading "
          "fetches only those near the screen")
    print(f"a thumbnail (thumb-small.webp): {thumb_rps:.1f} req/s; baseline static file: {base:.1f} req/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pdfs", type=int, default=40)
    parser.add_argument("--papers", type=int, default=3000, help="papers imported for the day-page test")
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--skip-web", action="store_true")
    args = parser.parse_args()
    render_section(args.pdfs)
    if not args.skip_web:
        day_page_section(args.seconds, args.connections, args.papers, args.rounds)


if __name__ == "__main__":
    main()
