"""Counts for ``paperfeed index status`` and the web's notice."""

from __future__ import annotations

from paperfeed.config import Settings
from paperfeed.db import Database
from paperfeed.index.embed import MODEL_NAME
from paperfeed.index.embedjob import count_missing
from paperfeed.index.engine import engine_for
from paperfeed.index.sync import vector_dir
from paperfeed.index.vectors import EXACT_MAX, read_meta
from paperfeed.store.indexing import live_paper_count


def index_status(db: Database, settings: Settings) -> dict:
    with db.session() as session:
        papers = live_paper_count(session)
    missing = count_missing(db, MODEL_NAME)
    kw = engine_for(settings).keyword()  # None while missing or damaged
    vector_docs = read_meta(vector_dir(settings)).get("count", 0)
    return {
        "papers": papers,
        "keyword_docs": kw.num_docs if kw else 0,
        "keyword_bytes": kw.size_bytes() if kw else 0,
        "embedded": papers - missing,
        "missing": missing,
        "embedded_pct": 100.0 * (papers - missing) / papers if papers else 100.0,
        "model": MODEL_NAME,
        "vector_docs": vector_docs,
        "vector_kind": "exact inner product" if vector_docs <= EXACT_MAX else "faiss IVF,SQ8",
    }
