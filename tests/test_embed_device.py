"""`paperfeed index embed --device/--batch-size`: the GPU path's code, run on the CPU here
(a GPU run takes the same path with device "cuda"; README says what was measured where)."""

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from paperfeed.cli import cli
from paperfeed.index import embed as embed_module
from paperfeed.index.embed import get_embedder
from paperfeed.models import PaperEmbedding
from search_support import paper


@pytest.fixture
def run(settings, db):
    env = {"PAPERFEED_DATABASE_URL": settings.resolved_database_url, "PAPERFEED_DATA_DIR": str(settings.data_dir)}

    def invoke(*args):
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)

    return invoke


@pytest.fixture
def three_papers(run, tmp_path):
    path = tmp_path / "papers.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in [
        paper("2506.00001", "Okapi ranking functions", "BM25 and friends. It ranks. It scores. It sorts."),
        paper("2506.00002", "Ranking with transformers", "Cross encoders rerank okapi results."),
        paper("2506.00003", "Unrelated astronomy", "Stars."),
    ]))
    assert run("import", str(path)).exit_code == 0
    return run


def test_embed_on_a_named_device_with_a_batch_size(three_papers, db, monkeypatch):
    calls = []
    embedder = get_embedder("cpu", 1)
    real = type(embedder).encode_documents

    def spy(self, texts, batch_size=None):
        calls.append(batch_size or self.batch_size)
        return real(self, texts, batch_size)

    monkeypatch.setattr(type(embedder), "encode_documents", spy)
    monkeypatch.setattr(embedder, "batch_size", embedder.batch_size)  # restored after the test
    result = three_papers("index", "embed", "--device", "cpu", "--batch-size", "2")
    assert result.exit_code == 0, result.output
    assert "embedding on cpu, 2 texts per batch" in result.output
    assert "embedded 3" in result.output and calls and set(calls) == {2}
    with db.session() as session:
        assert len(session.execute(select(PaperEmbedding.paper_pk)).all()) == 3


def test_cuda_without_a_gpu_is_a_clear_error(three_papers, monkeypatch):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    monkeypatch.setattr(embed_module, "_models", {})  # a fresh cache: nothing loaded for "cuda"
    result = three_papers("index", "embed", "--device", "cuda")
    assert result.exit_code == 1 and "sees no CUDA GPU" in result.output


@pytest.mark.parametrize("args", [["--device", "tpu"], ["--device", "cuda:x"], ["--batch-size", "0"]])
def test_bad_device_or_batch_size_is_refused(three_papers, args):
    result = three_papers("index", "embed", *args)
    assert result.exit_code == 2 and "Invalid value" in result.output
