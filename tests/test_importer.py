"""Importing real files: counts, idempotence, malformed lines, and a crash mid-import."""

import gc
import gzip
import itertools
import os
import re
import signal
import subprocess
import sys
import uuid
import time
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import orjson
import pytest
from sqlalchemy import func, select

from conftest import DEMO
from paperfeed.ingest import snapshot
from paperfeed.ingest.formats import detect_format, open_input
from paperfeed.ingest.importer import import_file
from paperfeed.ingest.normalize import authors_from_parsed, extract_code_urls
from paperfeed.records import MalformedRecord
from paperfeed.models import DailyEntry, Paper
from paperfeed.store.papers import get_paper

SNAPSHOT = DEMO / "arxiv-snapshot-sample.jsonl.gz"
LISTING = DEMO / "arxiv-listing-2025-03_2026-07.jsonl.gz"


def head_of_listing(tmp_path, n):
    path = tmp_path / f"listing-{n}.jsonl"
    with gzip.open(LISTING, "rb") as src, open(path, "wb") as dst:
        dst.writelines(itertools.islice(src, n))
    return path


def count(db, model):
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_snapshot_sample_imports_every_record_then_nothing_changes(db):
    first = import_file(db, SNAPSHOT)
    second = import_file(db, SNAPSHOT)
    assert (first.read, first.inserted, first.skipped) == (1631, 1631, 0)
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 1631)
    with db.session() as s:
        paper = get_paper(s, "0704.0001")
        assert paper.title == "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
        assert paper.authors[0] == {"name": "C. Balázs", "last": "Balázs", "first": "C.", "suffix": ""}
        assert paper.version == 2 and len(paper.versions) == 2
        assert paper.doi == "10.1103/PhysRevD.76.013009"
        assert not paper.abstract.startswith(" ") and "\n" not in paper.abstract


def test_listing_creates_auto_entries_on_announce_days(db, tmp_path):
    report = import_file(db, head_of_listing(tmp_path, 500))
    assert report.inserted == 500 and report.batch.entries_inserted == 500
    with db.session() as s:
        paper = get_paper(s, "2503.11677")
        assert str(paper.announced_on) == "2025-03-18"
        assert [(e.source, str(e.day)) for e in paper.entries] == [("auto", "2025-03-18")]


