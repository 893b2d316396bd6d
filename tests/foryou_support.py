"""For you test data: 18 real listing papers in three topics (robotics, audio, security),
announced over three days, with real vectors from the packaged model.

The model runs once per test session: a caching embedder hands the same vectors to every
database (SQLite and PostgreSQL), stored through the normal embedding job."""

from __future__ import annotations

import json
from pathlib import Path

from paperfeed.db import Database
from paperfeed.index.embed import get_embedder
from paperfeed.index.embedjob import embed_missing
from paperfeed.index.sync import sync_index
from paperfeed.ingest.importer import import_file

FIXTURE = Path(__file__).parent / "fixtures" / "foryou" / "papers.jsonl"
PAPERS = [json.loads(line) for line in FIXTURE.read_text().splitlines()]
TOPIC = {p["id"]: p["categories"].split()[0] for p in PAPERS}  # cs.RO, cs.SD or cs.CR
DAYS = sorted({p["announce_date"] for p in PAPERS})


def topic_ids(topic: str) -> list[str]:
    return [pid for pid, t in TOPIC.items() if t == topic]


class CachedEmbedder:
    """The real embedder, remembering what it computed (the model is the slow part)."""

    _vectors: dict[str, object] = {}

    def __init__(self):
        self.real = get_embedder("cpu", 1)
        self.name, self.dim = self.real.name, self.real.dim

    def encode_documents(self, texts, batch_size: int = 32):
        import numpy as np

        todo = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if todo:
            self._vectors.update(zip(todo, self.real.encode_documents(todo, batch_size)))
        return np.vstack([self._vectors[t] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def encode_query(self, text: str):
        return self.real.encode_query(text)


def load_papers(db: Database, *, embed: bool = True) -> None:
    """Imports the 18 papers; with ``embed``, stores their vectors and builds the snapshot."""
    import_file(db, FIXTURE)
    if embed:
        embed_missing(db, db.settings, embedder=CachedEmbedder())
    else:
        sync_index(db, db.settings)


def pk_of(db: Database, paper_id: str) -> int:
    from paperfeed.store.papers import get_paper

    with db.session() as session:
        return get_paper(session, paper_id).pk
