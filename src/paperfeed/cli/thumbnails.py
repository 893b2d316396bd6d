"""``paperfeed thumbnails run|status``: first-page thumbnails from the command line, on any
instance (the worker makes them by itself only while it fetches on schedule)."""

from __future__ import annotations

import sys

import click
import orjson

from paperfeed.cli.context import AppContext, pass_app


def register(cli: click.Group) -> None:
    cli.add_command(thumbnails)


@click.group()
def thumbnails() -> None:
    """First-page thumbnails of the papers on day pages."""


@thumbnails.command("run")
@click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True,
              help="Make at most this many thumbnails.")
@click.argument("paper_ids", nargs=-1)
@pass_app
def run(app: AppContext, limit: int, paper_ids: tuple[str, ...]) -> None:
    """Fetch PDFs (politely, from PAPERFEED_THUMBNAIL_PDF_BASE_URL) and render thumbnails:
    PAPER_IDS first, then papers on recent day pages, newest day first. Resumable: papers are
    claimed one at a time, so this runs safely beside a worker."""
    from paperfeed.cli.progress import progress_bar
    from paperfeed.jobs.fetch import make_client
    from paperfeed.jobs.runner import utc_now
    from paperfeed.jobs.thumbnails import WantedPapers, make_thumbnails
    from paperfeed.store.claims import new_owner

    if not app.settings.thumbnails:
        raise click.ClickException("thumbnails are off (PAPERFEED_THUMBNAILS=false)")
    wanted = WantedPapers()
    for pk in reversed(_paper_pks(app, paper_ids)):
        wanted.add(pk)
    with make_client(app.settings) as client, progress_bar("thumbnails", sys.stderr.isatty(), "papers") as bar:
        report = make_thumbnails(app.db, app.settings, client, owner=new_owner(), clock=utc_now, limit=limit,
                                 wanted=wanted, on_progress=bar)
    click.echo(f"thumbnails: {report.summary()}")


def _paper_pks(app: AppContext, paper_ids: tuple[str, ...]) -> list[int]:
    from paperfeed.store.papers import get_paper

    pks = []
    with app.db.session() as session:
        for paper_id in paper_ids:
            paper = get_paper(session, paper_id)
            if paper is None:
                raise click.BadParameter(f"no paper {paper_id!r} on this instance", param_hint="PAPER_IDS")
            pks.append(paper.pk)
    return pks


@thumbnails.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def status(app: AppContext, as_json: bool) -> None:
    """How many thumbnails are made, waiting, to retry and failed (with the commonest reasons)."""
    from paperfeed.store.thumbnails import backlog

    with app.db.session() as session:
        info = backlog(session, app.settings.thumbnail_days)
    click.echo(orjson.dumps(info.as_json()).decode() if as_json else f"thumbnails: {info.summary()}")
