"""The ``paperfeed`` command. Thin: each command parses its arguments and calls the library.

Command groups for each feature live in their own module here and are added at the bottom.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from paperfeed.cli.context import AppContext


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              envvar="PAPERFEED_CONFIG", help="TOML settings file (keys as in Settings, e.g. database_url).")
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
@click.version_option(package_name="paperfeed")
@click.pass_context
def cli(ctx: click.Context, config_file: Path | None, verbose: bool) -> None:
    """paperfeed: a self-hostable Daily Papers hub.

    Settings come from PAPERFEED_* environment variables and an optional --config TOML file.
    """
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format=LOG_FORMAT)
    ctx.obj = AppContext(config_file)
    ctx.call_on_close(ctx.obj.close)


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def main() -> None:
    from sqlalchemy.exc import OperationalError

    try:
        cli(prog_name="paperfeed")
    except OperationalError as exc:  # one line, not a traceback: the operator needs the cause only
        reason = str(exc.orig or exc).strip().splitlines()[0]
        click.echo(f"Error: cannot reach the database: {reason}", err=True)
        sys.exit(1)


from paperfeed.cli import core  # noqa: E402  (commands register on the group)

core.register(cli)
from paperfeed.cli import fetch as fetch_cli; fetch_cli.register(cli)  # noqa: E402,E702
from paperfeed.cli import search as search_cli; search_cli.register(cli)  # noqa: E402,E702
from paperfeed.cli import digest as digest_cli; digest_cli.register(cli)  # noqa: E402,E702
from paperfeed.cli import users as users_cli; users_cli.register(cli)  # noqa: E402,E702
from paperfeed.cli import jobs as jobs_cli; jobs_cli.register(cli)  # noqa: E402,E702
from paperfeed.cli import thumbnails as thumbnails_cli; thumbnails_cli.register(cli)  # noqa: E402,E702
from paperfeed.cli import keywords as keywords_cli; keywords_cli.register(cli)  # noqa: E402,E702
from paperfeed.cli import library as library_cli; library_cli.register(cli)  # noqa: E402,E702
