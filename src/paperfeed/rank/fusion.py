"""Combine a keyword ranking and a semantic ranking into one.

Two methods, compared in bench/search_quality.py: reciprocal-rank fusion (rank only)
and a weighted sum of min-max-normalised scores. ``DEFAULT_METHOD`` is the one that
measured better there (nDCG@10, all-MiniLM-L6-v2): weighted 0.5 scored SciFact 0.729,
Cranfield 0.419, CACM 0.484; RRF 0.715, 0.414, 0.494; semantic weights 0.3-0.7 peaked at 0.5.
"""

from __future__ import annotations

Ranking = list[tuple[int, float]]  # (pk, score) best first

RRF_K = 60
SEMANTIC_WEIGHT = 0.5
DEFAULT_METHOD = "weighted"


def rrf(keyword: Ranking, semantic: Ranking, k: int = RRF_K) -> Ranking:
    scores: dict[int, float] = {}
    for ranking in (keyword, semantic):
        for rank, (pk, _) in enumerate(ranking):
            scores[pk] = scores.get(pk, 0.0) + 1.0 / (k + rank + 1)
    return sorted(scores.items(), key=lambda item: -item[1])


def weighted(keyword: Ranking, semantic: Ranking, semantic_weight: float = SEMANTIC_WEIGHT) -> Ranking:
    """Min-max normalise each list to [0, 1]; a paper missing from a list scores 0 there."""
    scores: dict[int, float] = {}
    for ranking, weight in ((keyword, 1.0 - semantic_weight), (semantic, semantic_weight)):
        for pk, norm in _normalised(ranking):
            scores[pk] = scores.get(pk, 0.0) + weight * norm
    return sorted(scores.items(), key=lambda item: -item[1])


def _normalised(ranking: Ranking) -> Ranking:
    if not ranking:
        return []
    values = [s for _, s in ranking]
    lo, hi = min(values), max(values)
    if hi - lo < 1e-12:
        return [(pk, 1.0) for pk, _ in ranking]
    return [(pk, (s - lo) / (hi - lo)) for pk, s in ranking]


def fuse(keyword: Ranking, semantic: Ranking, method: str = DEFAULT_METHOD) -> Ranking:
    if method == "rrf":
        return rrf(keyword, semantic)
    if method == "weighted":
        return weighted(keyword, semantic)
    raise ValueError(f"unknown fusion method {method!r}")
