"""`paperfeed search` and `paperfeed index ...` through click's runner."""

import json

import pytest
from click.testing import CliRunner

from paperfeed.cli import cli
from search_support import paper


@pytest.fixture
def run(settings, db):
    env = {"PAPERFEED_DATABASE_URL": settings.resolved_database_url, "PAPERFEED_DATA_DIR": str(settings.data_dir)}

    def invoke(*args):
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)

    return invoke


@pytest.fixture
def imported(run, tmp_path):
    path = tmp_path / "papers.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in [
        paper("2506.00001", "Okapi ranking functions", "BM25 and friends.", ["Stephen Robertson"], ["cs.IR"],
              "2025-06-01"),
        paper("2506.00002", "Ranking with transformers", "Cross encoders rerank okapi results.", [], ["cs.CL"],
              "2025-07-01"),
        paper("2506.00003", "Unrelated astronomy", "Stars.", [], ["astro-ph.GA"], "2025-07-02"),
    ]))
    assert run("import", str(path)).exit_code == 0  # the import also indexes
    return run


def test_search_json_output(imported):
    result = imported("search", "okapi ranking", "--json", "--mode", "keyword")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["id"] for r in rows] == ["2506.00001", "2506.00002"]
    assert {"id", "title", "score", "published", "mode"} <= set(rows[0])
    assert rows[0]["published"] == "2025-06-01" and rows[0]["mode"] == "keyword"
    assert rows[0]["score"] > rows[1]["score"]


def test_search_filters_and_text_output(imported):
    result = imported("search", "ranking", "--category", "cs.CL", "--since", "2025-06-15", "--mode", "keyword")
    assert result.exit_code == 0
    assert "[2506.00002] Ranking with transformers" in result.stdout and "2506.00001" not in result.stdout


def test_hybrid_request_without_vectors_says_so(imported):
    result = imported("search", "okapi", "--json")
    assert json.loads(result.stdout)[0]["mode"] == "keyword"
    assert "Semantic search is still indexing (0 of 3 papers)" in result.stderr


def test_degenerate_queries_exit_cleanly(imported):
    for query in ['"', "AND", "(", ":", "*", "   "]:
        result = imported("search", query, "--json")
        assert result.exit_code == 0 and json.loads(result.stdout) == []
    assert imported("search", "okapi", "--mode", "fuzzy").exit_code == 2


def test_index_status_embed_and_sync(imported):
    status = json.loads(imported("index", "status", "--json").stdout)
    assert status["papers"] == 3 and status["keyword_docs"] == 3 and status["embedded"] == 0
    result = imported("index", "embed", "--limit", "2", "--no-progress")
    assert result.exit_code == 0 and "embedded 2" in result.stdout and "still missing 1" in result.stdout
    status = json.loads(imported("index", "status", "--json").stdout)
    assert status["embedded"] == 2 and status["vector_docs"] == 2
    assert "indexed" in imported("index", "sync").stdout
    assert "embedded 1" in imported("index", "build", "--no-progress").stdout
    rows = json.loads(imported("search", "bm25 ranking functions", "--json").stdout)
    assert rows[0]["mode"] == "hybrid" and rows[0]["id"] == "2506.00001"
