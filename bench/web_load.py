"""Load test of the web pages on the 75k demo instance, served as the README says (`paperfeed serve`).

    .venv/bin/python bench/web_load.py [--data-dir data/bench] [--seconds 10] [--connections 8]

Imports the bundled demo data into --data-dir once (`paperfeed init --demo ...`), starts
`paperfeed serve` on a free port, warms up, then measures the daily page, a paper page
and the search page, and prints req/s with p50/p99 latency for each. Uses wrk when it is
installed (`apt-get install wrk`), otherwise a small asyncio keep-alive client (which
shares the CPU with the server, so its numbers are lower bounds).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DEMO = [REPO / "demo" / "arxiv-snapshot-sample.jsonl.gz", REPO / "demo" / "arxiv-listing-2025-03_2026-07.jsonl.gz"]
TARGETS = [
    ("baseline", "/static/vendor/katex/contrib/auto-render.min.js"),  # framework floor, same run
    ("daily page", "/papers/date/2026-06-30"),
    ("home", "/"),
    ("week page", "/papers/week/2026-W27"),
    ("paper page", "/papers/2503.11685"),
    ("search page", "/search?q=diffusion+models+for+protein+design"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(data_dir: Path) -> dict:
    env = dict(os.environ, PAPERFEED_DATA_DIR=str(data_dir))
    # The background embedder would spend both cores embedding 76k papers during the run.
    env.setdefault("PAPERFEED_EMBED_IN_BACKGROUND", "false")
    return env


def start_server(data_dir: Path, port: int, workers: int) -> subprocess.Popen:
    args = [str(BIN / "paperfeed"), "init"] + [a for f in DEMO for a in ("--demo", str(f))]
    subprocess.run(args, env=environment(data_dir), check=True)
    proc = subprocess.Popen([str(BIN / "paperfeed"), "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--workers", str(workers)], env=environment(data_dir))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/about", timeout=5).read()
            return proc
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise SystemExit("the server did not come up")


def cpu_seconds(pid: int) -> float:
    """CPU time used so far by the server process and its worker children (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid] + [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _ppid(p) == pid]
    total = 0.0
    for one in pids:
        try:
            fields = (Path("/proc") / str(one) / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _ppid(proc: Path) -> int | None:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def run_wrk(url: str, seconds: int, connections: int) -> tuple[float, float, float]:
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return rps, _wrk_ms(out, "50%"), _wrk_ms(out, "99%")


def _wrk_ms(out: str, pct: str) -> float:
    value, unit = re.search(rf"^\s+{re.escape(pct)}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


async def _worker(host: str, port: int, path: str, until: float, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\n\r\n".encode()
    while time.perf_counter() < until:
        start = time.perf_counter()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(re.search(rb"content-length:\s*(\d+)", head, re.I).group(1))
        await reader.readexactly(length)
        latencies.append((time.perf_counter() - start) * 1000)
    writer.close()


def run_python(url: str, seconds: int, connections: int) -> tuple[float, float, float]:
    m = re.match(r"http://([^:/]+):(\d+)(.*)", url)
    latencies: list[float] = []

    async def main():
        until = time.perf_counter() + seconds
        await asyncio.gather(*[_worker(m[1], int(m[2]), m[3], until, latencies) for _ in range(connections)])

    started = time.perf_counter()
    asyncio.run(main())
    elapsed = time.perf_counter() - started
    qs = statistics.quantiles(latencies, n=100)
    return len(latencies) / elapsed, qs[49], qs[98]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=REPO / "data" / "bench")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1, help="paperfeed serve --workers")
    parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    args = parser.parse_args()
    use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk"))
    measure = run_wrk if use_wrk else run_python
    port = free_port()
    proc = start_server(args.data_dir, port, args.workers)
    try:
        print(f"client: {'wrk' if use_wrk else 'python asyncio'}, {args.connections} connections, "
              f"{args.seconds}s per page, server: paperfeed serve --workers {args.workers}, {os.cpu_count()} cores, "
              f"load average before: {os.getloadavg()[0]:.1f}")
        print(f"{'page':<13} {'path':<48} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'cpu ms/req':>10}")
        for label, path in TARGETS:
            url = f"http://127.0.0.1:{port}{path}"
            status = urllib.request.urlopen(url, timeout=600).status  # warm caches and indexes
            if status != 200:
                raise SystemExit(f"{path} answered {status}")
            cpu_before = cpu_seconds(proc.pid)
            rps, p50, p99 = measure(url, args.seconds, args.connections)
            cpu_ms = (cpu_seconds(proc.pid) - cpu_before) * 1000 / max(1.0, rps * args.seconds)
            print(f"{label:<13} {path:<48} {rps:>8.1f} {p50:>8.1f} {p99:>8.1f} {cpu_ms:>10.2f}")
        print("cpu ms/req is the server's own CPU time per request: a shared machine's load slows req/s "
              "and latency, not this; 1000 / cpu ms/req is what one idle core can serve.")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
