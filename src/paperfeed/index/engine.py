"""A process's read handles on one data dir's indexes: opened checked, never written.

Requests only read. The sync loop (index/syncloop.py) writes new generations beside the
live ones and swaps them in; a handle notices the swap with one ``stat`` of the pointer
and checks a new generation's manifest before opening it. Before every use it checks
the sizes of the files it has open (one ``stat`` each), because a memory-mapped file
truncated under a reader kills the process with SIGBUS; a damaged index is dropped and
the caller answers without it (rank/search.py) until the sync loop has rebuilt it.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from paperfeed.config import Settings
from sqlalchemy.orm import Session
from paperfeed.index import generations
from paperfeed.index.generations import DamagedIndex
from paperfeed.index.keyword import SCHEMA_VERSION, KeywordIndex
from paperfeed.index.sync import keyword_root, keyword_seq, vector_dir
from paperfeed.index.vectors import VectorSnapshot, VectorStore, empty_snapshot
from paperfeed.store.indexing import newest_change

log = logging.getLogger(__name__)


class Engine:
    def __init__(self, settings: Settings):
        self.root = keyword_root(settings)
        self.vectors = VectorStore(vector_dir(settings))
        self._name: str | None = None
        self._bad: str | None = None  # a generation that failed its check
        self._keyword: KeywordIndex | None = None
        self._lock = threading.Lock()

    def keyword(self) -> KeywordIndex | None:
        """The live keyword index, or None while it is missing, damaged or being rebuilt."""
        for _ in range(3):  # a generation can be swapped and removed while we open it: look again
            name = generations.current(self.root)
            index = self._keyword_at(name)
            if index is not None or generations.current(self.root) == name:
                return index
        return None

    def _keyword_at(self, name: str | None) -> KeywordIndex | None:
        with self._lock:
            if name is None or name == self._bad:  # missing, or found damaged already: no more logging
                self._name = self._keyword = None
            elif name != self._name:
                self._keyword = self._open(self.root / name)
                self._name = name if self._keyword is not None else None
                self._bad = None if self._keyword is not None else name
            elif not generations.verify(self.root / name, checksums=False).ok:
                log.error("keyword index %s changed on disk; answering without it until it is rebuilt", name)
                self._name = self._keyword = None
                self._bad = name
            return self._keyword

    def _open(self, folder: Path) -> KeywordIndex | None:
        check = generations.verify(folder)
        if not check.ok:
            log.error("keyword index %s is damaged (%s); answering without it", folder.name, check.problem)
            return None
        schema = folder / "paperfeed-schema"
        if not schema.exists() or schema.read_text() != SCHEMA_VERSION:
            return None  # written by another release: the sync loop rebuilds it
        return KeywordIndex(folder)

    def snapshot(self) -> VectorSnapshot:
        """The live vector snapshot; an empty one while it is missing or damaged."""
        try:
            return self.vectors.snapshot()
        except (DamagedIndex, OSError, ValueError) as exc:
            log.error("vector snapshot unusable (%s); answering without it until it is rebuilt", exc)
            return empty_snapshot()

    def behind(self, session: Session) -> bool:
        """Whether papers have changed since the keyword generation in use (one index look-up)."""
        applied = keyword_seq(self.root / self._name) if self._name else -1
        return newest_change(session) > applied


_engines: dict[Path, Engine] = {}
_engines_lock = threading.Lock()


def engine_for(settings: Settings) -> Engine:
    """The cached handles of a data dir (one per process)."""
    root = settings.index_dir().resolve()
    with _engines_lock:
        engine = _engines.get(root)
        if engine is None:
            engine = _engines[root] = Engine(settings)
        return engine


def forget_engines() -> None:
    """Drop cached index handles (tests that delete index directories use this)."""
    with _engines_lock:
        _engines.clear()
