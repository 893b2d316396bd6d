"""Counts for ``paperfeed index status`` and the web's notice."""

from __future__ import annotations

from sqlalchemy import func, select

from paperfeed.config import Settings
from paperfeed.db import Database
from paperfeed.index.embed import MODEL_NAME
from paperfeed.index.embedjob import count_missing
from paperfeed.index.keyword import KeywordIndex
from paperfeed.index.sync import keyword_dir, vector_dir
from paperfeed.index.vectors import EXACT_MAX, read_meta
from paperfeed.models import Paper


def index_status(db: Database, settings: Settings) -> dict:
    with db.session() as session:
        papers = session.scalar(select(func.count()).select_from(Paper).where(Paper.withdrawn.is_(False))) or 0
    missing = count_missing(db, MODEL_NAME)
    kw = KeywordIndex(keyword_dir(settings))
    vector_docs = read_meta(vector_dir(settings)).get("count", 0)
    return {
        "papers": papers,
        "keyword_docs": kw.num_docs,
        "keyword_bytes": kw.size_bytes(),
        "embedded": papers - missing,
        "missing": missing,
        "embedded_pct": 100.0 * (papers - missing) / papers if papers else 100.0,
        "model": MODEL_NAME,
        "vector_docs": vector_docs,
        "vector_kind": "exact inner product" if vector_docs <= EXACT_MAX else "faiss IVF,SQ8",
    }
