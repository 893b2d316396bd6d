"""Progress bars, drawn by the CLI. The library reports progress through a plain callback,
``on_progress(done, total)`` (total None while unknown), and never draws anything itself."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.text import Text

OnProgress = Callable[[int, "int | None"], None]


class _RateColumn(ProgressColumn):
    def __init__(self, unit: str):
        super().__init__()
        self.unit = unit

    def render(self, task) -> Text:
        return Text(f"{task.speed:.1f} {self.unit}/s" if task.speed else f"-- {self.unit}/s")


def _columns(label: str, unit: str) -> list:
    if unit == "bytes":
        return [TextColumn(f"[bold]{label}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                TimeRemainingColumn()]
    return [TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), _RateColumn(unit),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()]


@contextmanager
def progress_bar(label: str, enabled: bool, unit: str = "records") -> Iterator[OnProgress | None]:
    """A bar on stderr while the block runs, fed by the callback it yields (None when off)."""
    if not enabled:
        yield None
        return
    with Progress(*_columns(label, unit), console=Console(stderr=True)) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)
