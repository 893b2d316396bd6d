"""For you: papers ranked for one user from what they liked and what they turned down.

Signals come from ``store.signals.user_signals`` (upvotes, submissions, and later
collections and followed authors; "not interested" marks). Three ways to rank, the first
that applies:

* **vectors**: each candidate's stored embedding is compared with the liked papers', all
  centred first (the mean of every paper's vector taken away: what all papers here share,
  "this is an ML paper", says nothing about a taste; over all 75k demo papers this took
  recall@50 from 0.23 to 0.32 on the bench's picking users).
  ``score = MEAN_WEIGHT * cos(c, mean of liked) + (1 - MEAN_WEIGHT) * max cos(c, liked)
  - NEGATIVE_WEIGHT * max(0, max cos(c, not interested) - NEGATIVE_FLOOR)``, plus a small share for liked
  categories. The nearest liked paper is the reason ("like X that you upvoted").
  Chosen on bench/foryou_quality.py (topics from the real listing).
* **keyword**: before vectors exist, a BM25 query made of the liked papers' titles,
  plus the same category share; the reason is the liked paper sharing most title words.
* **popular**: a user with no likes gets the window's trending papers.

Nothing is cached: every request reads the signals, so an upvote or a "not interested"
changes the very next answer. Over all 75k demo papers candidates come from the faiss
IVF index (one probe per liked paper, batched), so a request stays in milliseconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from sqlalchemy.orm import Session

from paperfeed.config import Settings
from paperfeed.index.engine import engine_for
from paperfeed.index.keyword import KeywordIndex
from paperfeed.index.query import ParsedQuery
from paperfeed.index.vectors import NPROBE, VectorSnapshot
from paperfeed.models import Paper
from paperfeed.store.feed import latest_day, trending_paper_pks
from paperfeed.store.search import live_papers
from paperfeed.store.signals import Signals, user_signals, window_paper_pks

WINDOWS = {"day": 1, "week": 7, "month": 30, "all": None}
WINDOW_LABELS = {"day": "today", "week": "this week", "month": "this month", "all": "lately"}
MAX_LIMIT = 100
MEAN_WEIGHT = 0.7
NEGATIVE_WEIGHT = 0.5
# Unrelated abstracts are 0.0-0.25 apart in cosine with this model: only closeness beyond
# that says "like what you turned down".
NEGATIVE_FLOOR = 0.25
CENTER = True  # compare papers after removing what all papers here share (bench: 0.230 -> 0.337 recall@50)
# Below this the mean is mostly the liked papers themselves, and taking it away scrambles them.
CENTRE_MIN_PAPERS = 500
CATEGORY_WEIGHT = 0.05  # a tie-breaker between equally close papers, not a topic of its own
QUERY_LIKES = 32  # the most recent likes that each probe the IVF index
PER_LIKE = 60  # candidates per probing like
PROFILE_CANDIDATES = 600  # candidates from the mean of all likes
EXACT_CANDIDATES = 3000  # up to this many candidates (a day or a week) are all scored exactly
KEYWORD_TITLES = 12  # liked titles that make up the fallback's query
POPULAR_DAYS = 30  # what "popular" means for the window "all"
REASONS = {  # (before the title, after it)
    "upvoted": ("like ", " that you upvoted"),
    "saved": ("like ", " that you saved"),
    "submitted": ("like ", " that you submitted"),
}
FOLLOWED_SHARE = 0.5  # papers by followed authors take at most this share of the picks
_WORD = re.compile(r"[a-z][a-z0-9-]{2,}")


class RecommendError(ValueError):
    """A bad window or limit; the message is safe to show."""


@dataclass
class Pick:
    pk: int
    score: float
    because_pk: int | None = None  # the liked paper it is closest to
    because_kind: str | None = None  # how it was liked: a key of REASONS
    popular_in: str | None = None  # for popular picks: "this week"
    paper: Paper | None = None
    because_title: str | None = None

    @property
    def reason_parts(self) -> tuple[str, str, str]:
        """(before, title, after): pages put the title in italics, the rest as plain text."""
        if self.because_kind == "followed":
            return "by an author you follow", "", ""
        if self.because_title is not None:
            before, after = REASONS.get(self.because_kind or "upvoted", REASONS["upvoted"])
            return before, self.because_title, after
        return f"popular {self.popular_in or 'lately'}", "", ""

    @property
    def reason(self) -> str:
        before, title, after = self.reason_parts
        return f"{before}“{title}”{after}" if title else before


@dataclass
class Recommendations:
    picks: list[Pick]
    mode: str  # vectors | keyword | popular
    window: str
    span: tuple[date, date] | None = None  # the days of the window (None: all papers)
    hidden: int = 0  # how many of the user's "not interested" marks there are
    liked: int = 0


def recommend(session: Session, settings: Settings, user_pk: int, *, window: str = "week", limit: int = 20,
              until: date | None = None) -> Recommendations:
    """The user's top ``limit`` papers among those on the pages of the window ending at
    ``until`` (default: the newest day with papers), or among all papers for "all"."""
    if window not in WINDOWS:
        raise RecommendError(f"unknown window {window!r}; use one of {', '.join(WINDOWS)}")
    if not 1 <= limit <= MAX_LIMIT:
        raise RecommendError(f"limit must be between 1 and {MAX_LIMIT}")
    span = _span(session, window, until)
    signals = user_signals(session, user_pk)
    picks, mode = rank_for_user(session, settings, signals, window_paper_pks(session, *span) if span else None,
                                limit, popular_in=WINDOW_LABELS[window], span=span)
    _attach_papers(session, picks)
    picks = [p for p in picks if p.paper is not None]
    return Recommendations(picks=picks, mode=mode, window=window, span=span, hidden=len(signals.negative),
                           liked=len(signals.positive))


def _span(session: Session, window: str, until: date | None) -> tuple[date, date] | None:
    days = WINDOWS[window]
    if days is None:
        return None
    end = latest_day(session, until=until) or until
    if end is None:
        return None if until is None else (until, until)
    return end - timedelta(days=days - 1), end


def rank_for_user(session: Session, settings: Settings, signals: Signals, candidates: list[int] | None,
                  limit: int, popular_in: str = "lately",
                  span: tuple[date, date] | None = None) -> tuple[list[Pick], str]:
    """The best ``limit`` picks among ``candidates`` (None: every paper), and the mode that
    ranked them; popular picks are the trending ones of ``span`` (default: the candidates in
    their order). Liked and turned-down papers are never picked; new papers by followed
    authors come first."""
    followed = _followed_picks(signals, candidates, limit)
    picks, mode = _rank(session, settings, signals, candidates, limit, popular_in, span)
    taken = {p.pk for p in followed}
    return (followed + [p for p in picks if p.pk not in taken])[:limit], mode


def _followed_picks(signals: Signals, candidates: list[int] | None, limit: int) -> list[Pick]:
    """Papers by followed authors among the candidates, newest first, up to a share of the picks."""
    allowed = None if candidates is None else set(candidates)
    found = [pk for pk in signals.followed if allowed is None or pk in allowed]
    room = max(1, int(limit * FOLLOWED_SHARE))
    return [Pick(pk=pk, score=1.0, because_kind="followed") for pk in found[:room]]


def _rank(session: Session, settings: Settings, signals: Signals, candidates: list[int] | None,
          limit: int, popular_in: str, span: tuple[date, date] | None) -> tuple[list[Pick], str]:
    engine = engine_for(settings)
    seen = set(signals.positive) | set(signals.negative)
    if signals.positive:
        snap = engine.snapshot()
        liked = [int(pk) for pk in snap.pks[_rows_of(snap, list(signals.positive))]] if len(snap) else []
        order = {pk: i for i, pk in enumerate(signals.positive)}
        liked.sort(key=order.__getitem__)  # newest like first, as the signals come
        if liked:
            return _by_vectors(snap, signals, liked, candidates, seen, limit), "vectors"
        keyword = engine.keyword()
        if keyword is not None:
            picks = _by_keywords(session, keyword, signals, candidates, seen, limit)
            if picks:
                return picks, "keyword"
    if span is not None:
        candidates = trending_paper_pks(session, *span)
    return _popular(session, candidates, seen, limit, popular_in), "popular"


# --- vectors -------------------------------------------------------------------


def _one_blas_thread():
    """BLAS limited to one thread: these products are small, and on busy shared cores a
    threaded matmul spent 50 ms spinning on what one thread does in 3."""
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")


_BLAS = None


def _by_vectors(snap: VectorSnapshot, signals: Signals, liked: list[int], candidates: list[int] | None,
                seen: set[int], limit: int) -> list[Pick]:
    with _one_blas_thread():
        return _score_by_vectors(snap, signals, liked, candidates, seen, limit)


def _score_by_vectors(snap: VectorSnapshot, signals: Signals, liked: list[int], candidates: list[int] | None,
                      seen: set[int], limit: int) -> list[Pick]:
    likes = _rows_matrix(snap, np.searchsorted(snap.pks, liked))
    rows = _candidate_rows(snap, candidates, likes, _unit(likes.mean(axis=0)))
    rows = rows[~np.isin(snap.pks[rows], np.fromiter(seen, np.int64, len(seen)))] if seen else rows
    if not len(rows):
        return []
    vectors = _rows_matrix(snap, rows)
    centre = _centre(snap) if CENTER and len(snap) >= CENTRE_MIN_PAPERS else None
    near_likes, near_vectors = (likes, vectors) if centre is None else (_centred(likes, centre), _centred(vectors, centre))
    close = near_vectors @ near_likes.T
    nearest = close.argmax(axis=1)
    score = MEAN_WEIGHT * (near_vectors @ _unit(near_likes.mean(axis=0))) + (1 - MEAN_WEIGHT) * close.max(axis=1)
    score -= NEGATIVE_WEIGHT * _negative_closeness(snap, signals.negative, vectors)
    score += CATEGORY_WEIGHT * _category_share(snap, rows, signals)
    top = _top(score, limit)
    return [Pick(pk=int(snap.pks[rows[i]]), score=float(score[i]), because_pk=liked[nearest[i]],
                 because_kind=signals.positive[liked[nearest[i]]]) for i in top]


_CENTRES: dict[int, tuple[object, np.ndarray]] = {}


def _centre(snap: VectorSnapshot) -> np.ndarray:
    """The mean of every paper's vector, once per snapshot: what all papers here share."""
    held = _CENTRES.get(id(snap))
    if held is None or held[0] is not snap:
        total = np.zeros(snap.vectors.shape[1], dtype=np.float64)
        for start in range(0, len(snap), 20_000):
            total += np.asarray(snap.vectors[start:start + 20_000], dtype=np.float32).sum(axis=0)
        _CENTRES.clear()
        held = _CENTRES[id(snap)] = (snap, (total / max(len(snap), 1)).astype(np.float32))
    return held[1]


