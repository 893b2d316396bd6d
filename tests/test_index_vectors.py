"""The vector snapshot: exact and IVF search, filters, atomic generations, reader reload."""

from datetime import date

import numpy as np
import pytest

from paperfeed.index.keyword import KeywordDoc, KeywordIndex, day_number
from paperfeed.index.query import parse_query
from paperfeed.index.vectors import VectorSnapshot, VectorStore, build_ivf, current_generation, write_snapshot


def clustered(n: int, dim: int = 32, clusters: int = 50, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    vecs = centres[rng.integers(0, clusters, n)] + 0.3 * rng.normal(size=(n, dim))
    return (vecs / np.linalg.norm(vecs, axis=1, keepdims=True)).astype(np.float32)


def snapshot(vecs: np.ndarray) -> VectorSnapshot:
    n = len(vecs)
    days = np.array([day_number(date(2025, 1, 1)) + i % 100 for i in range(n)], dtype=np.int32)
    cats = ["cs.lg" if i % 2 else "math.co" for i in range(n)]
    return VectorSnapshot(pks=np.arange(10, 10 + n, dtype=np.int64), vectors=vecs, days=days, cats=cats)


def test_exact_search_returns_true_nearest_neighbours():
    vecs = clustered(2000)
    snap = snapshot(vecs)
    query = vecs[17]
    hits = snap.search(query, 5)
    expected = np.argsort(-(vecs @ query))[:5] + 10
    assert [pk for pk, _ in hits] == expected.tolist()
    assert snap.search(query, 5, exclude=27)[0][0] != 27


def test_ivf_recall_against_exact():
    vecs = clustered(20_000)
    snap = snapshot(vecs)
    ivf_snap = snapshot(vecs)
    ivf_snap.ivf = build_ivf(vecs, nprobe=16)
    recalls = []
    for q in vecs[:50]:
        exact = {pk for pk, _ in snap.search(q, 10)}
        approx = {pk for pk, _ in ivf_snap.search(q, 10)}
        recalls.append(len(exact & approx) / 10)
    assert np.mean(recalls) >= 0.9


def test_filters_restrict_rows():
    snap = snapshot(clustered(500))
    hits = snap.search(snap.vectors[0], 20, since=date(2025, 2, 1), categories=["cs"])
    rows = [snap.row_of(pk) for pk, _ in hits]
    assert hits and all(snap.days[r] >= day_number(date(2025, 2, 1)) and snap.cats[r] == "cs.lg" for r in rows)
    assert snap.search(snap.vectors[0], 5, categories=["astro-ph"]) == []


def test_new_generation_is_picked_up_by_readers(tmp_path):
    store = VectorStore(tmp_path)
    assert len(store.snapshot()) == 0
    write_snapshot(tmp_path, snapshot(clustered(100)))
    assert len(store.snapshot()) == 100
    write_snapshot(tmp_path, snapshot(clustered(40)))
    assert len(store.snapshot()) == 40 and current_generation(tmp_path) == "g000002"
    write_snapshot(tmp_path, snapshot(clustered(30)))
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["g000002", "g000003"]


def test_keyword_reader_sees_another_writers_commit(tmp_path):
    reader = KeywordIndex(tmp_path)
    writer_side = KeywordIndex(tmp_path)
    w = writer_side.writer()
    writer_side.replace(w, [KeywordDoc(1, "Okapi ranking", [], "", [], None)])
    writer_side.commit(w)
    hits, total = reader.search(parse_query("okapi"), limit=5)
    assert hits[0][0] == 1 and total == 1


def test_large_snapshot_uses_ivf_with_filters_and_reuses_training(tmp_path):
    from paperfeed.index.vectors import EXACT_MAX, load_snapshot

    vecs = clustered(EXACT_MAX + 5000)
    write_snapshot(tmp_path, snapshot(vecs))
    trained_at = (tmp_path / "trained.faiss").stat().st_mtime_ns
    _, snap = load_snapshot(tmp_path)
    assert snap.ivf is not None
    exact = snapshot(vecs)
    recall = np.mean([len({p for p, _ in snap.search(q, 10)} & {p for p, _ in exact.search(q, 10)}) / 10
                      for q in vecs[:30]])
    assert recall >= 0.85
    hits = snap.search(vecs[3], 10, categories=["math"], since=date(2025, 3, 1))
    assert len(hits) == 10
    assert all(snap.cats[snap.row_of(pk)] == "math.co" and snap.days[snap.row_of(pk)] >= day_number(date(2025, 3, 1))
               for pk, _ in hits)
    write_snapshot(tmp_path, snapshot(vecs[:-100]))
    assert (tmp_path / "trained.faiss").stat().st_mtime_ns == trained_at
    assert len(load_snapshot(tmp_path)[1]) == len(vecs) - 100


def test_keyword_scores_of_given_papers_match_a_full_search(tmp_path):
    index = KeywordIndex(tmp_path)
    w = index.writer()
    index.replace(w, [KeywordDoc(1, "Okapi ranking", [], "bm25 okapi okapi", [], None),
                      KeywordDoc(2, "Dense retrieval", [], "vectors and okapi", [], None),
                      KeywordDoc(3, "Bread", [], "sourdough", [], None),
                      KeywordDoc(4, "Okapi again", [], "okapi", [], None)])
    index.commit(w)
    query = parse_query("okapi ranking")
    full = dict(index.search(query, limit=10)[0])
    scores = index.scores_of(query, [2, 3, 4])
    assert scores == pytest.approx({2: full[2], 4: full[4]})  # 3 matches no word; 1 was not asked for
    assert index.scores_of(query, []) == {} and index.scores_of(parse_query('author:x'), [1]) == {}
