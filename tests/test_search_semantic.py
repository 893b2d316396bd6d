"""Semantic and hybrid search with the real packaged embedding model.

One module-scoped instance: DeltaProduct plus 200 real cs.LG/cs.CL listing papers,
embedded once on the CPU (the slow part of this file, a few tens of seconds).
"""

import shutil
import time

import pytest
from sqlalchemy import delete

from paperfeed.config import Settings
from paperfeed.db import Database
from paperfeed.index.embedjob import count_missing, embed_missing
from paperfeed.index.embed import MODEL_NAME
from paperfeed.index.status import index_status
from paperfeed.index.sync import sync_index
from paperfeed.index.worker import start_worker
from paperfeed.ingest.importer import import_file
from paperfeed.models import Paper
from paperfeed.rank.search import search, similar
from paperfeed.store.papers import mark_withdrawn
from search_support import SEARCH_FIXTURES, import_papers, paper

USER_WORDS = "making linear recurrent models track state with several rank-one updates per token"
DELTAPRODUCT = "2502.10297"


@pytest.fixture(scope="module")
def embedded(tmp_path_factory, sqlite_template):
    data_dir = tmp_path_factory.mktemp("semantic")
    shutil.copy(sqlite_template, data_dir / "paperfeed.db")
    settings = Settings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'paperfeed.db'}")
    db = Database(settings)
    import_file(db, SEARCH_FIXTURES / "listing-200.jsonl")
    import_file(db, SEARCH_FIXTURES / "deltaproduct.jsonl")
    report = embed_missing(db, settings)
    assert report.embedded == 201 and report.remaining == 0
    yield db
    db.dispose()


def ids(results):
    return [h.paper.id for h in results.hits]


@pytest.mark.parametrize("mode", ["semantic", "hybrid"])
def test_users_own_words_find_deltaproduct(embedded, mode):
    results = search(embedded, USER_WORDS, mode=mode, limit=10)
    assert results.mode == mode and results.notice is None
    assert DELTAPRODUCT in ids(results)[:3]


def test_semantic_finds_it_without_shared_title_words(embedded):
    # none of these words is in DeltaProduct's title
    results = search(embedded, "several rank-one updates per token for sequence models", mode="semantic", limit=5)
    assert DELTAPRODUCT in ids(results)


def test_semantic_filters_apply(embedded):
    assert search(embedded, USER_WORDS, mode="semantic", category="cs.FL").hits[0].paper.id == DELTAPRODUCT
    from datetime import date

    later = search(embedded, USER_WORDS, mode="semantic", since=date(2025, 3, 1), limit=50)
    assert DELTAPRODUCT not in ids(later) and later.hits


def test_similar_uses_vectors_and_excludes_the_paper(embedded):
    hits = similar(embedded, DELTAPRODUCT, k=5)
    assert len(hits) == 5 and DELTAPRODUCT not in [h.paper.id for h in hits]
    assert hits[0].score >= hits[-1].score > 0


def test_status_counts(embedded):
    info = index_status(embedded, embedded.settings)
    assert info["papers"] == 201 and info["embedded"] == 201 and info["vector_docs"] == 201
    assert info["keyword_docs"] == 201


def test_changed_and_removed_papers_leave_the_vector_index(db, tmp_path):
    import_papers(db, tmp_path, [
        paper("2504.00001", "Bird migration tracked by radar", "Radar networks observe songbird migration at night."),
        paper("2504.00002", "Sourdough fermentation kinetics", "Yeast and lactic acid bacteria in bread dough."),
        paper("2504.00003", "Volcanic ash and aviation", "Ash clouds threaten jet engines."),
    ], "a.jsonl")
    embed_missing(db, db.settings)
    assert search(db, "baking bread", mode="semantic").hits[0].paper.id == "2504.00002"
    # a new version with a new abstract is re-embedded and found by the new meaning
    import_papers(db, tmp_path, [paper("2504.00002", "Sourdough fermentation kinetics",
                                       "Jet engines ingest volcanic dust; we measure turbine wear.")], "b.jsonl")
    assert count_missing(db, MODEL_NAME) == 1
    embed_missing(db, db.settings)
    with db.session() as session:
        mark_withdrawn(session, ["2504.00003"])
        session.execute(delete(Paper).where(Paper.id == "2504.00001"))
    sync_index(db, db.settings)
    found = ids(search(db, "turbine damage from volcanic dust", mode="semantic"))
    assert found == ["2504.00002"]
    assert similar(db, "2504.00002", k=5) == []


def test_background_worker_embeds_new_papers(sqlite_db, tmp_path):
    import_papers(sqlite_db, tmp_path, [paper(f"2505.0000{i}", f"Paper number {i} on topic {i}") for i in range(4)])
    worker = start_worker(sqlite_db, sqlite_db.settings, start_delay=0, idle_seconds=0.2)
    try:
        deadline = time.monotonic() + 120
        while search(sqlite_db, "topic", mode="hybrid").mode != "hybrid":
            if time.monotonic() > deadline:
                pytest.fail("worker did not embed the papers in time")
            time.sleep(0.3)
    finally:
        worker.stop()
    assert count_missing(sqlite_db, MODEL_NAME) == 0


def test_a_point_made_late_in_a_long_abstract_is_found_by_its_passage(db, tmp_path):
    # The model reads 256 word pieces: the last sentences of this abstract are beyond them,
    # so only a passage vector can match a query about them.
    filler = " ".join(f"Section {i} reviews prior surveys of compiler optimisation passes and register "
                      f"allocation heuristics for embedded processors in detail." for i in range(14))
    long_abstract = filler + " Finally, we show that sourdough starters ferment faster in warm kitchens. " \
                             "Bakers can shorten proofing time by keeping dough near an oven."
    import_papers(db, tmp_path, [
        paper("2506.00001", "Compiler passes for embedded processors", long_abstract),
        # about bread too: without the passage it outranks the compiler paper
        paper("2506.00002", "Crust colour of baked bread", "Maillard reactions brown the crust in hot ovens."),
        paper("2506.00003", "Jet engine turbine wear", "Turbine blades erode when engines ingest dust."),
    ])
    embed_missing(db, db.settings)
    assert search(db, "sourdough fermentation is faster in a warm kitchen", mode="semantic").hits[0].paper.id \
        == "2506.00001"
    # the passages streamed through a scratch file on their way into the snapshot
    assert not list(db.settings.data_dir.rglob("passages.scratch"))
    assert list(db.settings.data_dir.rglob("passages.npy"))


@pytest.mark.parametrize("mode", ["semantic", "hybrid"])
def test_exclusions_and_ids_hold_with_vectors(embedded, mode):
    assert DELTAPRODUCT not in ids(search(embedded, f"{USER_WORDS} -DeltaProduct", mode=mode, limit=50))
    assert DELTAPRODUCT not in ids(search(embedded, f"{USER_WORDS} NOT deltaproduct", mode=mode, limit=50))
    assert ids(search(embedded, f"arXiv:{DELTAPRODUCT} linear attention", mode=mode))[0] == DELTAPRODUCT


def test_excluded_filters_hold_with_vectors(embedded):
    assert DELTAPRODUCT not in ids(search(embedded, f"{USER_WORDS} -cat:cs.FL", mode="hybrid", limit=50))