def test_malformed_lines_are_skipped_and_reported(db, tmp_path):
    good = gzip.open(SNAPSHOT).readline()
    bad_lines = [
        b"{not json\n",
        orjson.dumps({"id": "", "title": "x", "authors_parsed": []}) + b"\n",
        orjson.dumps({"id": "1234.5678", "title": "", "authors_parsed": []}) + b"\n",
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(good + b"".join(bad_lines) + b"\n" + orjson.dumps({"id": "x1", "title": "t", "abstract": "a"}) + b"\n")
    report = import_file(db, path, fmt="snapshot")
    assert report.read == 2 and report.skipped == 3
    assert [e.where for e in report.errors] == ["mixed.jsonl: line 2", "mixed.jsonl: line 3", "mixed.jsonl: line 4"]
    assert "bad JSON" in report.errors[0].reason
    assert report.errors[1].reason == "missing id" and report.errors[2].reason == "missing title"
    assert count(db, Paper) == 2


def test_format_is_detected_from_content(tmp_path):
    native = tmp_path / "papers.txt"
    native.write_text('{"id": "a", "title": "b", "abstract": "c"}\n')
    assert detect_format(open_input(SNAPSHOT)) == "snapshot"
    assert detect_format(open_input(native)) == "jsonl"


def test_killed_import_resumes_without_duplicates(sqlite_settings, tmp_path):
    path = head_of_listing(tmp_path, 20000)
    env = {**os.environ, "PAPERFEED_DATABASE_URL": sqlite_settings.resolved_database_url,
           "PAPERFEED_DATA_DIR": str(sqlite_settings.data_dir)}
    cmd = [sys.executable, "-m", "paperfeed", "import", "--no-progress", str(path)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    from paperfeed.db import Database

    db = Database(sqlite_settings)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and count(db, Paper) < 2000:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = count(db, Paper)
    assert 0 < partial < 20000, "the kill should land mid-import"
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    assert f"inserted {20000 - partial}," in done.stdout
    assert count(db, Paper) == 20000 and count(db, DailyEntry) == 20000
    with db.session() as s:
        assert s.scalar(select(func.count(func.distinct(Paper.id)))) == 20000
    db.dispose()


# --- the snapshot parser's fast paths agree with the general normalisers ----------------

def reference_clean(value):
    return re.sub(r"\s+", " ", value).strip() if value else ""


def reference_created(text):
    return parsedate_to_datetime(text).astimezone(timezone.utc).replace(tzinfo=None)


def test_snapshot_fields_match_the_general_normalisers_on_real_data():
    with gzip.open(SNAPSHOT, "rb") as sample, gzip.open(LISTING, "rb") as listing:
        lines = list(sample) + list(itertools.islice(listing, 3000))
    with_code = 0
    for line in lines:
        obj = orjson.loads(line)
        rec = snapshot.parse_snapshot_object(obj)
        assert (rec.title, rec.abstract) == (reference_clean(obj["title"]), reference_clean(obj["abstract"]))
        assert rec.comments == (reference_clean(obj["comments"]) or None)
        assert rec.authors == authors_from_parsed(obj["authors_parsed"])
        created = [reference_created(v["created"]) for v in obj["versions"]]
        assert [datetime.fromisoformat(v["created"]) for v in rec.versions] == created
        assert rec.code_urls == extract_code_urls(rec.abstract, rec.comments)
        with_code += bool(rec.code_urls)
    assert with_code > 20  # the data exercises the code-link path, not only its shortcut


@pytest.mark.parametrize("text", [
    "Mon, 2 Apr 2007 19:18:42 GMT", "Tue, 24 Jul 2007 20:10:27 GMT", "Mon,  2 Apr 2007 19:18:42 GMT",
    "Mon, 2 Apr 2007 19:18:42 +0100", "Mon, 2 Apr 07 19:18:42 GMT", "2 Apr 2007 19:18:42 GMT",
])
def test_version_dates_parse_like_the_email_parser(text):
    assert snapshot._parse_created(text) == reference_created(text)


@pytest.mark.parametrize("text", ["Mon, 31 Feb 2007 19:18:42 GMT", "Mon, 2 Foo 2007 19:18:42 GMT", "yesterday", ""])
def test_bad_version_dates_are_malformed_records(text):
    obj = {"id": "0704.0001", "title": "t", "versions": [{"version": "v1", "created": text}]}
    with pytest.raises(MalformedRecord, match="bad version entry"):
        snapshot.parse_snapshot_object(obj)


@pytest.mark.parametrize("text", [
    "See https://GitHub.com/a/b.", "code: github.com/ x/y", "gitlab.com/group/proj", "no code here",
    "GİTHUB.COM/a/b", "gıthub.com/c/d", "https://github.com", "Zoë's repo: https://github.com/zoe/r",
])
def test_code_host_shortcut_agrees_with_full_extraction(text):
    rec = snapshot.parse_snapshot_object({"id": "1", "title": "t", "abstract": text})
    assert rec.code_urls == extract_code_urls(reference_clean(text))


def test_non_text_fields_are_malformed_records_not_crashes(db, tmp_path):
    path = tmp_path / "odd.jsonl"
    path.write_bytes(orjson.dumps({"id": "1", "title": ["not", "text"], "authors_parsed": []}) + b"\n")
    report = import_file(db, path, fmt="snapshot")
    assert report.skipped == 1 and "expected text" in report.errors[0].reason


def test_import_restores_the_garbage_collector_settings(db, tmp_path):
    before = gc.get_threshold()
    import_file(db, head_of_listing(tmp_path, 50))
    assert gc.get_threshold() == before


def test_changed_ids_go_to_each_batch_and_the_report_keeps_counts_only(db, tmp_path):
    seen = []
    path = head_of_listing(tmp_path, 250)
    report = import_file(db, path, batch_size=100, on_batch=lambda r: seen.append(r.changed_ids))
    assert [len(ids) for ids in seen] == [100, 100, 50]
    assert len({i for ids in seen for i in ids}) == 250
    assert report.inserted == 250 and report.batch.changed_ids == []
    again = []
    import_file(db, path, batch_size=100, on_batch=lambda r: again.append(r.changed_ids))
    assert again == [[], [], []]


# --- parse workers ----------------------------------------------------------------------

def listing_with_bad_lines(tmp_path, n=2500):
    """The head of the real listing with a bad line at known places, and a blank line."""
    with gzip.open(LISTING, "rb") as src:
        lines = list(itertools.islice(src, n))
    lines[10] = b'{"id": "broken", "title": \n'
    lines[1700] = b'{"id": "2501.99999"}\n'
    lines.insert(1200, b"\n")
    path = tmp_path / "listing-bad.jsonl"
    path.write_bytes(b"".join(lines))
    return path


def paper_rows(db):
    skip = {"pk", "created_at", "changed_at", "change_seq"}
    with db.session() as s:
        papers = s.scalars(select(Paper).order_by(Paper.id)).all()
        rows = [{c: getattr(p, c) for c in Paper.__table__.columns.keys() if c not in skip} for p in papers]
        entries = s.execute(select(Paper.id, DailyEntry.day, DailyEntry.source, DailyEntry.upvotes)
                            .join(Paper, Paper.pk == DailyEntry.paper_pk).order_by(Paper.id)).all()
    return rows, [tuple(e) for e in entries]


def test_parallel_import_matches_a_sequential_one(db, tmp_path):
    from paperfeed.config import Settings
    from paperfeed.db import Database

    path = listing_with_bad_lines(tmp_path)
    reference = Database(Settings(database_url=f"sqlite:///{tmp_path}/seq.db", data_dir=tmp_path))
    reference.upgrade()
    sequential = import_file(reference, path, batch_size=300, workers=0)
    parallel = import_file(db, path, batch_size=300, workers=2)
    assert (parallel.read, parallel.inserted, parallel.skipped) == (2499 - 1, 2498, 2)
    assert [(e.where, e.reason) for e in parallel.errors] == [(e.where, e.reason) for e in sequential.errors]
    assert [e.where for e in parallel.errors] == ["listing-bad.jsonl: line 11", "listing-bad.jsonl: line 1702"]
    assert paper_rows(db) == paper_rows(reference)
    again = import_file(db, path, batch_size=300, workers=2)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2498)
    reference.dispose()


def _processes_with(marker: str) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            continue
    return found


def start_parallel_import(settings, path, **popen):
    """`paperfeed import --workers 2` in a subprocess, returned once 2,000 papers are in.

    Its processes carry a marker in their environment, so the test can find its workers.
    """
    from paperfeed.db import Database

    marker = f"PAPERFEED_TEST_MARKER={os.getpid()}-{uuid.uuid4().hex}"
    env = {**os.environ, "PAPERFEED_DATABASE_URL": settings.resolved_database_url,
           "PAPERFEED_DATA_DIR": str(settings.data_dir), marker.split("=")[0]: marker.split("=")[1]}
    cmd = [sys.executable, "-m", "paperfeed", "import", "--no-progress", "--workers", "2", str(path)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)
    db = Database(settings)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and count(db, Paper) < 2000:
        time.sleep(0.02)
    return proc, cmd, env, marker, db


def test_killed_parallel_import_leaves_no_workers_and_resumes(sqlite_settings, tmp_path):
    path = head_of_listing(tmp_path, 30000)
    proc, cmd, env, marker, db = start_parallel_import(sqlite_settings, path)
    assert len(_processes_with(marker)) >= 3, "the import should be running with its workers"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = count(db, Paper)
    assert 0 < partial < 30000, "the kill should land mid-import"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _processes_with(marker):
        time.sleep(0.1)
    assert _processes_with(marker) == []
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    assert f"inserted {30000 - partial}," in done.stdout
    assert count(db, Paper) == 30000 and count(db, DailyEntry) == 30000
    db.dispose()


def replicated_listing(tmp_path, lines: int, copies: int):
    """The head of the listing ``copies`` times over, each copy under new ids."""
    path = tmp_path / f"listing-{lines}x{copies}.jsonl.gz"
    with gzip.open(LISTING, "rb") as src:
        head = [orjson.loads(line) for line in itertools.islice(src, lines)]
    with gzip.open(path, "wb", compresslevel=1) as dst:
        for copy in range(copies):
            dst.writelines(orjson.dumps({**obj, "id": f"{obj['id']}x{copy}"}) + b"\n" for obj in head)
    return path


PEAK_RSS = """
import sys
from pathlib import Path
from paperfeed.config import Settings
from paperfeed.db import Database
from paperfeed.ingest.importer import import_file

if __name__ == "__main__":
    db = Database(Settings(database_url=f"sqlite:///{sys.argv[1]}", data_dir=Path(sys.argv[1]).parent))
    db.upgrade()
    report = import_file(db, sys.argv[2], workers=int(sys.argv[3]), batch_size=250)
    status = Path("/proc/self/status").read_text()
    print(report.inserted, next(int(l.split()[1]) for l in status.splitlines() if l.startswith("VmHWM")))
"""


@pytest.mark.parametrize("workers", [0, 2])
def test_memory_stays_flat_in_file_size(tmp_path, workers):
    script = tmp_path / "peak.py"
    script.write_text(PEAK_RSS)
    peaks = []
    for copies in (1, 4):
        path = replicated_listing(tmp_path, 8000, copies)
        out = subprocess.run([sys.executable, str(script), str(tmp_path / f"x{copies}.db"), str(path), str(workers)],
                             capture_output=True, text=True, check=True)
        inserted, peak_kb = map(int, out.stdout.split())
        assert inserted == 8000 * copies
        peaks.append(peak_kb / 1024)
    # Small batches fill the pipeline in both runs; holding 24,000 more papers' lines (~60 MB)
    # anywhere would show.
    assert peaks[1] < peaks[0] + 25, peaks


def test_ctrl_c_stops_a_parallel_import_quietly(sqlite_settings, tmp_path):
    path = head_of_listing(tmp_path, 30000)
    proc, _, _, marker, db = start_parallel_import(
        sqlite_settings, path, start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal sends on Ctrl-C: the whole group
    _, err = proc.communicate(timeout=20)
    assert proc.returncode != 0 and "Traceback" not in err.decode(), err.decode()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _processes_with(marker):
        time.sleep(0.1)
    assert _processes_with(marker) == []
    assert 0 < count(db, Paper) < 30000
    db.dispose()
