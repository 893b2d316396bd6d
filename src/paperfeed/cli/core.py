"""Core commands: init, import, export, stats, days, serve, db."""

from __future__ import annotations

import json
import logging
import sys
from contextlib import contextmanager
from pathlib import Path

import click

from paperfeed.cli.context import AppContext, pass_app
from paperfeed.cli.progress import progress_bar
from paperfeed.ingest.formats import PARSERS
from paperfeed.ingest.importer import ImportReport, import_file


def register(cli: click.Group) -> None:
    for command in (init, import_cmd, export, stats, days, serve, db):
        cli.add_command(command)


def print_report(report: ImportReport) -> None:
    for err in report.errors:
        click.echo(f"  skipped {err.where}: {err.reason}", err=True)
    if report.skipped > len(report.errors):
        click.echo(f"  ... and {report.skipped - len(report.errors)} more skipped", err=True)
    for note in report.notes:
        click.echo(f"  imported {note.where} but {note.reason}", err=True)
    click.echo(report.summary())


def run_imports(app: AppContext, files, fmt: str | None, progress: bool, workers: int | None = None) -> ImportReport:
    check_readable(files)
    total = ImportReport()
    with report_skips_once():
        for path in files:
            try:
                with progress_bar(Path(str(path)).name, progress and str(path) != "-", unit="bytes") as on_progress:
                    total.merge(import_file(app.db, path, fmt=fmt, on_progress=on_progress, workers=workers))
            except OSError as exc:  # e.g. removed or unreadable since the check above
                raise click.ClickException(f"cannot read {path}: {exc.strerror or exc}") from None
    return total


def check_readable(files) -> None:
    """One clear line before anything is imported, not a traceback halfway through."""
    for path in files:
        if path == "-":
            continue
        target = Path(path)
        if not target.is_file():
            raise click.ClickException(f"cannot read {path}: no such file")
        try:
            with target.open("rb"):
                pass
        except OSError as exc:
            raise click.ClickException(f"cannot read {path}: {exc.strerror or exc}") from None


@contextmanager
def report_skips_once():
    """The importer logs each skipped line (servers and jobs need that); here print_report
    lists them, so its log lines would show every skip twice."""
    logger = logging.getLogger("paperfeed.ingest.importer")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


@click.command()
@click.option("--demo", "demo_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Import these files once, on the first init only (used by `make run`).")
@pass_app
def init(app: AppContext, demo_files: tuple[str, ...]) -> None:
    """Create or migrate the database, and import demo data on first run."""
    from paperfeed.store.papers import get_state, set_state

    db = app.db  # opening migrates
    with db.session() as session:
        done = get_state(session, "demo_import")
    if demo_files and not done:
        report = run_imports(app, demo_files, None, progress=sys.stderr.isatty())
        print_report(report)
        with db.session() as session:
            set_state(session, "demo_import", {"files": [Path(f).name for f in demo_files], "read": report.read})
    if demo_files:
        _load_shipped_vectors(app, Path(demo_files[0]).parent)
    _sync_search_index(app)
    click.echo(f"database ready: {app.settings.resolved_database_url}")


def _load_shipped_vectors(app: AppContext, directory: Path) -> None:
    """The demo's vectors ship beside it (index/shipped.py): semantic search at once."""
    from paperfeed.index.shipped import load_shipped

    with progress_bar("shipped vectors", sys.stderr.isatty()) as on_progress:
        report = load_shipped(app.db, directory, on_progress=on_progress)
    if report.refused:
        click.echo(f"shipped vectors refused: {report.refused}; the papers will be embedded instead", err=True)
    elif report.stored or report.changed:
        click.echo(f"shipped vectors: {report.stored:,} papers ready for semantic search; "
                   f"{report.changed:,} with changed text and {report.unknown:,} others will be embedded")


def _sync_search_index(app: AppContext) -> None:
    """Index what the import changed (keyword search is current at once; embedding runs later)."""
    from paperfeed.index.sync import sync_index

    sync_index(app.db, app.settings)


