"""Counts for ``paperfeed index status`` and the web's notice, with the embedders' pace."""

from __future__ import annotations

from paperfeed.config import Settings
from paperfeed.db import Database
from paperfeed.index.embed import MODEL_NAME
from paperfeed.index.embedjob import count_missing
from paperfeed.index.engine import engine_for
from paperfeed.index.sync import vector_dir
from paperfeed.index.vectors import EXACT_MAX, read_meta
from paperfeed.store.indexing import count_with_embedding, embedding_rate, live_paper_count


def index_status(db: Database, settings: Settings) -> dict:
    with db.session() as session:
        papers = live_paper_count(session)
        searchable = count_with_embedding(session)
        rate = embedding_rate(session, MODEL_NAME)
    missing = count_missing(db, MODEL_NAME)
    kw = engine_for(settings).keyword()  # None while missing or damaged
    vector_docs = read_meta(vector_dir(settings)).get("count", 0)
    return {
        "papers": papers,
        "keyword_docs": kw.num_docs if kw else 0,
        "keyword_bytes": kw.size_bytes() if kw else 0,
        "searchable": searchable,  # with any vector: shipped (whole text) or full
        "embedded": papers - missing,  # with the full embedding (whole text and passages)
        "missing": missing,
        "embedded_pct": 100.0 * (papers - missing) / papers if papers else 100.0,
        "model": MODEL_NAME,
        "rate": rate,  # papers/s the embedders stored lately; None when unknown
        "eta_seconds": missing / rate if rate and missing else None,
        "vector_docs": vector_docs,
        "vector_kind": "exact inner product" if vector_docs <= EXACT_MAX else "faiss IVF,SQ8",
    }


def eta_words(seconds: float | None) -> str | None:
    """"about 3 hours 10 minutes" for an ETA; None when unknown."""
    if seconds is None:
        return None
    minutes = round(seconds / 60)
    if minutes < 1:
        return "less than a minute"
    hours, minutes = divmod(minutes, 60)
    parts = ([f"{hours} hour{'s' if hours != 1 else ''}"] if hours else []) + \
            ([f"{minutes} minute{'s' if minutes != 1 else ''}"] if minutes else [])
    return "about " + " ".join(parts)
