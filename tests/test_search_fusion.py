"""Fusion of keyword and semantic rankings: the z-score default against min-max and RRF."""

import statistics

import pytest

from paperfeed.rank.fusion import DEFAULT_METHOD, fuse, rrf, weighted, zscore, zscore_complete

# Keyword scores split into two clusters (A, B far above C, D, E); semantic scores are
# spread evenly. Min-max rewards B for topping C-E by a wide margin, z-scores see that B
# is only one sd above a bimodal list while C tops an evenly spread one.
KEYWORD = [("A", 20.0), ("B", 18.0), ("C", 9.0), ("D", 8.0), ("E", 6.0)]
SEMANTIC = [("C", 0.9), ("E", 0.7), ("D", 0.6), ("B", 0.5), ("A", 0.2)]


def _z(ranking, pk):
    values = [s for _, s in ranking]
    return (dict(ranking)[pk] - statistics.fmean(values)) / statistics.pstdev(values)


def test_zscore_and_minmax_disagree_on_the_top_paper():
    assert [pk for pk, _ in weighted(KEYWORD, SEMANTIC)][:2] == ["B", "C"]
    assert [pk for pk, _ in zscore(KEYWORD, SEMANTIC)][:2] == ["C", "B"]


def test_zscore_is_the_weighted_mean_of_standardised_scores():
    fused = dict(zscore(KEYWORD, SEMANTIC, semantic_weight=0.3))
    for pk in "ABCDE":
        expected = 0.7 * _z(KEYWORD, pk) + 0.3 * _z(SEMANTIC, pk)
        assert fused[pk] == pytest.approx(expected)


def test_paper_missing_from_one_side_gets_that_sides_lowest_zscore():
    keyword = [("A", 9.0), ("B", 5.0), ("C", 1.0)]
    semantic = [("X", 0.8), ("A", 0.6), ("B", 0.4)]
    fused = dict(zscore(keyword, semantic))
    lowest_keyword = _z(keyword, "C")
    lowest_semantic = min(_z(semantic, pk) for pk in "XAB")
    assert fused["X"] == pytest.approx(0.5 * lowest_keyword + 0.5 * _z(semantic, "X"))
    assert fused["C"] == pytest.approx(0.5 * _z(keyword, "C") + 0.5 * lowest_semantic)
    # min-max gives a one-sided paper 0 on the other side, whatever that side looked like
    assert dict(weighted(keyword, semantic))["X"] == pytest.approx(0.5)


def test_constant_or_single_candidate_lists_do_not_divide_by_zero():
    fused = zscore([("A", 3.0)], [("A", 0.5), ("B", 0.5)])
    assert dict(fused) == {"A": 0.0, "B": 0.0}
    assert zscore([], []) == []
    assert [pk for pk, _ in zscore([], SEMANTIC)] == ["C", "E", "D", "B", "A"]


def test_fuse_dispatches_by_method():
    assert DEFAULT_METHOD == "zscore"
    assert fuse(KEYWORD, SEMANTIC) == zscore(KEYWORD, SEMANTIC)
    assert fuse(KEYWORD, SEMANTIC, "weighted") == weighted(KEYWORD, SEMANTIC)
    assert fuse(KEYWORD, SEMANTIC, "rrf") == rrf(KEYWORD, SEMANTIC)
    with pytest.raises(ValueError, match="unknown fusion method"):
        fuse(KEYWORD, SEMANTIC, "combsum")


def test_complete_zscore_uses_true_scores_on_both_sides():
    keyword = {"A": 9.0, "B": 5.0, "X": 1.0}  # X: a semantic candidate's looked-up BM25 score
    semantic = {"A": 0.6, "B": 0.4, "X": 0.8, "Y": 0.7}  # Y matched no query word: BM25 0
    fused = dict(zscore_complete(keyword, semantic))
    kw = [("A", 9.0), ("B", 5.0), ("X", 1.0), ("Y", 0.0)]
    sem = list(semantic.items())
    for pk in "ABXY":
        assert fused[pk] == pytest.approx(0.5 * _z(kw, pk) + 0.5 * _z(sem, pk))
    # imputing the lowest keyword z-score would have put X level with Y
    assert fused["X"] > fused["Y"]


def test_complete_zscore_gives_a_paper_without_vector_the_lowest_semantic_score():
    fused = dict(zscore_complete({"A": 3.0, "B": 1.0, "C": 2.0}, {"A": 0.9, "B": 0.1}))
    assert fused["C"] == pytest.approx(0.5 * _z([("A", 3.0), ("B", 1.0), ("C", 2.0)], "C") - 0.5)
