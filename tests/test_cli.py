"""The CLI through click's runner: help everywhere, import/export round trip, stats, days."""

import click
import orjson
import pytest
from click.testing import CliRunner

from conftest import DEMO
from paperfeed.cli import cli


def all_commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        path = prefix + (name,)
        yield path
        if isinstance(command, click.Group):
            yield from all_commands(command, path)


@pytest.mark.parametrize("path", list(all_commands(cli)), ids=" ".join)
def test_every_command_has_help(path):
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    command = cli
    for name in path:
        command = command.commands[name]
    assert command.help and len(command.help.strip()) > 10
    assert "Usage:" in result.output


@pytest.fixture
def run(settings, db):
    env = {"PAPERFEED_DATABASE_URL": settings.resolved_database_url, "PAPERFEED_DATA_DIR": str(settings.data_dir)}

    def invoke(*args, input=None):
        return CliRunner().invoke(cli, list(args), env=env, input=input, catch_exceptions=False)

    return invoke


def test_import_export_round_trip_is_exact(run, db, tmp_path):
    imported = run("import", str(DEMO / "arxiv-snapshot-sample.jsonl.gz"))
    assert "read 1631, inserted 1631" in imported.output
    first = run("export")
    lines = first.stdout_bytes.splitlines()
    assert len(lines) == 1631 and orjson.loads(lines[0])["format"] == "paperfeed"
    again = run("import", "-", input=first.stdout_bytes)
    assert "inserted 0, updated 0, unchanged 1631" in again.output
    assert run("export").stdout_bytes == first.stdout_bytes


def test_round_trip_into_a_fresh_instance(run, tmp_path, sqlite_template):
    import shutil

    run("import", str(DEMO / "arxiv-snapshot-sample.jsonl.gz"))
    dump = run("export").stdout_bytes
    other = tmp_path / "other.db"
    shutil.copy(sqlite_template, other)
    env = {"PAPERFEED_DATABASE_URL": f"sqlite:///{other}", "PAPERFEED_DATA_DIR": str(tmp_path)}
    runner = CliRunner()
    assert "inserted 1631" in runner.invoke(cli, ["import", "-"], env=env, input=dump).output
    assert runner.invoke(cli, ["export"], env=env).stdout_bytes == dump


def test_minimal_native_lines_import(run):
    lines = b"\n".join([
        orjson.dumps({"id": "doc-1", "title": "A study", "abstract": "Text."}),
        orjson.dumps({"id": "doc-2", "title": "Other", "abstract": "More.", "authors": ["Ada Lovelace"],
                      "published": "2020-02-03", "categories": ["cs.IR"], "url": "https://example.org/2"}),
    ])
    result = run("import", "-", input=lines)
    assert "read 2, inserted 2" in result.output
    exported = [orjson.loads(line) for line in run("export").stdout_bytes.splitlines()]
    doc2 = next(p for p in exported if p["id"] == "doc-2")
    assert doc2["authors"][0]["last"] == "Lovelace" and doc2["categories"] == ["cs.IR"]
    assert doc2["submitted_at"].startswith("2020-02-03") and doc2["abs_url"] == "https://example.org/2"


def test_import_of_nothing_readable_exits_non_zero(run, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{broken\n")
    result = run("import", "--format", "jsonl", str(bad))
    assert result.exit_code == 1 and "skipped 1" in result.output


def test_stats_and_days(run, tmp_path):
    import gzip
    import itertools

    path = tmp_path / "l.jsonl"
    with gzip.open(DEMO / "arxiv-listing-2025-03_2026-07.jsonl.gz", "rb") as src:
        path.write_bytes(b"".join(itertools.islice(src, 300)))
    run("import", str(path))
    stats = orjson.loads(run("stats", "--json").output)
    assert stats["papers"] == 300 and stats["sources"] == {"listing": 300} and stats["database_bytes"] > 0
    days = run("days").output.split()
    assert days[0] == "2025-03-18" and sum(int(n) for n in days[1::2]) == 300


def test_days_as_json(run, tmp_path):
    import gzip
    import itertools

    path = tmp_path / "l.jsonl"
    with gzip.open(DEMO / "arxiv-listing-2025-03_2026-07.jsonl.gz", "rb") as src:
        path.write_bytes(b"".join(itertools.islice(src, 300)))
    run("import", str(path))
    rows = orjson.loads(run("days", "--json").output)
    assert rows[0]["day"] == "2025-03-18" and sum(r["papers"] for r in rows) == 300
    assert orjson.loads(run("days", "--json", "--limit", "1").output) == rows[-1:]


def test_export_prints_a_summary_to_stderr_when_writing_stdout(run, tmp_path):
    lines = b"\n".join(orjson.dumps({"id": f"doc-{i}", "title": "A study", "abstract": "Text."}) for i in range(3))
    run("import", "-", input=lines)
    piped = run("export")
    assert len(piped.stdout_bytes.splitlines()) == 3 and b"exported" not in piped.stdout_bytes
    assert piped.stderr == "exported 3 papers to stdout\n"
    out = tmp_path / "dump.jsonl"
    to_file = run("export", "--out", str(out))
    assert to_file.stdout == f"exported 3 papers to {out}\n" and len(out.read_bytes().splitlines()) == 3


def test_a_missing_file_or_config_is_one_clear_error(run, tmp_path):
    missing = run("import", str(tmp_path / "missing.json"))
    assert missing.exit_code == 1 and "Traceback" not in missing.output
    assert missing.output.strip() == f"Error: cannot read {tmp_path / 'missing.json'}: no such file"
    config = run("--config", str(tmp_path / "missing.toml"), "days")
    assert config.exit_code == 2 and "missing.toml: no such file" in config.output


def test_a_skipped_line_is_reported_once(tmp_path, sqlite_template):
    """Through a real process: the CLI's own logging setup is what printed skips twice."""
    import os
    import shutil
    import subprocess
    import sys

    shutil.copy(sqlite_template, tmp_path / "p.db")
    path = tmp_path / "in.jsonl"
    path.write_bytes(orjson.dumps({"id": "doc-1", "title": "Fine"}) + b"\n{broken\n")
    env = {**os.environ, "PAPERFEED_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
           "PAPERFEED_DATA_DIR": str(tmp_path), "PAPERFEED_EMBED_IN_BACKGROUND": "false"}
    done = subprocess.run([sys.executable, "-m", "paperfeed", "import", "--workers", "0", str(path)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("line 2") == 1, done.stderr
    assert "inserted 1" in done.stdout and "skipped 1" in done.stdout


def test_an_unreachable_database_is_one_line_not_a_traceback(tmp_path):
    import subprocess
    import sys

    env = {**__import__("os").environ, "PAPERFEED_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/nowhere",
           "PAPERFEED_DATA_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "paperfeed", "stats"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1
    assert done.stderr.startswith("Error: cannot reach the database") and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
