"""Test instances on real databases.

Every test that takes ``db`` runs against a fresh SQLite file, and again against
PostgreSQL when ``PAPERFEED_TEST_POSTGRES_URL`` is set (CI sets it). The PostgreSQL run
creates its own uniquely named database and drops it at the end, so parallel and
repeated runs never collide.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from paperfeed.config import Settings
from paperfeed.db import Database
from paperfeed.models import Base

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).parent.parent
DEMO = REPO / "demo"
PG_URL = os.environ.get("PAPERFEED_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgres"]
# Apps built in tests start no background embedding (it would load the model and compete for
# the CPU); the worker has tests of its own.
QUIET = {"embed_in_background": False}


def pytest_collection_modifyitems(config, items):
    # Without a PostgreSQL URL the postgres variants are skipped, and say why.
    if PG_URL:
        return
    skip = pytest.mark.skip(reason="PAPERFEED_TEST_POSTGRES_URL not set")
    for item in items:
        if "[postgres" in item.nodeid:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite file, copied for each test (migrating per test is slow)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    settings = Settings(data_dir=path.parent, database_url=f"sqlite:///{path}")
    database = Database(settings)
    database.upgrade()
    with database.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url():
    """A throwaway PostgreSQL database for this test run, migrated once."""
    if not PG_URL:
        pytest.skip("PAPERFEED_TEST_POSTGRES_URL not set")
    name = f"paperfeed_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(_pg(PG_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
    database = Database(Settings(database_url=url))
    database.upgrade()
    database.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _pg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def settings(backend, tmp_path, request) -> Settings:
    """Settings for a fresh instance on the parametrised backend."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    if backend == "sqlite":
        db_path = data_dir / "paperfeed.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), db_path)
        url = f"sqlite:///{db_path}"
    else:
        url = request.getfixturevalue("postgres_url")
    return Settings(data_dir=data_dir, database_url=url, secret_key="test-secret", base_url="http://testserver",
                    **QUIET)


@pytest.fixture
def db(settings, backend) -> Database:
    database = Database(settings)
    if backend == "postgres":
        _truncate_all(database)
    yield database
    database.dispose()


def _truncate_all(database: Database) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with database.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def sqlite_settings(tmp_path, sqlite_template) -> Settings:
    """A SQLite-only instance, for tests whose subject is not the database."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    db_path = data_dir / "paperfeed.db"
    shutil.copy(sqlite_template, db_path)
    return Settings(data_dir=data_dir, database_url=f"sqlite:///{db_path}", secret_key="test-secret",
                    base_url="http://testserver", **QUIET)


@pytest.fixture
def sqlite_db(sqlite_settings) -> Database:
    database = Database(sqlite_settings)
    yield database
    database.dispose()
