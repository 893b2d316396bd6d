"""Engine and session factory for SQLite (WAL) or PostgreSQL, plus migrations."""

from __future__ import annotations

import itertools
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect, make_url
from sqlalchemy.exc import DBAPIError
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
        event.listen(engine, "checkin", _end_failed_commit)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # Without a connect timeout, a request waits out the kernel's (minutes) for a database
    # host that has gone away; with one it fails fast and answers 503.
    connect_args = {} if "connect_timeout" in url else {"connect_timeout": PG_CONNECT_TIMEOUT}
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args=connect_args,
                         **json_options)


PG_CONNECT_TIMEOUT = 10
STARTUP_RETRY_PAUSE = 2.0


class DatabaseUnreachable(Exception):
    pass


def wait_for_database(settings: Settings, wait_seconds: float, report: Callable[[str], None],
                      sleep: Callable[[float], None] = time.sleep,
                      clock: Callable[[], float] = time.monotonic) -> None:
    """Returns once the database accepts a connection; retries for ``wait_seconds``, reporting
    each failed attempt in one line, then raises DatabaseUnreachable (one line, no traceback)."""
    engine = make_engine(settings)
    deadline = clock() + wait_seconds
    try:
        for attempt in itertools.count(1):
            try:
                with engine.connect():
                    return
            except DBAPIError as exc:
                reason = first_line(exc.orig or exc)
            left = deadline - clock()
            if left <= 0:
                raise DatabaseUnreachable(f"cannot reach the database at {safe_url(settings)} "
                                          f"(tried {attempt} times over {wait_seconds:g} s): {reason}")
            pause = min(STARTUP_RETRY_PAUSE, left)
            report(f"database not reachable (attempt {attempt}: {reason}); retrying in {pause:.1f} s")
            sleep(pause)
    finally:
        engine.dispose()


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def safe_url(settings: Settings) -> str:
    return make_url(settings.resolved_database_url).render_as_string(hide_password=True)


def json_dumps(value) -> str:
    """JSON text for a JSON column; non-string keys become strings, as with the json module."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


SQLITE_PAGE_SIZE = 16384


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout=30000")
    # A new database gets 16 KiB pages (an existing one keeps its own): a paper row is ~3 KB,
    # and with 4 KiB pages a bulk import wrote a quarter more bytes (bench/import_speed.py).
    # It must come before WAL mode, which fixes the page size.
    cur.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
    # WAL lets readers (the web) proceed while an import writes.
    _use_wal(cur)
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    # Bulk imports: a 32 MiB page cache keeps the paper indexes in memory, and checkpointing
    # every ~40 MiB of WAL rather than every 4 MiB saves most of the database-file fsyncs.
    # Neither weakens durability: commits are as safe as with the defaults.
    cur.execute("PRAGMA cache_size=-32768")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.execute(f"PRAGMA wal_autocheckpoint={40 * 2**20 // SQLITE_PAGE_SIZE}")
    cur.close()


def _use_wal(cur, attempts: int = 200) -> None:
    """Switch to WAL. Processes opening a new database together race to switch it, and
    SQLite answers the losers "database is locked" at once, without its busy wait; they look
    again until the winner is done (then the database is already in WAL)."""
    for _ in range(attempts - 1):
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            time.sleep(0.05)
    cur.execute("PRAGMA journal_mode=WAL")


def _end_failed_commit(dbapi_conn, _record) -> None:
    # A COMMIT that SQLite refuses (a deferred foreign key, SQLITE_BUSY) leaves the
    # transaction open, while SQLAlchemy counts it as ended and skips the pool's rollback:
    # the next user of the connection would inherit the failed transaction.
    if dbapi_conn is not None and dbapi_conn.in_transaction:
        dbapi_conn.rollback()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
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
            except BaseException as exc:
                try:
                    session.rollback()
                except Exception:
                    # a Ctrl-C that lands inside commit() leaves the session mid-commit, and
                    # rollback() then refuses: the original interruption is what to report
                    if isinstance(exc, Exception):
                        raise
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
