"""Vectors shipped with the demo data (index/shipped.py): built by the production model,
checked by checksum, loaded by `paperfeed init --demo`, passages filled in later.

One module-scoped demo: DeltaProduct plus 24 real listing papers, embedded once (whole
texts only, the way scripts/embed-demo does it) with the real packaged model.
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from paperfeed.cli import cli
from paperfeed.config import Settings
from paperfeed.db import Database
from paperfeed.index.embed import MODEL_NAME, get_embedder
from paperfeed.index.embedjob import count_missing, embed_missing
from paperfeed.index.passages import unpack
from paperfeed.index.shipped import (SHIPPED_MODEL, BuildPlan, build_vectors, dequantize, load_shipped, quantize,
                                     read_vectors, sha256_of, vector_paths, write_vectors)
from paperfeed.index.status import index_status
from paperfeed.index.sync import sync_index
from paperfeed.ingest.importer import import_file
from paperfeed.models import Paper, PaperEmbedding
from paperfeed.rank.search import search
from paperfeed.store.indexing import live_paper_texts
from search_support import SEARCH_FIXTURES

DELTAPRODUCT = "2502.10297"
DEMO_FILES = ("papers.jsonl", "deltaproduct.jsonl")
USER_WORDS = "making linear recurrent models track state with several rank-one updates per token"


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory, sqlite_template) -> Path:
    """A demo folder: papers.jsonl and the vectors scripts/embed-demo would write for it."""
    folder = tmp_path_factory.mktemp("demo")
    lines = (SEARCH_FIXTURES / "listing-200.jsonl").read_text().splitlines()[:24]
    (folder / "papers.jsonl").write_text("\n".join(lines) + "\n")
    shutil.copy(SEARCH_FIXTURES / "deltaproduct.jsonl", folder)
    scratch = tmp_path_factory.mktemp("build")
    shutil.copy(sqlite_template, scratch / "paperfeed.db")
    db = Database(Settings(data_dir=scratch, database_url=f"sqlite:///{scratch / 'paperfeed.db'}"))
    imported(db, folder)
    with db.session() as session:
        plan = BuildPlan.from_rows(live_paper_texts(session))
    db.dispose()
    vectors = build_vectors(plan, get_embedder("cpu").encode_documents, scratch / "parts", part_size=10)
    write_vectors(folder, plan.ids, plan.hashes, vectors)
    return folder


def imported(db: Database, demo: Path) -> None:
    for name in DEMO_FILES:
        assert import_file(db, demo / name).skipped == 0


def stored_models(db: Database) -> dict[str, int]:
    with db.session() as session:
        rows = session.execute(select(PaperEmbedding.model)).all()
    counts: dict[str, int] = {}
    for (model,) in rows:
        counts[model] = counts.get(model, 0) + 1
    return counts


def test_int8_rows_keep_their_direction():
    vectors = np.random.default_rng(0).standard_normal((50, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    back = dequantize(*quantize(vectors))
    assert np.allclose(np.linalg.norm(back, axis=1), 1.0, atol=1e-5)
    assert (back * vectors).sum(axis=1).min() > 0.999


def test_a_build_resumes_only_the_same_plan(tmp_path):
    plan = BuildPlan(["a", "b", "c"], ["1", "2", "3"], ["one", "two two", "three three three"])
    calls = []

    def encode(texts):
        calls.append(len(texts))
        return np.ones((len(texts), 384), np.float32)

    assert build_vectors(plan, encode, tmp_path, part_size=2, worker=1, workers=2) is None  # part 0 is not its
    assert build_vectors(plan, encode, tmp_path, part_size=2).shape == (3, 384)
    assert calls == [1, 2]  # each part once: the second run resumed
    other = BuildPlan(["a", "b", "c"], ["1", "2", "changed"], plan.texts)
    with pytest.raises(ValueError, match="holds parts of other papers"):
        build_vectors(other, encode, tmp_path, part_size=2)


def test_shipped_vectors_load_and_search_semantically_at_once(db, demo_dir):
    imported(db, demo_dir)
    report = load_shipped(db, demo_dir)
    assert (report.stored, report.changed, report.unknown, report.refused) == (25, 0, 0, None)
    sync_index(db, db.settings)
    results = search(db, USER_WORDS, mode="hybrid", limit=5)
    assert results.mode == "hybrid" and results.notice is None
    assert results.hits[0].paper.id == DELTAPRODUCT
    semantic = search(db, "several rank-one updates per token for sequence models", mode="semantic", limit=3)
    assert DELTAPRODUCT in [h.paper.id for h in semantic.hits]
    # whole texts only: the embedder still owes the passages, and says so
    assert count_missing(db, MODEL_NAME) == 25
    info = index_status(db, db.settings)
    assert info["vector_docs"] == 25 and info["embedded"] == 0 and info["searchable"] == 25


def test_loading_twice_changes_nothing(db, demo_dir):
    imported(db, demo_dir)
    assert load_shipped(db, demo_dir).stored == 25
    assert load_shipped(db, demo_dir).stored == 0
    assert stored_models(db) == {SHIPPED_MODEL: 25}


def test_a_checksum_mismatch_refuses_the_file_and_stores_nothing(db, demo_dir, tmp_path):
    tampered = tmp_path / "demo"
    shutil.copytree(demo_dir, tampered)
    npz, _ = vector_paths(tampered)
    data = bytearray(npz.read_bytes())
    data[-100] ^= 0xFF  # one flipped bit pattern inside the vectors
    npz.write_bytes(bytes(data))
    imported(db, tampered)
    report = load_shipped(db, tampered)
    assert report.stored == 0 and "sha256" in report.refused and "does not match" in report.refused
    assert stored_models(db) == {}
    assert count_missing(db, MODEL_NAME) == 25  # the embedder does them all instead


def test_a_manifest_of_another_model_is_refused(demo_dir, tmp_path):
    other = tmp_path / "demo"
    shutil.copytree(demo_dir, other)
    _, manifest = vector_paths(other)
    meta = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**meta, "model": "bge-small"}))
    with pytest.raises(ValueError, match="not paperfeed-shipped-vectors/1 vectors of all-MiniLM-L6-v2"):
        read_vectors(other)


def test_arrays_of_the_wrong_kind_are_refused_not_a_crash(demo_dir, tmp_path):
    other = tmp_path / "demo"
    shutil.copytree(demo_dir, other)
    npz, manifest = vector_paths(other)
    with np.load(npz) as data:
        arrays = dict(data)
    with npz.open("wb") as f:
        np.savez(f, **{**arrays, "ids": arrays["ids"].astype(str)})  # text ids, not UTF-8 bytes
    meta = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**meta, "sha256": sha256_of(npz)}))
    with pytest.raises(ValueError, match="arrays do not match the manifest"):
        read_vectors(other)


def test_no_vectors_shipped_is_not_an_error(db, tmp_path):
    assert load_shipped(db, tmp_path).refused is None


def test_changed_text_is_embedded_and_passages_reuse_the_shipped_vector(db, demo_dir, tmp_path):
    first = json.loads((demo_dir / "papers.jsonl").read_text().splitlines()[0])
    changed = {**first, "abstract": "Entirely new text about protein folding with diffusion models."}
    imported(db, demo_dir)
    path = tmp_path / "changed.jsonl"
    path.write_text(json.dumps(changed) + "\n")
    import_file(db, path)
    report = load_shipped(db, demo_dir)
    assert (report.stored, report.changed) == (24, 1)
    _, index, q, scale = read_vectors(demo_dir)
    embed_missing(db, db.settings)
    assert stored_models(db) == {MODEL_NAME: 25}
    with db.session() as session:
        rows = {r.id: r for r in session.execute(
            select(Paper.id, PaperEmbedding.vector, PaperEmbedding.dim).join(Paper, Paper.pk == PaperEmbedding.paper_pk))}
    for pid, row in rows.items():
        whole, _ = unpack(row.vector, row.dim)
        shipped = dequantize(q[index[pid][1]][None], scale[index[pid][1]][None])[0].astype(np.float16)
        assert np.array_equal(whole, shipped) == (pid != first["id"]), pid
    hits = search(db, "protein folding with diffusion", mode="semantic", limit=1).hits
    assert hits[0].paper.id == first["id"]


def demo_args(folder: Path) -> list[str]:
    return [arg for name in DEMO_FILES for arg in ("--demo", str(folder / name))]


def test_init_demo_loads_shipped_vectors_and_says_so(settings, db, demo_dir, tmp_path):
    env = {"PAPERFEED_DATABASE_URL": settings.resolved_database_url, "PAPERFEED_DATA_DIR": str(settings.data_dir)}
    result = CliRunner().invoke(cli, ["init", *demo_args(demo_dir)], env=env,
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "shipped vectors: 25 papers ready for semantic search" in result.output
    assert search(db, USER_WORDS, mode="hybrid", limit=3).hits[0].paper.id == DELTAPRODUCT
    status = CliRunner().invoke(cli, ["index", "status"], env=env, catch_exceptions=False)
    assert "25 of 25 papers searchable by meaning" in status.output


def test_init_demo_with_a_damaged_file_says_why_and_goes_on(settings, db, demo_dir, tmp_path):
    tampered = tmp_path / "demo"
    shutil.copytree(demo_dir, tampered)
    npz, _ = vector_paths(tampered)
    npz.write_bytes(npz.read_bytes()[:-10])
    env = {"PAPERFEED_DATABASE_URL": settings.resolved_database_url, "PAPERFEED_DATA_DIR": str(settings.data_dir)}
    result = CliRunner().invoke(cli, ["init", *demo_args(tampered)], env=env,
                                catch_exceptions=False)
    assert result.exit_code == 0
    assert "shipped vectors refused" in result.output and "will be embedded instead" in result.output
    assert stored_models(db) == {}


def test_the_bundled_demo_ships_checked_vectors_for_every_demo_paper():
    """The file in demo/ (scripts/embed-demo) passes its own checksum and covers every demo paper
    with the text the importer stores, so `make run` answers hybrid search from its first page."""
    import gzip

    from conftest import DEMO
    from paperfeed.index.embed import paper_text, text_hash
    from paperfeed.ingest.snapshot import parse_snapshot_object

    manifest, index, q, scale = read_vectors(DEMO)
    records = {}
    for name in ("arxiv-snapshot-sample.jsonl.gz", "arxiv-listing-2025-03_2026-07.jsonl.gz"):
        with gzip.open(DEMO / name, "rt") as fh:
            for number, line in enumerate(fh):
                records[json.loads(line)["id"]] = line if number % 500 == 0 else None
    assert manifest["count"] == len(index) == len(records) == 76_359
    assert set(index) == set(records)
    sample = [parse_snapshot_object(json.loads(line)) for line in records.values() if line]
    assert len(sample) > 150
    for record in sample:
        assert index[record.id][0] == text_hash(paper_text(record.title, record.abstract)), record.id
    assert np.allclose(np.linalg.norm(dequantize(q[:500], scale[:500]), axis=1), 1.0, atol=0.02)
