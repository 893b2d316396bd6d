"""`paperfeed digest ...` commands."""

from __future__ import annotations

import json

from click.testing import CliRunner

import pinned
from digest_support import paper, seed_papers
from paperfeed.cli import cli
from paperfeed.store import subscriptions as store

TODAY = pinned.TODAY


def run(settings, *args):
    env = {"PAPERFEED_DATABASE_URL": settings.resolved_database_url, "PAPERFEED_DATA_DIR": str(settings.data_dir),
           "PAPERFEED_SECRET_KEY": "test-secret", "PAPERFEED_BASE_URL": "https://papers.example.org"}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_add_preview_send_dry_run_and_status(sqlite_db, sqlite_settings, tmp_path):
    seed_papers(sqlite_db, [paper("2611.00001", "Speech models at scale", categories=("cs.CL",), upvotes=9),
                            paper("2611.00002", "Vision things", categories=("cs.CV",), upvotes=20)], TODAY)
    added = run(sqlite_settings, "digest", "add", "cli@example.com", "--confirmed", "--category", "cs.CL",
                "--size", "5")
    assert added.exit_code == 0, added.output
    preview = run(sqlite_settings, "digest", "preview", "cli@example.com", "--date", TODAY.isoformat())
    assert preview.exit_code == 0
    lines = preview.output.splitlines()
    assert lines[0].startswith("Subject: Trending papers, ")
    assert [l for l in lines if l[:2] in ("1.", "2.")] == ["1. Speech models at scale", "2. Vision things"]
    assert "https://papers.example.org/papers/2611.00001" in preview.output
    out = tmp_path / "eml"
    sent = run(sqlite_settings, "digest", "send", "--period", "daily", "--date", TODAY.isoformat(), "--dry-run", str(out))
    assert sent.exit_code == 0 and "sent 1" in sent.output
    assert len(list(out.glob("*.eml"))) == 1
    status = run(sqlite_settings, "digest", "status", "--date", TODAY.isoformat())
    assert "subscribers: active 1" in status.output and "sent 1" in status.output
    as_json = json.loads(run(sqlite_settings, "digest", "status", "--date", TODAY.isoformat(), "--json").output)
    assert as_json["subscribers"] == {"active": 1} and as_json["deliveries"]["sent"] == 1
    assert as_json["period"] == f"daily:{TODAY.isoformat()}" and as_json["paused"] == []
    assert "Nothing new" in run(sqlite_settings, "digest", "preview", "cli@example.com", "--date", TODAY.isoformat()).output


def test_bad_input_gets_a_clear_error(sqlite_db, sqlite_settings):
    bad = run(sqlite_settings, "digest", "add", "x@example.com\nBcc: y@example.com", "--confirmed")
    assert bad.exit_code != 0 and "line breaks" in bad.output
    unknown = run(sqlite_settings, "digest", "preview", "nobody@example.com")
    assert unknown.exit_code != 0 and "No subscriber" in unknown.output
    with sqlite_db.session() as session:
        assert store.subscriber_counts(session) == {}


def test_remove_and_unpause(sqlite_db, sqlite_settings):
    assert run(sqlite_settings, "digest", "add", "p@example.com", "--confirmed").exit_code == 0
    with sqlite_db.session() as session:
        store.by_email(session, "p@example.com").status = "paused"
    assert "active" in run(sqlite_settings, "digest", "unpause", "P@example.com").output
    assert "unsubscribed" in run(sqlite_settings, "digest", "remove", "p@example.com").output
    with sqlite_db.session() as session:
        assert store.by_email(session, "p@example.com").status == "unsubscribed"
    missing = CliRunner().invoke(cli, ["digest", "remove", "nobody@example.com"], env={
        "PAPERFEED_DATABASE_URL": sqlite_settings.resolved_database_url})
    assert missing.exit_code != 0 and "no subscriber nobody@example.com" in missing.output
