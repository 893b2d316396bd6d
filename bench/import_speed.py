"""Import speed and peak memory of every importer, on SQLite and PostgreSQL.

    .venv/bin/python bench/import_speed.py [--no-postgres] [--copies 4] [--only NAME ...]

Each run is a fresh child process, so its peak RSS (ru_maxrss) is its own. The machine is
shared and noisy, so each figure is also given as a ratio to a naive baseline measured in
the same run: plain ``json.loads`` of every line of the listing (a parse-only ceiling that
does no cleaning, merging or writing).

PostgreSQL: $PAPERFEED_BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres);
a throwaway database is created and dropped.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "demo"
FIXTURES = REPO / "tests" / "fixtures"
SAMPLE = DEMO / "arxiv-snapshot-sample.jsonl.gz"
LISTING = DEMO / "arxiv-listing-2025-03_2026-07.jsonl.gz"
PG_ADMIN = os.environ.get("PAPERFEED_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
JSONL_FORMATS = {"snapshot", "jsonl"}
REPLICATED_RECORDS = 20_000  # per other parser
BEFORE_REF = "7773370"  # the last commit before the import was tuned


# --- child side: one measured run -----------------------------------------------------


def child(spec: dict) -> dict:
    if spec["kind"] == "baseline":
        return _baseline(spec)
    from paperfeed.config import Settings
    from paperfeed.db import Database
    from paperfeed.ingest.importer import import_file, import_items

    db = Database(Settings(database_url=spec["url"], data_dir=Path(spec["data_dir"])))
    workers = WorkerSampler()  # parse workers are not our children: watch them through /proc
    start, cpu_start = time.perf_counter(), _cpu_seconds()
    if spec["kind"] == "file":
        # code from before the parse workers existed takes no workers argument
        extra = {} if spec.get("workers") is None else {"workers": spec["workers"]}
        report = import_file(db, spec["path"], **extra)
    else:
        report = import_items(db, _replicated_items(spec["fmt"], Path(spec["path"]), spec["copies"]))
    seconds = time.perf_counter() - start
    own_cpu = _cpu_seconds() - cpu_start
    workers.stop()
    db.dispose()
    import paperfeed

    return {"code": str(Path(paperfeed.__file__).parents[1]), "records": report.read, "inserted": report.inserted,
            "updated": report.updated, "unchanged": report.unchanged, "skipped": report.skipped,
            "seconds": seconds, "rss_kb": _rss_kb(), "cpu": own_cpu + workers.cpu_seconds(),
            "cpu_main": own_cpu, "workers_rss_kb": workers.peak_rss_kb, "rss_all_kb": _rss_kb() + workers.peak_rss_kb}


class WorkerSampler:
    """CPU time and peak memory of the import's worker processes, sampled every 50 ms.

    The workers start from a fork server, so they are not this process's children and
    getrusage cannot see them; they inherit this process's environment, so a marker
    variable finds them in /proc.
    """

    def __init__(self):
        import threading

        self.marker = f"PAPERFEED_BENCH_RUN={uuid.uuid4().hex}".encode()
        os.environ["PAPERFEED_BENCH_RUN"] = self.marker.split(b"=")[1].decode()
        self.cpu: dict[int, float] = {}
        self.peak_rss_kb = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.done.wait(0.05):
            rss = 0
            for pid in self._pids():
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    rss += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGESIZE") // 1024
                except OSError:
                    continue
                self.cpu[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            self.peak_rss_kb = max(self.peak_rss_kb, rss)

    def _pids(self) -> list[int]:
        found = []
        for name in os.listdir("/proc"):
            if name.isdigit() and int(name) != os.getpid():
                try:
                    if self.marker in Path(f"/proc/{name}/environ").read_bytes():
                        found.append(int(name))
                except OSError:
                    continue
        return found

    def stop(self) -> None:
        self.done.set()
        self.thread.join()

    def cpu_seconds(self) -> float:
        return sum(self.cpu.values())


def _baseline(spec: dict) -> dict:
    import orjson

    loads = json.loads if spec["loader"] == "json" else orjson.loads
    start, cpu_start = time.perf_counter(), _cpu_seconds()
    records = 0
    with gzip.open(spec["path"], "rb") as lines:
        for line in lines:
            loads(line)
            records += 1
    return {"records": records, "seconds": time.perf_counter() - start, "rss_kb": _rss_kb(),
            "cpu": _cpu_seconds() - cpu_start}


def _replicated_items(fmt: str, fixture: Path, copies: int):
    """The fixture parsed ``copies`` times, each copy under new ids, so every copy inserts."""
    from paperfeed.ingest.formats import PARSERS, open_input

    data = open_input(fixture).read()
    for copy in range(copies):
        for where, item in PARSERS[fmt](io.BufferedReader(io.BytesIO(data))):
            if hasattr(item, "id"):
                item.id = f"{item.id}-bench{copy}"
            yield f"copy {copy} {where}", item


def _rss_kb() -> int:
    """Peak RSS of this process since it started.

    ru_maxrss survives fork+exec, so a child would report its parent's peak; VmHWM belongs
    to the address space exec created, so it is this run's own.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_child(spec: dict) -> dict:
    env = dict(os.environ)
    if spec.get("pythonpath"):
        env["PYTHONPATH"] = spec["pythonpath"]  # ahead of the editable install: the older code runs
    out = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True,
                         cwd=REPO, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"run {spec} failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if spec.get("pythonpath") and result.get("code") != spec["pythonpath"]:
        raise RuntimeError(f"expected the code in {spec['pythonpath']}, ran {result.get('code')}")
    return result


