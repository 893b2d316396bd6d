"""``paperfeed index keywords``: key phrases for every paper that lacks current ones."""

from __future__ import annotations

import sys

import click

from paperfeed.cli.context import AppContext, pass_app


def register(cli: click.Group) -> None:
    from paperfeed.cli.search import index

    index.add_command(keywords)


@click.command()
@click.option("--limit", type=click.IntRange(1), default=None, help="Extract for at most N papers, then stop.")
@click.option("--progress/--no-progress", default=None, help="Show a progress bar (default: when on a terminal).")
@pass_app
def keywords(app: AppContext, limit: int | None, progress: bool | None) -> None:
    """Extract 5-8 key phrases per paper, offline (resumable: stop any time, run again).

    Papers whose title and abstract changed, or that an older extractor read, are done
    again; several nodes may run it at once and share the work."""
    from paperfeed.cli.progress import progress_bar
    from paperfeed.index.keywordjob import extract_missing

    show = sys.stderr.isatty() if progress is None else progress
    with progress_bar("key phrases", show, unit="papers") as on_progress:
        report = extract_missing(app.db, limit=limit, on_progress=on_progress)
    rate = f" at {report.papers_per_s:,.0f} papers/s" if report.extracted + report.kept else ""
    click.echo(f"key phrases: extracted {report.extracted}{rate}, unchanged text {report.kept}, "
               f"still missing {report.remaining}")