@click.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(allow_dash=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(sorted(PARSERS)), help="Input format (default: detected from content).")
@click.option("--progress/--no-progress", default=None, help="Show a progress bar (default: when on a terminal).")
@click.option("--workers", type=click.IntRange(min=0), default=None,
              help="Processes parsing JSON-lines files while this one writes (default: one per core; 0: none).")
@pass_app
def import_cmd(app: AppContext, files: tuple[str, ...], fmt: str | None, progress: bool | None,
               workers: int | None) -> None:
    """Import papers from FILES (plain or .gz; '-' for stdin).

    Formats: arXiv bulk snapshot JSONL, paperfeed JSONL, and the others listed under
    --format. Malformed records are skipped and reported; the rest import. Exits non-zero
    only when nothing could be read.
    """
    show = sys.stderr.isatty() if progress is None else progress
    report = run_imports(app, files, fmt, show, workers)
    print_report(report)
    _sync_search_index(app)
    if report.read == 0:
        raise SystemExit(1)


@click.command()
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Only papers submitted or announced on or after this day.")
@click.option("--out", type=click.Path(dir_okay=False, allow_dash=True), default="-", show_default=True,
              help="Output file ('-' for stdout).")
@pass_app
def export(app: AppContext, since, out: str) -> None:
    """Export papers as paperfeed JSONL, which `paperfeed import` reads back exactly."""
    from paperfeed.ingest.export import iter_export_lines

    since_day = since.date() if since else None
    to_stdout = out == "-"
    try:
        sink = sys.stdout.buffer if to_stdout else open(out, "wb")
    except OSError as exc:
        raise click.ClickException(f"cannot write {out}: {exc.strerror or exc}") from None
    written = 0
    try:
        with app.db.session() as session:
            for line in iter_export_lines(session, since_day):
                sink.write(line)
                written += 1
    finally:
        if not to_stdout:
            sink.close()
        else:
            sink.flush()
    # On stderr when the papers go to stdout, so a pipe gets only JSON lines.
    where = "stdout" if to_stdout else out
    click.echo(f"exported {written} paper{'' if written == 1 else 's'} to {where}", err=to_stdout)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def stats(app: AppContext, as_json: bool) -> None:
    """Show counts: papers, days, entries, sources and database size."""
    import dataclasses

    from paperfeed.store.feed import instance_stats

    with app.db.session() as session:
        info = dataclasses.asdict(instance_stats(session))
    info["database_bytes"] = _database_size(app)
    if as_json:
        click.echo(json.dumps(info, default=str, indent=2))
        return
    click.echo(f"papers:    {info['papers']}")
    click.echo(f"days:      {info['days']} ({info['first_day']} .. {info['last_day']})")
    click.echo(f"entries:   {info['entries']}")
    click.echo("sources:   " + ", ".join(f"{k} {v}" for k, v in info["sources"].items()))
    click.echo(f"database:  {info['database_bytes'] / 1e6:.1f} MB")


def _database_size(app: AppContext) -> int:
    db = app.db
    if db.is_sqlite:
        path = Path(db.engine.url.database or "")
        return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    with db.engine.connect() as conn:
        return conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar() or 0


@click.command()
@click.option("--limit", type=click.IntRange(min=0), default=0, help="Show only the latest N days.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: a list of {day, papers}.")
@pass_app
def days(app: AppContext, limit: int, as_json: bool) -> None:
    """List the days that have papers, with counts."""
    from paperfeed.store.feed import days_with_counts

    with app.db.session() as session:
        rows = days_with_counts(session)
    rows = rows[-limit:] if limit else rows
    if as_json:
        click.echo(json.dumps([{"day": day.isoformat(), "papers": count} for day, count in rows], indent=2))
        return
    for day, count in rows:
        click.echo(f"{day.isoformat()}  {count}")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="Worker processes.")
