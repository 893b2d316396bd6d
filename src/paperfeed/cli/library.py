"""``paperfeed user import-library USERNAME FILE``: a reference-manager export becomes one of
the user's private collections, as the web upload does (same checks, one transaction)."""

from __future__ import annotations

from pathlib import Path

import click

from paperfeed.cli.context import AppContext, pass_app
from paperfeed.cli.progress import progress_bar
from paperfeed.cli.users import _user_or_fail, user


@user.command("import-library")
@click.argument("username")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--title", default="Imported library", show_default=True, help="The new collection's title.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar while titles are matched.")
@pass_app
def import_library_cmd(app: AppContext, username: str, file: Path, title: str, as_json: bool,
                       progress: bool) -> None:
    """Import a BibTeX, RIS or CSL-JSON library (Zotero, Mendeley, Paperpile) as a private collection."""
    from paperfeed.ingest.library import MAX_FILE_BYTES, LibraryError, import_library
    from paperfeed.store.collections import CollectionError

    with file.open("rb") as fh:
        data = fh.read(MAX_FILE_BYTES + 1)
    try:
        with app.db.session() as session, progress_bar("matching titles", progress, unit="papers") as on_progress:
            report = import_library(session, _user_or_fail(session, username), data, filename=file.name,
                                    title=title, on_progress=on_progress)
            path = f"/c/{report.collection.owner.username}/{report.collection.collection.slug}"
    except (LibraryError, CollectionError) as exc:
        raise click.ClickException(f"{exc} Nothing was imported.") from None
    _print(report, path, as_json)


def _print(report, path: str, as_json: bool) -> None:
    if as_json:
        import orjson

        click.echo(orjson.dumps({"collection": path, "references": report.total, "added": report.added,
                                 "matched": report.matched, "unmatched": report.unmatched}).decode())
        return
    m = report.matched
    click.echo(f"{report.added} of {report.total} references added to {path} "
               f"(arXiv id {m['arxiv']}, DOI {m['doi']}, title {m['title']})")
    if report.unmatched:
        click.echo(f"not found here ({len(report.unmatched)}):")
        for label in report.unmatched:
            click.echo(f"  {label}")


def register(cli: click.Group) -> None:
    """The command hangs on the ``user`` group; importing this module is what adds it."""