def _centred(matrix: np.ndarray, centre: np.ndarray) -> np.ndarray:
    out = matrix - centre
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def _candidate_rows(snap: VectorSnapshot, candidates: list[int] | None, likes: np.ndarray,
                    profile: np.ndarray) -> np.ndarray:
    rows = _rows_of(snap, candidates) if candidates is not None else None
    small = len(snap) if rows is None else len(rows)
    if snap.ivf is None or small <= EXACT_CANDIDATES:  # few enough to score every one
        return np.arange(len(snap), dtype=np.int64) if rows is None else rows
    mask = None
    if rows is not None:
        mask = np.zeros(len(snap), dtype=bool)
        mask[rows] = True
    return _probe(snap, [(profile, PROFILE_CANDIDATES)] + [(like, PER_LIKE) for like in likes[:QUERY_LIKES]],
                  mask)


def _rows_of(snap: VectorSnapshot, pks: list[int]) -> np.ndarray:
    """Snapshot rows of these papers (those with a vector); the snapshot is in pk order."""
    wanted = np.asarray(pks, dtype=np.int64)
    at = np.clip(np.searchsorted(snap.pks, wanted), 0, max(len(snap) - 1, 0))
    return np.unique(at[snap.pks[at] == wanted]) if len(snap) else at[:0]


