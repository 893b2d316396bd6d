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
