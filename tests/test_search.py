"""Keyword search through the library API on real SQLite and PostgreSQL instances."""

from datetime import date

import pytest
from sqlalchemy import delete

from paperfeed.index.query import parse_query
from paperfeed.index.sync import sync_index
from paperfeed.models import Paper
from paperfeed.rank.search import BEHIND_NOTICE, DEGRADED_NOTICE, SearchError, search, similar
from paperfeed.store.papers import mark_withdrawn
from search_support import import_papers, paper

PAPERS = [
    paper("2501.00001", "Quokka networks for sparse attention", "We study efficient transformers.",
          ["Ada Lovelace", "Alan Turing"], ["cs.LG", "cs.CL"], "2025-01-10"),
    paper("2501.00002", "Efficient transformers revisited",
          "Our method uses quokka style gating for long sequences.", ["Grace Hopper"], ["cs.CL"], "2025-03-02"),
    paper("2501.00003", "Graph neural networks for molecules", "Message passing on molecular graphs.",
          ["Quokka Smith"], ["q-bio.BM"], "2025-06-20"),
    paper("2501.00004", "Protein folding with diffusion", "Diffusion models fold proteins in sparse attention layers.",
          ["Marie Curie"], ["q-bio.BM", "cs.LG"], "2025-08-01"),
]


@pytest.fixture
def loaded(db, tmp_path):
    import_papers(db, tmp_path, PAPERS)
    return db


def ids(results):
    return [h.paper.id for h in results.hits]


def test_title_outranks_authors_outranks_abstract(loaded):
    assert ids(search(loaded, "quokka", mode="keyword")) == ["2501.00001", "2501.00003", "2501.00002"]


def test_phrase_query_requires_adjacent_words(loaded):
    assert ids(search(loaded, '"sparse attention"', mode="keyword")) == ["2501.00001", "2501.00004"]
    assert ids(search(loaded, '"attention sparse"', mode="keyword")) == []


def test_author_and_category_filters(loaded):
    assert ids(search(loaded, "author:lovelace", mode="keyword")) == ["2501.00001"]
    assert ids(search(loaded, 'author:"grace hopper" transformers', mode="keyword")) == ["2501.00002"]
    assert set(ids(search(loaded, "cat:q-bio.BM", mode="keyword"))) == {"2501.00003", "2501.00004"}
    assert ids(search(loaded, "sparse attention", mode="keyword", category="q-bio")) == ["2501.00004"]
    assert set(ids(search(loaded, "cat:cs", mode="keyword"))) == {"2501.00001", "2501.00002", "2501.00004"}


def test_date_range_filters(loaded):
    found = ids(search(loaded, "sparse attention transformers", mode="keyword", since=date(2025, 3, 1),
                       until=date(2025, 7, 1)))
    assert found == ["2501.00002"]
    with pytest.raises(SearchError):
        search(loaded, "x", since=date(2025, 2, 1), until=date(2025, 1, 1))


@pytest.mark.parametrize("query", ["", "   \t\n", '"', "*", "AND", "(", ":", "AND OR NOT", '""', "((**))", "author:",
                                   "cat:", ":::", "x" * 10_000, "-", "\u200b"])
def test_degenerate_queries_return_clean_empty_results(loaded, query):
    for mode in ("keyword", "semantic", "hybrid"):
        results = search(loaded, query, mode=mode)
        assert results.hits == []


def test_very_long_natural_query_runs(loaded):
    results = search(loaded, "sparse attention quokka networks " * 400, mode="hybrid")
    assert ids(results)[0] == "2501.00001"


def test_invalid_arguments_raise_search_error(loaded):
    with pytest.raises(SearchError, match="unknown mode"):
        search(loaded, "quokka", mode="fuzzy")
    with pytest.raises(SearchError, match="limit"):
        search(loaded, "quokka", limit=0)
    with pytest.raises(SearchError, match="offset"):
        search(loaded, "quokka", offset=-1)


def test_highlights_mark_stemmed_matches_and_escape_html(db, tmp_path):
    import_papers(db, tmp_path, [paper("2502.00009", "Tracking <b>states</b> in RNNs", "We track the state.")])
    hit = search(db, "state tracking", mode="keyword").hits[0]
    assert hit.highlights["title"] == "<mark>Tracking</mark> &lt;b&gt;<mark>states</mark>&lt;/b&gt; in RNNs"
    assert "<mark>track</mark>" in hit.highlights["abstract"]