def _probe(snap: VectorSnapshot, queries: list[tuple[np.ndarray, int]], mask: np.ndarray | None) -> np.ndarray:
    """Rows the IVF index finds near each query (only rows in ``mask``, when given).

    One query per call: a batch makes faiss start OpenMP threads, which on busy shared
    cores spin for tens of milliseconds where a single probe takes a fraction of one."""
    import faiss

    params = None
    if mask is not None:
        bits = np.packbits(mask, bitorder="little")
        params = faiss.SearchParametersIVF(sel=faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bits)),
                                           nprobe=min(snap.ivf.nlist, 4 * NPROBE))
    found = [snap.ivf.search(q[None].astype(np.float32), k, params=params)[1].ravel() for q, k in queries]
    rows = np.unique(np.concatenate(found))
    return rows[rows >= 0]


def _rows_matrix(snap: VectorSnapshot, rows) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.int64)
    order = np.argsort(rows)  # memory-mapped rows are read in file order
    out = np.empty((len(rows), snap.vectors.shape[1]), dtype=np.float32)
    out[order] = np.asarray(snap.vectors[rows[order]], dtype=np.float32)
    return out


def _negative_closeness(snap: VectorSnapshot, negative: list[int], vectors: np.ndarray) -> np.ndarray:
    rows = _rows_of(snap, negative)
    if not len(rows):
        return np.zeros(len(vectors), dtype=np.float32)
    return np.maximum((vectors @ _rows_matrix(snap, rows).T).max(axis=1) - NEGATIVE_FLOOR, 0.0)


