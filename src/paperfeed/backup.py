"""Backups: SQLite through its online backup API; PostgreSQL through pg_dump, which the
operator runs (we only say how), since its server-side tooling is the right one there."""

from __future__ import annotations

import os
import shlex
import sqlite3
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import URL, make_url

PAGES_PER_STEP = 4096  # copy in steps so writers are not held off for the whole copy


def sqlite_path(database_url: str) -> Path:
    path = make_url(database_url).database
    if not path or path == ":memory:":
        raise ValueError(f"{database_url} is not a SQLite file")
    return Path(path)


def backup_sqlite(database_url: str, target: str | Path, progress: Callable[[int, int], None] | None = None) -> int:
    """Copy the live database to ``target`` consistently; returns the pages copied.

    Written next to the target and renamed into place, so ``target`` is never a partial
    copy. The copy is a plain SQLite file (no -wal to carry along).
    """
    target = Path(target)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    total = 0

    def step(_status: int, remaining: int, pages: int) -> None:
        nonlocal total
        total = pages
        if progress is not None:
            progress(pages - remaining, pages)

    source = sqlite3.connect(f"file:{sqlite_path(database_url)}?mode=ro", uri=True)
    try:
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy, pages=PAGES_PER_STEP, progress=step)
            copy.execute("PRAGMA journal_mode=DELETE")  # a self-contained file
        finally:
            copy.close()
    finally:
        source.close()
    os.replace(partial, target)
    return total


def pg_dump_command(database_url: str, target: str | Path) -> str:
    """The pg_dump command for this database (the password left to PGPASSWORD or ~/.pgpass)."""
    parsed = make_url(database_url)
    url = URL.create("postgresql", parsed.username, None, parsed.host, parsed.port, parsed.database, parsed.query)
    dsn = url.render_as_string(hide_password=False)
    return (f"pg_dump --format=custom --no-owner --file {shlex.quote(str(target))} {shlex.quote(dsn)}\n"
            f"# restore into an empty database: pg_restore --no-owner --dbname <url> {shlex.quote(str(target))}")