@pass_app
def serve(app: AppContext, host: str, port: int, workers: int) -> None:
    """Serve the web UI and JSON API (migrates the database first)."""
    import uvicorn

    from paperfeed.web.app import create_app

    _wait_for_database(app)
    app.db  # migrate before serving
    _links_from_bind(app, host, port)
    click.echo(start_line(app, host, port), err=True)
    options = {"log_config": serve_log_config(), **proxy_options(app.settings)}
    if workers > 1:
        import os

        from paperfeed.metrics import use_multiproc_dir
        from paperfeed.web.supervision import mark_as_supervisor

        if app.config_file:
            os.environ["PAPERFEED_CONFIG"] = str(app.config_file)
        mark_as_supervisor()  # workers stop when this process dies, even by kill -9
        use_multiproc_dir(app.settings.data_dir)  # the workers' /metrics add up all of them
        uvicorn.run("paperfeed.web.app:app_from_environment", factory=True, host=host, port=port, workers=workers,
                    **options)
        return
    uvicorn.run(create_app(app.settings), host=host, port=port, **options)


def _links_from_bind(app: AppContext, host: str, port: int) -> None:
    """Absolute links (mail, feeds) use the address served when PAPERFEED_BASE_URL is not
    set; when it is set and names another address, say so once."""
    import os

    bound = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    if "base_url" not in app.settings.model_fields_set:
        app.update_settings(base_url=bound)
        os.environ["PAPERFEED_BASE_URL"] = bound  # worker processes read their settings afresh
    elif app.settings.base_url.rstrip("/") != bound:
        click.echo(f"note: links in mail and feeds use PAPERFEED_BASE_URL={app.settings.base_url}, "
                   f"not the address served ({bound})", err=True)


def start_line(app: AppContext, host: str, port: int) -> str:
    from paperfeed import __version__
    from paperfeed.index.status import index_status

    try:
        info = index_status(app.db, app.settings)
        state = (f"{info['papers']:,} papers; keyword index "
                 f"{'ready' if info['keyword_docs'] else 'building'}; vectors {info['embedded_pct']:.0f}%")
    except Exception as exc:  # noqa: BLE001 - the line is a courtesy: never stop serving for it
        state = f"index state unknown: {exc}"
    return f"paperfeed {__version__} serving http://{host}:{port} ({state})"


def serve_log_config() -> dict:
    """Timestamped, levelled lines; uvicorn's own access log is off because the app logs one
    line per request with its latency (paperfeed.access)."""
    from paperfeed.cli import LOG_FORMAT

    handler = {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}
    return {
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"plain": {"format": LOG_FORMAT}},
        "handlers": {"stderr": handler},
        "root": {"handlers": ["stderr"], "level": logging.getLevelName(logging.getLogger().level)},  # -v: INFO
        "loggers": {"paperfeed.access": {"level": "INFO"}, "uvicorn.access": {"level": "WARNING"},
                    "uvicorn.error": {"level": "INFO"}, "uvicorn": {"level": "INFO"}},
    }


def proxy_options(settings) -> dict:
    """uvicorn believes X-Forwarded-For/-Proto from 127.0.0.1 unless told otherwise: only the
    configured proxies may set the client address (the app applies the same rule itself)."""
    trusted = list(settings.trusted_proxies)
    if not trusted:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": trusted}


def _wait_for_database(app: AppContext) -> None:
    """A database that is still starting (or restarting) gets database_connect_wait_seconds;
    then one line and exit 1, not a traceback."""
    from paperfeed.db import DatabaseUnreachable, wait_for_database

    try:
        wait_for_database(app.settings, app.settings.database_connect_wait_seconds,
                          report=lambda line: click.echo(line, err=True))
    except DatabaseUnreachable as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def db() -> None:
    """Database maintenance."""


@db.command()
@pass_app
def upgrade(app: AppContext) -> None:
    """Apply pending migrations (serve and every command also do this on start)."""
    from paperfeed.db import Database, current_revision
    from paperfeed.db import upgrade as run_upgrade

    database = Database(app.settings)
    run_upgrade(database.engine)
    click.echo(f"database at revision {current_revision(database.engine)}")
    database.dispose()


