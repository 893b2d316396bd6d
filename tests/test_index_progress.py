"""The indexing notice's progress and ETA: from the embedders' own `embedded_at` times,
in the search notice (UI and X-Search-Notice), `index_status` and `paperfeed index status`."""

from datetime import timedelta

import numpy as np
from click.testing import CliRunner
from sqlalchemy import select

from paperfeed.cli import cli
from paperfeed.index.embed import MODEL_NAME
from paperfeed.index.status import eta_words, index_status
from paperfeed.index.sync import sync_index
from paperfeed.models import Paper
from paperfeed.rank.search import search
from paperfeed.store.changes import bump
from paperfeed.store.indexing import embedding_rate, store_embeddings
from pinned import naive_now
from search_support import import_papers, paper


def embedded_at(db, times: list) -> None:
    """Stored embeddings (random unit vectors) for the first len(times) papers, at those times."""
    rng = np.random.default_rng(1)
    with db.session() as session:
        papers = session.execute(select(Paper.pk, Paper.content_hash).order_by(Paper.pk)).all()[:len(times)]
        rows = []
        for (pk, content_hash), at in zip(papers, times):
            vector = rng.standard_normal(384).astype(np.float32)
            rows.append({"paper_pk": pk, "model": MODEL_NAME, "content_hash": content_hash, "text_hash": "x",
                         "dim": 384, "vector": (vector / np.linalg.norm(vector)).astype(np.float16).tobytes(),
                         "embedded_at": at, "change_seq": bump(session)})
        store_embeddings(session, rows, [])


def test_eta_words():
    assert eta_words(None) is None
    assert eta_words(20) == "less than a minute"
    assert eta_words(61) == "about 1 minute"
    assert eta_words(2 * 3600 + 5 * 60) == "about 2 hours 5 minutes"
    assert eta_words(3600) == "about 1 hour"


def test_notice_status_and_cli_show_progress_and_eta(db, tmp_path, settings):
    import_papers(db, tmp_path, [paper(f"2506.{i:05d}", f"Sparse attention study {i}") for i in range(12)])
    t0 = naive_now()
    # two chunks: 2 papers stored at t0, 2 more 40 s later: 2 papers made in 40 s
    embedded_at(db, [t0, t0, t0 + timedelta(seconds=40), t0 + timedelta(seconds=40)])
    with db.session() as session:
        assert embedding_rate(session, MODEL_NAME) == 2 / 40
    sync_index(db, db.settings)
    results = search(db, "sparse attention", mode="hybrid")
    assert results.mode == "keyword"
    # 8 papers left at 0.05 papers/s: 160 s
    assert results.notice == ("Semantic search is still indexing (4 of 12 papers, about 3 minutes left); "
                              "showing keyword results.")
    info = index_status(db, db.settings)
    assert (info["searchable"], info["missing"], info["eta_seconds"]) == (4, 8, 160)
    env = {"PAPERFEED_DATABASE_URL": settings.resolved_database_url, "PAPERFEED_DATA_DIR": str(settings.data_dir)}
    out = CliRunner().invoke(cli, ["index", "status"], env=env, catch_exceptions=False).output
    assert "4 of 12 papers searchable by meaning" in out
    assert "still to embed:         8 (0.1 papers/s, about 3 minutes left)" in out


def test_without_a_pace_there_is_no_eta(db, tmp_path):
    import_papers(db, tmp_path, [paper(f"2506.{i:05d}", f"Sparse attention study {i}") for i in range(5)])
    embedded_at(db, [naive_now()])  # one chunk: no pace to tell
    sync_index(db, db.settings)
    assert search(db, "sparse attention").notice == ("Semantic search is still indexing (1 of 5 papers); "
                                                     "showing keyword results.")
    assert index_status(db, db.settings)["eta_seconds"] is None
