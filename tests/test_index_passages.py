"""Passage windows of long abstracts, their storage next to the paper's vector, and
re-scoring candidates by their best passage."""

import numpy as np

from paperfeed.index.passages import STRIDE, WINDOW, pack, passage_texts, sentences, unpack
from paperfeed.index.vectors import VectorSnapshot, load_snapshot, write_snapshot

LONG = ("Alpha one. Beta two! Gamma three? Delta four.Epsilon five (n = 7). Zeta six.")


def test_sentences_split_with_or_without_a_space():
    assert sentences(LONG) == ["Alpha one.", "Beta two!", "Gamma three?", "Delta four.", "Epsilon five (n = 7).",
                               "Zeta six."]
    assert sentences("Accuracy rose 3.5 points on arXiv.We stop.") == ["Accuracy rose 3.5 points on arXiv.", "We stop."]


def test_windows_overlap_and_cover_the_whole_abstract():
    texts = passage_texts("  A title ", LONG)
    assert (WINDOW, STRIDE) == (3, 2)
    assert texts == ["A title. Alpha one. Beta two! Gamma three?",
                     "A title. Gamma three? Delta four. Epsilon five (n = 7).",
                     "A title. Epsilon five (n = 7). Zeta six."]


def test_short_abstracts_have_no_passages():
    assert passage_texts("T", "One. Two. Three.") == []
    assert passage_texts("T", None) == []


def test_pack_then_unpack_gives_the_vectors_back():
    vecs = np.arange(12, dtype=np.float32).reshape(3, 4)
    whole, parts = unpack(pack(vecs), 4)
    assert whole.tolist() == [0, 1, 2, 3] and parts.tolist() == vecs[1:].tolist()
    whole, parts = unpack(pack(vecs[:1]), 4)  # a paper without passages
    assert parts.shape == (0, 4)


def _snapshot() -> VectorSnapshot:
    eye = np.eye(4, dtype=np.float32)
    # pk 1: whole vector e0, passages e1 and e3; pk 2: whole e2, no passages; pk 3: whole e3
    return VectorSnapshot(pks=np.array([1, 2, 3]), vectors=eye[[0, 2, 3]], days=np.zeros(3, np.int32),
                          cats=["", "", ""], passages=eye[[1, 3]].astype(np.float16),
                          passage_start=np.array([0, 2, 2, 2]))


def test_best_passage_score_is_the_max_over_whole_text_and_passages():
    snap = _snapshot()
    query = np.array([0.2, 0.9, 0.3, 0.1], dtype=np.float32)
    best = snap.best_passage_scores([3, 1, 2, 99], query)
    assert best == {3: np.float32(0.1), 1: np.float32(0.9), 2: np.float32(0.3)}
    assert list(best) == [3, 1, 2]  # pk 99 has no vector: left out


def test_passages_survive_a_snapshot_round_trip(tmp_path):
    write_snapshot(tmp_path, _snapshot())
    _, snap = load_snapshot(tmp_path)
    query = np.array([0.0, 1.0, 0.0, 0.0], dtype=np.float32)
    assert snap.best_passage_scores([1, 2], query) == {1: 1.0, 2: 0.0}


def test_snapshot_without_passages_scores_whole_text_vectors():
    snap = _snapshot()
    snap.passages, snap.passage_start = None, None
    assert snap.best_passage_scores([1], np.array([0.2, 0.9, 0.3, 0.1], dtype=np.float32)) == {1: np.float32(0.2)}


def test_passage_file_reads_the_same_rows_as_the_array(tmp_path):
    from paperfeed.index.passages import PassageFile

    rows = np.random.default_rng(0).standard_normal((50, 8)).astype(np.float16)
    np.save(tmp_path / "passages.npy", rows)
    on_disk = PassageFile(tmp_path / "passages.npy")
    starts, counts = np.array([40, 3, 10]), np.array([2, 4, 1])
    expected = np.vstack([rows[40:42], rows[3:7], rows[10:11]])
    assert len(on_disk) == 50
    assert np.array_equal(on_disk.read_runs(starts, counts), expected)