def checkout_before(workdir: Path, ref: str) -> str | None:
    """src/ as it was at ``ref`` (read from git, nothing checked out), or None without that history."""
    target = workdir / "before"
    target.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "src"], capture_output=True)
    if archive.returncode != 0:
        print(f"no 'before' runs: git archive {ref} failed: {archive.stderr.decode().strip()}", flush=True)
        return None
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return str(target / "src")


# --- parent side: databases, inputs, table ----------------------------------------------


class SqliteTarget:
    name = "sqlite"

    def __init__(self, workdir: Path):
        from paperfeed.config import Settings
        from paperfeed.db import Database

        self.dir = workdir / "sqlite"
        self.dir.mkdir()
        self.template = self.dir / "template.db"
        database = Database(Settings(database_url=f"sqlite:///{self.template}", data_dir=self.dir))
        database.upgrade()
        with database.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        database.dispose()
        self.url = ""

    def fresh(self) -> str:
        path = self.dir / f"run-{uuid.uuid4().hex[:8]}.db"
        shutil.copy(self.template, path)
        self.url = f"sqlite:///{path}"
        return self.url

    def close(self) -> None:
        pass


class PostgresTarget:
    name = "postgres"

    def __init__(self, admin_url: str):
        from sqlalchemy import create_engine, text

        from paperfeed.config import Settings
        from paperfeed.db import Database

        self.text = text
        self.db_name = f"paperfeed_bench_{uuid.uuid4().hex[:10]}"
        self.admin = create_engine(admin_url.replace("postgresql://", "postgresql+psycopg://", 1),
                                   isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.db_name}"'))
        self.url = admin_url.rsplit("/", 1)[0] + f"/{self.db_name}"
        self.database = Database(Settings(database_url=self.url))
        self.database.upgrade()

    def fresh(self) -> str:
        from paperfeed.models import Base

        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with self.database.engine.begin() as conn:
            conn.execute(self.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        return self.url

    def close(self) -> None:
        self.database.dispose()
        with self.admin.connect() as conn:
            conn.execute(self.text(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)'))
        self.admin.dispose()


def synthetic_snapshot(workdir: Path, copies: int) -> Path:
    """The listing ``copies`` times over, each copy under new ids: a bigger file, same records."""
    import orjson

    path = workdir / f"listing-x{copies}.jsonl.gz"
    with gzip.open(path, "wb", compresslevel=1) as dst:
        for copy in range(copies):
            with gzip.open(LISTING, "rb") as src:  # streamed, so this process stays small
                for line in src:
                    obj = orjson.loads(line)
                    obj["id"] = f"{obj['id']}x{copy}"
                    dst.write(orjson.dumps(obj) + b"\n")
    return path


def other_parser_fixtures() -> dict[str, Path]:
    """For each non-JSONL parser in PARSERS, the test fixture it reads the most records from."""
    from paperfeed.ingest.formats import PARSERS, detect_format, open_input
    from paperfeed.records import PaperRecord

    best: dict[str, tuple[int, Path]] = {}
    for path in sorted(FIXTURES.rglob("*")) if FIXTURES.is_dir() else []:
        if not path.is_file():
            continue
        try:
            with open_input(path) as stream:
                fmt = detect_format(stream)
                if fmt in JSONL_FORMATS or fmt not in PARSERS:
                    continue
                count = sum(isinstance(item, PaperRecord) for _, item in PARSERS[fmt](stream))
        except Exception:  # noqa: BLE001 - a fixture another parser rejects is simply not this one's
            continue
        if count and count > best.get(fmt, (0, path))[0]:
            best[fmt] = (count, path)
    return {fmt: path for fmt, (_, path) in best.items()}


def plan(target, workdir: Path, copies: int, only: set[str], before: str | None) -> list[tuple[str, dict, bool]]:
    """(case name, spec, fresh database first?) in order; a re-import reuses the previous run's database."""
    cases = []
    if before and target.name == "sqlite":
        old = {"kind": "file", "path": str(LISTING), "pythonpath": before}
        cases += [("listing, first import, code BEFORE", old, True), ("listing, re-import, code BEFORE", old, False)]
    cases += [
        ("snapshot sample", {"kind": "file", "path": str(SAMPLE)}, True),
        ("listing, first import, one process", {"kind": "file", "path": str(LISTING), "workers": 0}, True),
        ("listing, first import", {"kind": "file", "path": str(LISTING)}, True),
        ("listing, re-import", {"kind": "file", "path": str(LISTING)}, False),
    ]
    if copies > 1:
        cases.append((f"listing x{copies} (new ids)", {"kind": "file", "path": "SYNTHETIC"}, True))
    for fmt, fixture in other_parser_fixtures().items():
        cases.append((f"{fmt}: {fixture.name[:24]}.. replicated",
                      {"kind": "replicate", "fmt": fmt, "path": str(fixture), "copies": 0}, True))
    return [c for c in cases if not only or any(o in c[0] for o in only)]


def main() -> None:
    args = _args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    workdir = Path(tempfile.mkdtemp(prefix="paperfeed-bench-"))
    try:
        _run_all(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _run_all(args, workdir: Path) -> None:
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}", flush=True)
    baselines = {loader: run_child({"kind": "baseline", "loader": loader, "path": str(LISTING)})
                 for loader in ("json", "orjson")}
    ceiling = _cpu_rate(baselines["json"])
    rows = [(f"baseline: {loader}.loads of each listing line", "-", b, ceiling) for loader, b in baselines.items()]
    targets = [SqliteTarget(workdir)]
    if args.postgres:
        from sqlalchemy.exc import OperationalError

        try:
            targets.append(PostgresTarget(PG_ADMIN))
        except OperationalError as exc:  # no PostgreSQL here: bench SQLite only, and say so
            print(f"PostgreSQL skipped: {exc}", flush=True)
    synthetic = synthetic_snapshot(workdir, args.copies) if args.copies > 1 else None
    before = checkout_before(workdir, args.before_ref) if args.before_ref else None
    for target in targets:
        try:
            for name, spec, fresh in plan(target, workdir, args.copies, set(args.only), before):
                url = target.fresh() if fresh else target.url
                spec = {**spec, "url": url, "data_dir": str(workdir)}
                if spec["path"] == "SYNTHETIC":
                    spec["path"] = str(synthetic)
                if spec["kind"] == "replicate":
                    spec["copies"] = _copies_for(spec)
                result = run_child(spec)
                rows.append((name, target.name, result, ceiling))
                print(f"  {target.name:8} {name:44} {_rate(result):>9,.0f} rec/s", flush=True)
        finally:
            target.close()
    _print_table(rows)
    _print_speedups(rows)


def _copies_for(spec: dict) -> int:
    from paperfeed.ingest.formats import PARSERS, open_input
    from paperfeed.records import PaperRecord

    with open_input(spec["path"]) as stream:
        per_copy = sum(isinstance(item, PaperRecord) for _, item in PARSERS[spec["fmt"]](stream))
    return max(1, REPLICATED_RECORDS // max(per_copy, 1))


def _rate(result: dict) -> float:
    return result["records"] / result["seconds"] if result["seconds"] else 0.0


def _cpu_rate(result: dict) -> float:
    return result["records"] / result["cpu"] if result.get("cpu") else 0.0


def _print_table(rows) -> None:
    print("\nrec/s: records per wall-clock second; rec/cpu-s: per second of CPU time, the parse workers'")
    print("included, which a busy shared machine distorts less. 'vs json' is rec/cpu-s over the json.loads")
    print("baseline's. Peak RSS: the importing process; 'all' adds its parse workers' (sampled).")
    head = (f"{'case':46} {'db':8} {'records':>8} {'seconds':>8} {'rec/s':>9} {'rec/cpu-s':>9} {'vs json':>8} "
            f"{'peak RSS':>9} {'all':>7}  outcome")
    print("\n" + head + "\n" + "-" * len(head))
    for name, db, r, ceiling in rows:
        per_cpu = _cpu_rate(r)
        ratio = f"{per_cpu / ceiling:.2f}x"
        outcome = (f"ins {r['inserted']} upd {r['updated']} same {r['unchanged']} skip {r['skipped']}"
                   if "inserted" in r else "")
        everything = r.get("rss_all_kb", r["rss_kb"])
        print(f"{name:46} {db:8} {r['records']:>8} {r['seconds']:>8.2f} {_rate(r):>9,.0f} {per_cpu:>9,.0f} {ratio:>8} "
              f"{r['rss_kb'] / 1024:>7.0f}MB {everything / 1024:>5.0f}MB  {outcome}")


def _print_speedups(rows) -> None:
    """The tuned import against the code BEFORE, same machine, same run."""
    found = {(name, db): r for name, db, r, _ in rows}
    for case in ("listing, first import", "listing, re-import"):
        now, old = found.get((case, "sqlite")), found.get((f"{case}, code BEFORE", "sqlite"))
        if now and old:
            wall = _rate(now) / _rate(old)
            cpu = _cpu_rate(now) / _cpu_rate(old)
            print(f"speed-up over code BEFORE, {case} (sqlite): {wall:.1f}x wall-clock, {cpu:.1f}x CPU time")


def _args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--no-postgres", dest="postgres", action="store_false", help="SQLite only.")
    p.add_argument("--copies", type=int, default=4, help="Size of the synthetic snapshot, in listings (default 4).")
    p.add_argument("--before-ref", default=BEFORE_REF,
                   help=f"Also time the listing with src/ from this git commit (default {BEFORE_REF}; '' to skip).")
    p.add_argument("--only", nargs="*", default=[], help="Run only cases whose name contains one of these.")
    return p.parse_args()


if __name__ == "__main__":
    main()
