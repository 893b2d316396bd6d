from __future__ import annotations

from pathlib import Path

import click

from paperfeed.config import Settings, load_settings
from paperfeed.db import Database, open_database


class AppContext:
    """Settings and the database, opened (and migrated) only when a command needs them."""

    def __init__(self, config_file: Path | None):
        # Settings read a missing TOML file as empty; a path the user named is a mistake to report.
        if config_file is not None and not Path(config_file).is_file():
            raise click.BadParameter(f"{config_file}: no such file", param_hint="'--config'")
        self.config_file = config_file
        self._settings: Settings | None = None
        self._db: Database | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_file)
        return self._settings

    def update_settings(self, **changes) -> None:
        """Settings a command decides itself (serve: links from the address it binds)."""
        self._settings = self.settings.model_copy(update=changes)
        if self._db is not None:
            self._db.settings = self._settings

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = open_database(self.settings)
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()


pass_app = click.make_pass_decorator(AppContext)
