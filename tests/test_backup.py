"""`paperfeed db backup` and restoring from it: back up, change the database, restore, and
the data is as it was at the backup. SQLite through the online backup API (while another
connection has a write open); PostgreSQL through the pg_dump command the CLI prints."""

from __future__ import annotations

import shlex
import shutil
import sqlite3
import subprocess
import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, delete, select, text

from paperfeed.cli import cli
from paperfeed.config import Settings
from paperfeed.db import Database
from paperfeed.models import Paper
from web_helpers import load_demo


def run_cli(settings, *args):
    env = {"PAPERFEED_DATABASE_URL": settings.resolved_database_url, "PAPERFEED_DATA_DIR": str(settings.data_dir)}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def paper_ids(db) -> list[str]:
    with db.session() as s:
        return list(s.scalars(select(Paper.id).order_by(Paper.id)))


def test_sqlite_backup_while_in_use_and_restore(sqlite_settings, sqlite_db, tmp_path):
    load_demo(sqlite_db, lines=40)
    before = paper_ids(sqlite_db)
    target = tmp_path / "backups" / "paperfeed-backup.db"
    target.parent.mkdir()
    # a writer in the middle of a transaction: the backup holds only what was committed
    writer = sqlite3.connect(sqlite_settings.data_dir / "paperfeed.db", timeout=30)
    writer.execute("BEGIN")
    writer.execute("DELETE FROM daily_entry")
    result = run_cli(sqlite_settings, "db", "backup", str(target))
    writer.rollback()
    writer.close()
    assert result.exit_code == 0 and f"to {target}" in result.output
    assert not target.with_name(target.name + ".partial").exists()
    copy = sqlite3.connect(target)
    assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert copy.execute("SELECT count(*) FROM daily_entry").fetchone()[0] > 0
    copy.close()

    with sqlite_db.session() as s:  # the change the restore undoes
        s.execute(delete(Paper).where(Paper.id.in_(before[:10])))
    assert len(paper_ids(sqlite_db)) == len(before) - 10
    sqlite_db.dispose()

    restore_sqlite(target, sqlite_settings.data_dir / "paperfeed.db")
    restored = Database(sqlite_settings)
    assert paper_ids(restored) == before
    restored.dispose()


def restore_sqlite(backup, db_path) -> None:
    """The restore docs/deploy.md describes: with paperfeed stopped, copy the backup over
    the database and drop the old write-ahead log."""
    for suffix in ("-wal", "-shm"):
        db_path.with_name(db_path.name + suffix).unlink(missing_ok=True)
    shutil.copyfile(backup, db_path)


@pytest.mark.parametrize("backend", ["postgres"])
def test_postgres_backup_prints_pg_dump_and_it_restores(settings, db, tmp_path):
    load_demo(db, lines=40)
    before = paper_ids(db)
    target = tmp_path / "paperfeed.dump"
    result = run_cli(settings, "db", "backup", str(target))
    assert result.exit_code == 0
    command = result.output.splitlines()[0]
    assert command.startswith("pg_dump --format=custom") and str(target) in command
    subprocess.run(shlex.split(command), check=True, timeout=120)

    with db.session() as s:
        s.execute(delete(Paper).where(Paper.id.in_(before[:10])))

    restored_url = _restore_into_new_database(settings.resolved_database_url, target)
    try:
        restored = Database(Settings(database_url=restored_url, data_dir=tmp_path))
        assert paper_ids(restored) == before
        restored.dispose()
    finally:
        _drop(restored_url)


def _restore_into_new_database(url: str, dump) -> str:
    name = f"paperfeed_restore_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    new_url = url.rsplit("/", 1)[0] + f"/{name}"
    subprocess.run(["pg_restore", "--no-owner", "--dbname", new_url, str(dump)], check=True, timeout=120)
    return new_url


def _drop(url: str) -> None:
    admin = create_engine(url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + "/postgres",
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()

