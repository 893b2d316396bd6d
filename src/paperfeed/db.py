"""Engine and session factory for SQLite (WAL) or PostgreSQL, plus migrations."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.config import Settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def make_engine(settings: Settings) -> Engine:
    url = settings.resolved_database_url
    # orjson for JSON columns: a bulk import serialises several JSON values per paper.
    json_options = {"json_serializer": json_dumps, "json_deserializer": orjson.loads}
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **json_options)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **json_options)


def json_dumps(value) -> str:
    """JSON text for a JSON column; non-string keys become strings, as with the json module."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


SQLITE_PAGE_SIZE = 16384


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    # A new database gets 16 KiB pages (an existing one keeps its own): a paper row is ~3 KB,
    # and with 4 KiB pages a bulk import wrote a quarter more bytes (bench/import_speed.py).
    # It must come first: WAL mode fixes the page size.
    cur.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
    # WAL lets readers (the web) proceed while an import writes.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    # Bulk imports: a 32 MiB page cache keeps the paper indexes in memory, and checkpointing
    # every ~40 MiB of WAL rather than every 4 MiB saves most of the database-file fsyncs.
    # Neither weakens durability: commits are as safe as with the defaults.
    cur.execute("PRAGMA cache_size=-32768")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.execute(f"PRAGMA wal_autocheckpoint={40 * 2**20 // SQLITE_PAGE_SIZE}")
    cur.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    import paperfeed.store.changes  # noqa: F401  (ORM writes advance the change sequence)

    return sessionmaker(engine, expire_on_commit=False)


class Database:
    """An engine and its session factory; the one handle that library functions receive."""

    def __init__(self, settings: Settings, engine: Engine | None = None):
        self.settings = settings
        self.engine = engine or make_engine(settings)
        self.sessions = make_sessionmaker(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits when the block succeeds, rolls back when it raises."""
        with self.sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def upgrade(self) -> None:
        upgrade(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    if "alembic_version" not in inspect(engine).get_table_names():
        return None
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def open_database(settings: Settings, migrate: bool = True) -> Database:
    db = Database(settings)
    if migrate:
        db.upgrade()
    return db
