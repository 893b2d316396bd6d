"""``paperfeed fetch``: live fetching from arXiv (API, OAI-PMH, RSS) and Hugging Face."""

from __future__ import annotations

import sys
from datetime import date, timedelta

import click

from paperfeed.cli.context import AppContext, pass_app
from paperfeed.cli.core import print_report, report_skips_once
from paperfeed.cli.progress import progress_bar

DEFAULT_DAYS_BACK = 7


def register(cli: click.Group) -> None:
    cli.add_command(fetch)


@click.group()
def fetch() -> None:
    """Fetch papers live from arXiv and Hugging Face.

    Requests to arXiv hosts are spaced by PAPERFEED_ARXIV_MIN_INTERVAL seconds (3), go
    over one connection, retry timeouts/429/5xx with backoff honouring Retry-After, and
    send a User-Agent naming paperfeed and PAPERFEED_CONTACT_EMAIL.
    """


def _fail_cleanly(func):
    """Turn fetch failures into one clear error line and a non-zero exit; skipped records
    are listed once, by print_report."""
    import functools

    from paperfeed.ingest.atom import ArxivApiError
    from paperfeed.ingest.http import FetchError
    from paperfeed.ingest.oai import OaiError

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            with report_skips_once():
                return func(*args, **kwargs)
        except (ArxivApiError, OaiError, FetchError) as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


def _show_progress(progress: bool | None) -> bool:
    return sys.stderr.isatty() if progress is None else progress


_progress_option = click.option("--progress/--no-progress", default=None,
                                help="Show a progress bar (default: when on a terminal).")


@fetch.command("arxiv")
@click.option("--category", required=True, help="arXiv category, e.g. cs.LG (with --via oai also a raw set spec like cs:cs:LG).")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]),
              help=f"First submission day (api) or datestamp (oai). Default: {DEFAULT_DAYS_BACK} days ago; "
                   "for oai, the day the last complete harvest ran.")
@click.option("--via", type=click.Choice(["api", "oai"]), default="api", show_default=True,
              help="The search API (exact category) or an OAI-PMH harvest (resumable, for bulk).")
@click.option("--max", "max_records", type=click.IntRange(min=1), help="Stop after this many records.")
@click.option("--restart", is_flag=True, help="oai: ignore a checkpointed resumptionToken and start afresh.")
@_progress_option
@pass_app
@_fail_cleanly
def fetch_arxiv(app: AppContext, category: str, since, via: str, max_records: int | None, restart: bool,
                progress: bool | None) -> None:
    """Fetch a category's recent papers from arXiv.

    An OAI-PMH harvest checkpoints its resumptionToken with every committed page: if it is
    interrupted (or stops at --max), running the same command again resumes it.
    """
    from paperfeed.ingest.fetch import (
        harvest_oai,
        oai_set_for_category,
        search_arxiv_api,
    )

    start = since.date() if since else None
    default_start = date.today() - timedelta(days=DEFAULT_DAYS_BACK)
    if via == "oai":
        with progress_bar(f"OAI-PMH {category}", _show_progress(progress)) as on_progress:
            report = harvest_oai(app.db, app.settings, set_spec=oai_set_for_category(category), since=start,
                                 max_records=max_records, restart=restart, default_since=default_start,
                                 on_progress=on_progress)
    else:
        day = start or default_start
        query = f"cat:{category} AND submittedDate:[{day:%Y%m%d}0000 TO {date.today() + timedelta(days=1):%Y%m%d}2359]"
        with progress_bar("arXiv API", _show_progress(progress)) as on_progress:
            report = search_arxiv_api(app.db, app.settings, query=query, max_results=max_records,
                                      on_progress=on_progress, state_name=f"fetch:api:{category}")
    print_report(report)


@fetch.command("rss")
@click.argument("categories")
@pass_app
@_fail_cleanly
def fetch_rss_cmd(app: AppContext, categories: str) -> None:
    """Import today's arXiv announcement feed.

    CATEGORIES is joined with '+', e.g. cs.LG+cs.CL. New and cross-listed papers get an entry on the announcement day's page; replacements
    only update the papers' metadata.
    """
    from paperfeed.ingest.fetch import fetch_rss

    print_report(fetch_rss(app.db, app.settings, categories))


@fetch.command("hf")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="The day's page to fetch (default: HF's latest).")
@pass_app
@_fail_cleanly
def fetch_hf_cmd(app: AppContext, day) -> None:
    """Import Hugging Face's daily papers page.

    Each paper gets an "hf" entry on that day's page carrying HF's upvotes and comment count.
    """
    from paperfeed.ingest.fetch import fetch_hf

    print_report(fetch_hf(app.db, app.settings, day.date() if day else None))


@fetch.command("ids")
@click.argument("ids", nargs=-1, required=True)
@pass_app
@_fail_cleanly
def fetch_ids(app: AppContext, ids: tuple[str, ...]) -> None:
    """Fetch papers by arXiv id or abs/pdf URL.

    For example: paperfeed fetch ids 2401.00001 astro-ph/0601001. Exits non-zero when none of them could be fetched.
    """
    from paperfeed.ingest.fetch import fetch_arxiv_ids

    report = fetch_arxiv_ids(app.db, app.settings, ids)
    print_report(report)
    if report.read == 0:
        raise SystemExit(1)
