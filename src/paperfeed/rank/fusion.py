"""Combine a keyword ranking and a semantic ranking into one.

Three methods, compared in bench/search_quality.py (nDCG@10, all-MiniLM-L6-v2):
reciprocal-rank fusion (rank only), a weighted sum of min-max-normalised scores, and a
weighted sum of z-scores. ``DEFAULT_METHOD`` was chosen on the SciFact *train* split
(z-scores, 200 candidates a side, semantic weight 0.5: 0.739; min-max with 100 a side,
the previous default, 0.734; RRF 0.720; weights 0.3-0.7 peaked at 0.5) and then checked
on the SciFact test split, Cranfield and CACM: 0.730, 0.421, 0.490 against min-max 0.729,
0.419, 0.484, RRF 0.715, 0.414, 0.494 and keyword alone 0.697, 0.380, 0.403.
Min-max lets one outlier score squash the rest of its list towards 0; z-scores keep
how far each paper stands above its list's typical score, so the two lists weigh alike.

Hybrid search now uses ``zscore_complete``: every candidate carries its true score on
both sides (its BM25 score looked up, its best-passage cosine computed) instead of an
imputed one, and each side is standardised over all candidates. SciFact train, with
passage vectors (bench/search_quality.py --split train): 0.747 against 0.743 for
``zscore`` over the same two lists; without the BM25 look-up it measured 0.740.
"""

from __future__ import annotations

import math

Ranking = list[tuple[int, float]]  # (pk, score) best first

RRF_K = 60
SEMANTIC_WEIGHT = 0.5
DEFAULT_METHOD = "zscore"


def rrf(keyword: Ranking, semantic: Ranking, k: int = RRF_K) -> Ranking:
    scores: dict[int, float] = {}
    for ranking in (keyword, semantic):
        for rank, (pk, _) in enumerate(ranking):
            scores[pk] = scores.get(pk, 0.0) + 1.0 / (k + rank + 1)
    return _best_first(scores)


def weighted(keyword: Ranking, semantic: Ranking, semantic_weight: float = SEMANTIC_WEIGHT) -> Ranking:
    """Min-max normalise each list to [0, 1]; a paper missing from a list scores 0 there."""
    return _weighted_sum(_minmax(keyword), _minmax(semantic), semantic_weight, impute_min=False)


def zscore(keyword: Ranking, semantic: Ranking, semantic_weight: float = SEMANTIC_WEIGHT) -> Ranking:
    """Standardise each list's scores (mean 0, sd 1 over that list's candidates).

    A paper found by only one side gets the other side's lowest z-score: it ranked below
    every candidate there, and 0 would be the *average* candidate, not a weak one.
    """
    return _weighted_sum(_standardised(keyword), _standardised(semantic), semantic_weight, impute_min=True)


def zscore_complete(keyword: dict[int, float], semantic: dict[int, float],
                    semantic_weight: float = SEMANTIC_WEIGHT) -> Ranking:
    """Z-score fusion when both sides have scored every candidate.

    A candidate missing from ``keyword`` matched no query word: BM25 0, its true score.
    One missing from ``semantic`` has no vector yet and gets that side's lowest z-score.
    """
    candidates = list({**keyword, **semantic})
    return _weighted_sum(_standardised([(pk, keyword.get(pk, 0.0)) for pk in candidates]),
                         _standardised(list(semantic.items())), semantic_weight, impute_min=True)


def _weighted_sum(keyword: dict[int, float], semantic: dict[int, float], semantic_weight: float,
                  impute_min: bool) -> Ranking:
    missing_kw = min(keyword.values(), default=0.0) if impute_min else 0.0
    missing_sem = min(semantic.values(), default=0.0) if impute_min else 0.0
    scores = {pk: (1.0 - semantic_weight) * keyword.get(pk, missing_kw)
              + semantic_weight * semantic.get(pk, missing_sem)
              for pk in {**keyword, **semantic}}  # a dict keeps first-seen order for ties
    return _best_first(scores)


def _minmax(ranking: Ranking) -> dict[int, float]:
    if not ranking:
        return {}
    values = [s for _, s in ranking]
    lo, hi = min(values), max(values)
    if hi - lo < 1e-12:
        return {pk: 1.0 for pk, _ in ranking}
    return {pk: (s - lo) / (hi - lo) for pk, s in ranking}


def _standardised(ranking: Ranking) -> dict[int, float]:
    if not ranking:
        return {}
    values = [s for _, s in ranking]
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    if sd < 1e-12:  # one candidate, or all tied: nothing to tell them apart
        return {pk: 0.0 for pk, _ in ranking}
    return {pk: (s - mean) / sd for pk, s in ranking}


def _best_first(scores: dict[int, float]) -> Ranking:
    return sorted(scores.items(), key=lambda item: -item[1])


def fuse(keyword: Ranking, semantic: Ranking, method: str = DEFAULT_METHOD) -> Ranking:
    if method == "zscore":
        return zscore(keyword, semantic)
    if method == "rrf":
        return rrf(keyword, semantic)
    if method == "weighted":
        return weighted(keyword, semantic)
    raise ValueError(f"unknown fusion method {method!r}")
