"""Plain DBAPI statements for the bulk paths, where SQLAlchemy's per-value work dominates.

A batch looks up and inserts thousands of rows at a time. Rendering thousands of bound
literals, or converting every value, through SQLAlchemy costs more than the statements
take to run, so these helpers hand the driver plain SQL and plain tuples instead.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy.orm import Session

# Keys per IN (...) list: far below SQLite's and PostgreSQL's bound-parameter limits.
IN_CHUNK = 5000
_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def placeholder(session: Session) -> str:
    """The driver's positional placeholder."""
    dialect = session.connection().dialect
    if dialect.paramstyle not in _PLACEHOLDERS:
        raise RuntimeError(f"unsupported database driver {dialect.driver!r}: use SQLite or PostgreSQL (psycopg)")
    return _PLACEHOLDERS[dialect.paramstyle]


def select_in(session: Session, select_sql: str, column: str, keys: list, tail: str = "") -> list[tuple]:
    """Rows of ``select_sql WHERE column IN (keys) tail``, in chunks of IN_CHUNK keys."""
    conn = session.connection()
    mark = placeholder(session)
    rows: list[tuple] = []
    for chunk in chunks(keys, IN_CHUNK):
        sql = f"{select_sql} WHERE {column} IN ({', '.join([mark] * len(chunk))}) {tail}"
        rows.extend(conn.exec_driver_sql(sql, tuple(chunk)).all())
    return rows


def insert_rows(session: Session, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert rows whose values are already in stored form (see store/rows.py)."""
    marks = ", ".join([placeholder(session)] * len(columns))
    session.connection().exec_driver_sql(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