def test_pagination_is_stable(loaded):
    all_hits = ids(search(loaded, "quokka sparse attention", mode="keyword", limit=10))
    page2 = ids(search(loaded, "quokka sparse attention", mode="keyword", limit=2, offset=2))
    assert page2 == all_hits[2:4]


def test_new_version_is_found_by_new_text_only(db, tmp_path):
    import_papers(db, tmp_path, [paper("2503.00001", "A study", "The wombat burrows at night.")], "v1.jsonl")
    assert ids(search(db, "wombat", mode="keyword")) == ["2503.00001"]
    import_papers(db, tmp_path, [paper("2503.00001", "A study", "The platypus swims by day.")], "v2.jsonl")
    assert ids(search(db, "platypus", mode="keyword")) == ["2503.00001"]
    assert ids(search(db, "wombat", mode="keyword")) == []


def test_withdrawn_and_deleted_papers_leave_the_index(loaded):
    with loaded.session() as session:
        mark_withdrawn(session, ["2501.00001"])
        session.execute(delete(Paper).where(Paper.id == "2501.00003"))
    report = sync_index(loaded, loaded.settings)
    assert report.removed == 2
    assert ids(search(loaded, "quokka", mode="keyword")) == ["2501.00002"]
    assert "2501.00003" not in ids(search(loaded, "molecules graph", mode="keyword"))


def test_requested_hybrid_falls_back_to_keyword_with_notice(loaded):
    results = search(loaded, "quokka", mode="hybrid")
    assert results.mode == "keyword" and results.requested_mode == "hybrid"
    assert results.notice == ("Semantic search is still indexing (0 of 4 papers); showing keyword results.")


def test_similar_falls_back_to_title_terms_without_vectors(loaded):
    hits = similar(loaded, "2501.00002", k=3)
    assert hits and hits[0].paper.id == "2501.00001"  # shares "transformers"... via title terms
    assert "2501.00002" not in [h.paper.id for h in hits]
    assert similar(loaded, "no-such-paper", k=3) == []


def test_query_parser_separates_filters_phrases_and_words():
    q = parse_query('author:"Ada Lovelace" cat:cs.LG "state tracking" linear AND rnn arXiv:2501.1 (')
    assert q.authors == [["Ada", "Lovelace"]]
    assert q.categories == ["cs.lg"]
    assert q.phrases == [["state", "tracking"]]
    assert q.words == ["linear", "rnn", "arXiv", "2501", "1"]


def test_sync_is_incremental(loaded, tmp_path):
    assert sync_index(loaded, loaded.settings).indexed == 0  # nothing changed since the import
    import_papers(loaded, tmp_path, [paper("2501.00009", "Fresh okapi paper")], "more.jsonl")
    assert ids(search(loaded, "okapi", mode="keyword")) == ["2501.00009"]
    assert sync_index(loaded, loaded.settings).indexed == 0


def test_papers_written_by_any_path_are_found_after_one_sync_pass(loaded):
    from paperfeed.index.syncloop import SyncLoop
    from paperfeed.records import PaperRecord
    from paperfeed.store.papers import upsert_records

    loop = SyncLoop(loaded, loaded.settings)
    loop.run_once()
    with loaded.session() as session:  # no import command, no explicit sync
        upsert_records(session, [PaperRecord(id="2501.00077", title="Capybara dynamics", abstract="", source="api")])
    behind = search(loaded, "capybara", mode="keyword")  # a search never writes the index
    assert ids(behind) == [] and behind.notice == BEHIND_NOTICE
    assert loop.run_once().indexed == 1
    found = search(loaded, "capybara", mode="keyword")
    assert ids(found) == ["2501.00077"] and found.notice is None
    assert loop.run_once() is None  # nothing changed: one look at the sequence, nothing written


def test_index_from_an_older_schema_is_rebuilt(sqlite_db, tmp_path):
    from paperfeed.index.generations import write_manifest
    from paperfeed.index.sync import keyword_dir
    from paperfeed.rank.search import forget_engines

    import_papers(sqlite_db, tmp_path, PAPERS)
    old = keyword_dir(sqlite_db.settings)
    (old / "paperfeed-schema").unlink()  # a hard link shared with no one else now, but be safe
    (old / "paperfeed-schema").write_text("0")
    write_manifest(old)
    forget_engines()
    degraded = search(sqlite_db, "quokka", mode="keyword")  # answered from the database meanwhile
    assert ids(degraded)[0] == "2501.00001" and degraded.notice == DEGRADED_NOTICE
    assert sync_index(sqlite_db, sqlite_db.settings).rebuilt
    assert keyword_dir(sqlite_db.settings) != old
    found = search(sqlite_db, "quokka", mode="keyword")
    assert ids(found)[0] == "2501.00001" and found.notice is None