def _category_share(snap: VectorSnapshot, rows: np.ndarray, signals: Signals) -> np.ndarray:
    """The share of liked papers in the candidate's best-liked category (0..1)."""
    total = len(signals.positive) or 1
    share = np.zeros(len(snap), dtype=np.float32)
    for cat, n in signals.categories.items():  # the snapshot keeps rows per category
        found = snap._rows_in_category(cat.lower())
        share[found] = np.maximum(share[found], n / total)
    return share[rows]


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return (vector / norm if norm else vector).astype(np.float32)


def _top(score: np.ndarray, limit: int) -> np.ndarray:
    k = min(limit, len(score))
    top = np.argpartition(-score, k - 1)[:k]
    return top[np.argsort(-score[top], kind="stable")]


# --- keywords (before vectors exist) -------------------------------------------


def _by_keywords(session: Session, keyword: KeywordIndex, signals: Signals, candidates: list[int] | None,
                 seen: set[int], limit: int) -> list[Pick]:
    liked = live_papers(session, list(signals.positive)[:KEYWORD_TITLES])
    words = _title_words([p.title for p in liked.values()])
    if not words:
        return []
    query = ParsedQuery(words=words)
    if candidates is None:
        found, _ = keyword.search(query, limit=limit * 4 + len(seen))
        scores = dict(found)
    else:
        scores = keyword.scores_of(query, [pk for pk in candidates if pk not in seen])
    scores = {pk: s for pk, s in scores.items() if pk not in seen}
    if not scores:
        return []
    best = max(scores.values()) or 1.0
    shares = _paper_category_shares(session, list(scores), signals)
    ranked = sorted(scores, key=lambda pk: -(scores[pk] / best + CATEGORY_WEIGHT * shares.get(pk, 0.0)))[:limit]
    papers = live_papers(session, ranked)
    return [_keyword_pick(pk, scores[pk] / best + CATEGORY_WEIGHT * shares.get(pk, 0.0), papers.get(pk), liked,
                          signals) for pk in ranked]


def _title_words(titles: list[str]) -> list[str]:
    words: list[str] = []
    for title in titles:
        words += _WORD.findall(title.lower())
    return list(dict.fromkeys(words))[:200]


def _keyword_pick(pk: int, score: float, paper: Paper | None, liked: dict[int, Paper], signals: Signals) -> Pick:
    """The reason is the liked paper whose title shares most words with this one."""
    words = set(_WORD.findall(paper.title.lower())) if paper else set()
    because = max(liked, key=lambda lp: len(words & set(_WORD.findall(liked[lp].title.lower()))))
    return Pick(pk=pk, score=score, because_pk=because, because_kind=signals.positive[because])


def _paper_category_shares(session: Session, pks: list[int], signals: Signals) -> dict[int, float]:
    total = len(signals.positive) or 1
    papers = live_papers(session, pks)
    return {pk: max((signals.categories.get(c, 0) / total for c in p.category_list), default=0.0)
            for pk, p in papers.items()}


# --- popular (no likes yet) ----------------------------------------------------


def _popular(session: Session, candidates: list[int] | None, seen: set[int], limit: int,
             popular_in: str) -> list[Pick]:
    if candidates is None:
        end = latest_day(session)
        candidates = trending_paper_pks(session, end - timedelta(days=POPULAR_DAYS - 1), end) if end else []
    picked = [pk for pk in candidates if pk not in seen][:limit]
    return [Pick(pk=pk, score=0.0, popular_in=popular_in) for pk in picked]


def _attach_papers(session: Session, picks: list[Pick]) -> None:
    papers = live_papers(session, [p.pk for p in picks] + [p.because_pk for p in picks if p.because_pk])
    for pick in picks:
        pick.paper = papers.get(pick.pk)
        because = papers.get(pick.because_pk) if pick.because_pk else None
        pick.because_title = " ".join(because.title.split()) if because else None
