"""The SQLite connection settings that imports and the web rely on."""

import sqlite3

from paperfeed.config import Settings
from paperfeed.db import SQLITE_PAGE_SIZE, Database


def test_new_sqlite_database_uses_wal_and_large_pages(tmp_path):
    db = Database(Settings(database_url=f"sqlite:///{tmp_path}/new.db", data_dir=tmp_path))
    db.upgrade()
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA page_size").scalar() == SQLITE_PAGE_SIZE
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() * SQLITE_PAGE_SIZE == 40 * 2**20
    db.dispose()


def test_existing_database_keeps_its_page_size(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:  # made by an older release, with SQLite's default pages
        conn.execute("PRAGMA page_size=4096")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (x)")
    db = Database(Settings(database_url=f"sqlite:///{path}", data_dir=tmp_path))
    db.upgrade()
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA page_size").scalar() == 4096
        assert conn.exec_driver_sql("SELECT count(*) FROM paper").scalar() == 0
    db.dispose()


def test_migrations_build_exactly_the_models_schema(db):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from paperfeed.models import Base

    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


MIGRATE = """
import sys
from paperfeed.config import Settings
from paperfeed.db import open_database
open_database(Settings(database_url=sys.argv[1], data_dir=sys.argv[2])).dispose()
"""


def _migrate_at_once(url: str, data_dir) -> list:
    import subprocess
    import sys

    procs = [subprocess.Popen([sys.executable, "-c", MIGRATE, url, str(data_dir)], stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    # each process's exit code and the last lines of its error output (the exception)
    return [(p.wait(timeout=300), "\n".join(p.stderr.read().splitlines()[-3:])) for p in procs]


def _head(url: str, data_dir) -> tuple[str | None, str]:
    from alembic.script import ScriptDirectory

    from paperfeed.db import alembic_config, current_revision

    database = Database(Settings(database_url=url, data_dir=data_dir))
    try:
        head = ScriptDirectory.from_config(alembic_config(database.engine)).get_current_head()
        return current_revision(database.engine), head
    finally:
        database.dispose()


def test_processes_starting_together_on_a_new_sqlite_database_migrate_it_once(tmp_path):
    # serve --workers 2 and a worker on a fresh install: one migrates, the others wait
    url = f"sqlite:///{tmp_path / 'new.db'}"
    results = _migrate_at_once(url, tmp_path)
    assert [code for code, _ in results] == [0, 0, 0], results
    current, head = _head(url, tmp_path)
    assert current == head


def test_processes_starting_together_on_a_new_postgres_database_migrate_it_once(tmp_path):
    import os
    import uuid

    import pytest
    from sqlalchemy import create_engine, text

    base = os.environ.get("PAPERFEED_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("PAPERFEED_TEST_POSTGRES_URL not set")
    name = f"paperfeed_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.rsplit("/", 1)[0] + f"/{name}"
    try:
        results = _migrate_at_once(url, tmp_path)
        assert [code for code, _ in results] == [0, 0, 0], results
        current, head = _head(url, tmp_path)
        assert current == head
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