MENTIONS_ID = paper("2501.00009", "A survey citing others", "We extend arXiv 2501.00003 and 2501 00003 ideas.",
                    ["Ada Lovelace"], ["cs.LG"], "2025-09-01")


@pytest.mark.parametrize("query", ["2501.00003", "arXiv:2501.00003", "arxiv:2501.00003v2",
                                   "https://arxiv.org/abs/2501.00003", "https://arxiv.org/pdf/2501.00003v1.pdf"])
def test_an_arxiv_id_or_url_returns_that_paper_first(loaded, tmp_path, query):
    import_papers(loaded, tmp_path, [MENTIONS_ID], "mentions.jsonl")
    for mode in ("keyword", "hybrid"):
        assert ids(search(loaded, query, mode=mode))[0] == "2501.00003"
    assert ids(search(loaded, f"{query} quokka", mode="keyword"))[:2] == ["2501.00003", "2501.00001"]


def test_minus_and_not_exclude_words_and_phrases(loaded):
    assert ids(search(loaded, "quokka -transformers", mode="keyword")) == ["2501.00003"]
    assert ids(search(loaded, "quokka NOT efficient", mode="keyword")) == ["2501.00003"]
    assert ids(search(loaded, 'quokka -"study efficient"', mode="keyword")) == ["2501.00003", "2501.00002"]
    assert ids(search(loaded, "-quokka", mode="keyword")) == []  # nothing left to search for


def test_filters_can_be_excluded_too(loaded):
    assert ids(search(loaded, "quokka -cat:q-bio.BM", mode="keyword")) == ["2501.00001", "2501.00002"]
    assert ids(search(loaded, "quokka -author:smith", mode="keyword")) == ["2501.00001", "2501.00002"]
    assert ids(search(loaded, 'quokka NOT author:"grace hopper"', mode="keyword")) == ["2501.00001", "2501.00003"]
    q = parse_query('-cat:cs.CV NOT author:"Ada Lovelace" -author:')
    assert (q.excluded_categories, q.excluded_authors, q.excluded) == (["cs.cv"], [["Ada", "Lovelace"]], [])


def test_an_unbalanced_quote_searches_its_words(loaded):
    assert ids(search(loaded, '"sparse att', mode="keyword"))[:2] == ["2501.00001", "2501.00004"]
    assert ids(search(loaded, 'author:"lovelace', mode="keyword")) == ["2501.00001"]


def test_an_empty_author_filter_matches_nothing_not_the_word_author(db, tmp_path):
    import_papers(db, tmp_path, [paper("2502.00001", "Authorize-on-Demand access control", "Authors authorize.")])
    assert ids(search(db, "author:", mode="keyword")) == []
    assert ids(search(db, "author: access", mode="keyword")) == ["2502.00001"]


def test_author_only_results_are_newest_first(loaded, tmp_path):
    import_papers(loaded, tmp_path, [MENTIONS_ID], "mentions.jsonl")
    for mode in ("keyword", "hybrid"):
        assert ids(search(loaded, "author:lovelace", mode=mode)) == ["2501.00009", "2501.00001"]


def test_query_parser_reads_exclusions_and_ids():
    q = parse_query('vision -"state space" NOT rnn -x arXiv:2501.00001v3 https://arxiv.org/abs/hep-th/9901001 "open')
    assert q.words == ["vision", "open"]
    assert q.excluded == [["state", "space"], ["rnn"], ["x"]]
    assert q.ids == ["2501.00001", "hep-th/9901001"]


def test_typos_fall_back_to_close_spellings(loaded):
    assert ids(search(loaded, "protien difusion", mode="keyword"))[0] == "2501.00004"
    assert ids(search(loaded, "difusion langauge modle", mode="hybrid"))[0] == "2501.00004"
    # words the index holds are matched exactly, as before
    assert ids(search(loaded, "quokka", mode="keyword")) == ["2501.00001", "2501.00003", "2501.00002"]
