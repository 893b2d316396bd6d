"""Search commands: ``search`` and the ``index`` group (build, status, embed, sync)."""

from __future__ import annotations

import json
import re
import sys

import click

from paperfeed.cli.context import AppContext, pass_app


def register(cli: click.Group) -> None:
    cli.add_command(search_cmd)
    cli.add_command(index)


@click.command("search")
@click.argument("query")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000), help="Results to show.")
@click.option("--offset", default=0, show_default=True, type=click.IntRange(0, 10_000), help="Results to skip.")
@click.option("--mode", type=click.Choice(["keyword", "semantic", "hybrid"]), default="hybrid", show_default=True,
              help="keyword (BM25), semantic (embeddings) or hybrid (both, fused).")
@click.option("--category", help="Only papers in this category (cs.LG) or archive (cs).")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Only papers published on or after this day.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Only papers published on or before this day.")
@click.option("--exact", is_flag=True, help="Search the words as typed: no spelling corrections.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (id, title, score, published, mode, ...).")
@pass_app
def search_cmd(app: AppContext, query: str, limit: int, offset: int, mode: str, category: str | None, since, until,
               exact: bool, as_json: bool) -> None:
    """Search every paper for QUERY.

    QUERY may contain "exact phrases", author:name, author:"Full Name" and cat:cs.LG;
    the other words are ranked by BM25 (keyword), by meaning (semantic) or both (hybrid).
    """
    from paperfeed.index.sync import sync_keyword_if_free
    from paperfeed.rank.search import SearchError, search

    sync_keyword_if_free(app.db, app.settings)  # no server may be keeping this data dir current
    try:
        results = search(app.db, query, limit=limit, offset=offset, mode=mode, category=category,
                          since=since.date() if since else None, until=until.date() if until else None,
                          exact=exact)
    except SearchError as exc:
        raise click.UsageError(str(exc)) from exc
    if results.corrected:
        click.echo(f"showing results for: {results.corrected} (--exact to search the words as typed)", err=True)
    if results.notice:
        click.echo(results.notice, err=True)
    if as_json:
        click.echo(json.dumps([_hit_json(h, results.mode) for h in results.hits], indent=2))
        return
    if not results.hits:
        click.echo("no results", err=True)
    for rank, hit in enumerate(results.hits, start=offset + 1):
        p = hit.paper
        click.echo(f"{rank:>3}. [{p.id}] {p.title}  ({p.published or '?'}, {p.primary_category or '-'}, "
                   f"score {hit.score:.3f})")


def _hit_json(hit, mode: str) -> dict:
    p = hit.paper
    return {"id": p.id, "title": p.title, "score": round(hit.score, 6),
            "published": p.published.isoformat() if p.published else None, "mode": mode,
            "authors": p.author_names, "categories": p.category_list, "abs_url": p.abs_url}


@click.group()
def index() -> None:
    """Keyword and vector search indexes (derived from the database; rebuildable)."""


@index.command()
@click.option("--keyword-only", is_flag=True, help="Rebuild the keyword index only (seconds); embed nothing.")
@click.option("--progress/--no-progress", default=None, help="Show a progress bar (default: when on a terminal).")
@pass_app
def build(app: AppContext, keyword_only: bool, progress: bool | None) -> None:
    """Rebuild the keyword index and the vector snapshot from the database, then embed the
    papers that have no stored vector; stored vectors are never computed again."""
    from paperfeed.index.sync import rebuild_keyword, sync_index

    report = rebuild_keyword(app.db, app.settings)
    click.echo(f"keyword index: {report.indexed} papers")
    if keyword_only:
        return
    vectors = sync_index(app.db, app.settings).vectors
    if vectors is not None:
        click.echo(f"vector snapshot: {vectors} stored vectors")
    _embed(app, None, progress)


@index.command()
@click.option("--limit", type=click.IntRange(1), default=None, help="Embed at most N papers, then stop.")
@click.option("--progress/--no-progress", default=None, help="Show a progress bar (default: when on a terminal).")
@click.option("--device", default=None, help="auto, cpu, cuda or cuda:N (default: PAPERFEED_EMBEDDING_DEVICE).")
@click.option("--batch-size", type=click.IntRange(1, 4096), default=None,
              help="Texts per forward pass (default 32; a GPU takes hundreds).")
@pass_app
def embed(app: AppContext, limit: int | None, progress: bool | None, device: str | None,
          batch_size: int | None) -> None:
    """Embed papers that have no vector yet (resumable: stop any time, run again)."""
    _embed(app, limit, progress, device, batch_size)


def _embed(app: AppContext, limit: int | None, progress: bool | None, device: str | None = None,
           batch_size: int | None = None) -> None:
    from paperfeed.cli.progress import progress_bar
    from paperfeed.index.embed import EmbeddingUnavailable, get_embedder
    from paperfeed.index.embedjob import embed_missing

    show = sys.stderr.isatty() if progress is None else progress
    if device is not None and not _DEVICE.fullmatch(device):
        raise click.BadParameter(f"{device!r}: use auto, cpu, cuda or cuda:N", param_hint="'--device'")
    try:
        embedder = get_embedder(device or app.settings.embedding_device, app.settings.embedding_threads)
        if batch_size:
            embedder.batch_size = batch_size
        click.echo(f"embedding on {embedder.device}, {embedder.batch_size} texts per batch", err=True)
        with progress_bar("embedding", show, unit="papers") as on_progress:
            report = embed_missing(app.db, app.settings, limit=limit, on_progress=on_progress, embedder=embedder)
    except EmbeddingUnavailable as exc:
        raise click.ClickException(str(exc)) from exc
    rate = f" at {report.docs_per_s:.1f} papers/s" if report.embedded else ""
    click.echo(f"embedded {report.embedded}{rate}, unchanged text {report.reused}, still missing {report.remaining}")


_DEVICE = re.compile(r"auto|cpu|cuda(:\d{1,2})?")


@index.command()
@pass_app
def sync(app: AppContext) -> None:
    """Bring the keyword index and vector snapshot up to date with the database (fast)."""
    from paperfeed.index.sync import sync_index

    report = sync_index(app.db, app.settings)
    click.echo(f"indexed {report.indexed}, removed {report.removed}"
               + (f", vector snapshot {report.vectors}" if report.vectors is not None else ""))


@index.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def status(app: AppContext, as_json: bool) -> None:
    """Show how many papers are indexed and how far embedding has got."""
    from paperfeed.index.status import eta_words, index_status

    info = index_status(app.db, app.settings)
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    click.echo(f"papers (not withdrawn): {info['papers']:,}")
    click.echo(f"keyword index:          {info['keyword_docs']:,} papers, {info['keyword_bytes'] / 1e6:.1f} MB")
    click.echo(f"semantic search:        {info['searchable']:,} of {info['papers']:,} papers searchable by meaning")
    click.echo(f"embedded:               {info['embedded']:,} ({info['embedded_pct']:.1f}%) with passages, "
               f"model {info['model']}")
    if info["missing"]:
        pace = (f"{info['rate']:.1f} papers/s, {eta_words(info['eta_seconds'])} left" if info["rate"]
                else "no embedder running lately")
        click.echo(f"still to embed:         {info['missing']:,} ({pace})")
    click.echo(f"vector index:           {info['vector_docs']:,} papers ({info['vector_kind']})")
