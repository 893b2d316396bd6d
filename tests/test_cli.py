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
