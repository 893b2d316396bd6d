"""Did you mean: mistyped query words corrected from the instance's own papers (index/spelling.py),
through the library, the web page, the API and the CLI, on real SQLite and PostgreSQL instances."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from community_kit import client, make_app
from search_support import import_papers, paper

from paperfeed.index.engine import engine_for
from paperfeed.index.spelling import corrections, edits
from paperfeed.rank.search import forget_engines, search

DIFFUSION = [paper(f"2505.{i:05d}", f"Diffusion language model number {i}",
                   "A diffusion language model that denoises tokens.") for i in range(120)]
PROTEINS = [paper(f"2506.{i:05d}", f"Protein folding study {i}", "Protein folding with graphs.") for i in range(60)]
DIFUSE = paper("2507.00001", "DiFuse: a difus camera", "Depth from a difus sensor.")
CASUAL = paper("2507.00002", "Casual conversation agents", "Casual talk with people.")


@pytest.fixture
def loaded(db, tmp_path):
    forget_engines()
    import_papers(db, tmp_path, [*DIFFUSION, *PROTEINS, DIFUSE, CASUAL])
    yield db
    forget_engines()


def test_edits_are_one_step_away():
    found = edits("modle")
    assert {"model", "mode", "moodle", "modles"} <= found and "modle" not in found
    assert "mdoel" in edits("model")  # a swap of neighbours is one edit


def test_mistyped_words_are_corrected_from_the_papers_here(loaded):
    keyword = engine_for(loaded.settings).keyword()
    assert corrections(keyword, ["difusion", "langauge", "modle", "protien", "foldng"]) == {
        "difusion": "diffusion", "langauge": "language", "modle": "model", "protien": "protein",
        "foldng": "folding"}
    # well spelled, rare on purpose, CamelCase, acronyms and short words stay as typed
    assert corrections(keyword, ["diffusion", "casual", "DiFuse", "LLM", "mdl", "zebra", "proteins"]) == {}


def test_a_mistyped_query_searches_what_was_meant(loaded):
    results = search(loaded, "difusion langauge modle", mode="keyword")
    assert results.corrected == "diffusion language model"
    assert results.hits and all(h.paper.id.startswith("2505.") for h in results.hits[:10])
    exact = search(loaded, "difusion langauge modle", mode="keyword", exact=True)
    assert exact.corrected is None and exact.hits[0].paper.id == DIFUSE["id"]
    assert search(loaded, "diffusion language model", mode="keyword").corrected is None
    phrase = search(loaded, '"protein folding" protien', mode="keyword")
    assert phrase.corrected == "protein protein folding" and phrase.hits[0].paper.id.startswith("2506.")


def test_the_page_api_and_cli_say_what_they_searched(loaded, settings, monkeypatch):
    c = client(make_app(settings, loaded))
    page = c.get("/search", params={"q": "difusion langauge modle", "mode": "keyword"}).text
    assert "Showing results for <strong>diffusion language model</strong>" in page
    assert 'href="/search?q=difusion%20langauge%20modle&amp;mode=keyword&amp;exact=true"' in page
    as_typed = c.get("/search", params={"q": "difusion langauge modle", "mode": "keyword", "exact": "true"}).text
    assert "Showing results for" not in as_typed and "DiFuse" in as_typed
    api = c.get("/api/papers/search", params={"q": "difusion langauge modle", "mode": "keyword"})
    assert api.headers["X-Search-Corrected"] == "diffusion language model"
    assert api.json()[0]["paper"]["id"].startswith("2505.")
    exact = c.get("/api/papers/search", params={"q": "difusion langauge modle", "mode": "keyword", "exact": "true"})
    assert "X-Search-Corrected" not in exact.headers and exact.json()[0]["paper"]["id"] == DIFUSE["id"]
    assert c.get("/api/papers/search", params={"q": "x", "exact": "maybe"}).status_code == 422

    from paperfeed.cli import cli

    env = {"PAPERFEED_DATABASE_URL": settings.resolved_database_url, "PAPERFEED_DATA_DIR": str(settings.data_dir)}
    out = CliRunner().invoke(cli, ["search", "difusion langauge modle", "--mode", "keyword", "--limit", "1"], env=env)
    assert out.exit_code == 0 and "showing results for: diffusion language model" in out.output
    out = CliRunner().invoke(cli, ["search", "difusion", "--mode", "keyword", "--exact", "--limit", "1"], env=env)
    assert out.exit_code == 0 and "showing results for" not in out.output and DIFUSE["id"] in out.output
