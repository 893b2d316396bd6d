"""Search: the one entry point the CLI, web, API and digests call.

``search_in`` runs keyword (tantivy BM25), semantic (sentence embeddings) or hybrid (both,
fused) retrieval in the caller's session (a web request's one session); until the vector
index covers the collection, semantic and hybrid requests are answered from the keyword
index with a ``notice`` that says so. ``similar_in`` gives a paper's nearest neighbours, or
title-term matches without vectors. ``search`` and ``similar`` are the same for scripts and
the CLI, which hold a ``Database``: each opens one session.

Searching never writes an index: the sync loop does (index/syncloop.py). A node whose
index is behind answers from it and says so; without a usable keyword index (missing,
damaged, being rebuilt) it answers plain title matches from the database and says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session

from paperfeed.config import Settings
from paperfeed.db import Database
from paperfeed.index.embed import EmbeddingUnavailable, get_embedder
from paperfeed.index.engine import engine_for, forget_engines  # noqa: F401  (tests reset handles)
from paperfeed.index.highlight import highlight, query_terms
from paperfeed.index.keyword import KeywordIndex
from paperfeed.index.status import eta_words
from paperfeed.index.query import ParsedQuery, parse_query
from paperfeed.index.spelling import corrections
from paperfeed.index.vectors import VectorSnapshot
from paperfeed.models import Paper
from paperfeed.rank.fusion import Ranking, zscore_complete
from paperfeed.store.papers import get_paper
from paperfeed.store.search import live_papers, live_pks_by_id, scan_for_words

log = logging.getLogger(__name__)
MODES = ("keyword", "semantic", "hybrid")
MAX_LIMIT = 1000
CANDIDATES = 100  # a semantic query ranks at least this many
# Each side of a hybrid query contributes this many before fusion: z-scores need the
# tail of each list to tell a typical candidate from a strong one (200 beat 100 in bench/).
FUSION_CANDIDATES = 200
CONSTRAINED_CANDIDATES = 1000
# Below this share of papers with vectors, semantic results would miss too much.
MIN_COVERAGE = 0.98
DEGRADED_NOTICE = ("The search index is being rebuilt; showing papers whose title (or abstract) contains "
                   "your words until it is ready.")
BEHIND_NOTICE = "The search index is catching up with the newest changes; they may be missing for a moment."
FALLBACK_WORDS = 8


class SearchError(ValueError):
    """A query that cannot be run; the message is shown to the user as is."""


@dataclass
class SearchHit:
    paper: Paper
    score: float
    # field name -> HTML-escaped text with <mark>...</mark> around matched terms
    highlights: dict[str, str] = field(default_factory=dict)


@dataclass
class SearchResults:
    query: str
    mode: str  # the mode actually used: "keyword" until vectors exist
    hits: list[SearchHit]
    requested_mode: str = "hybrid"
    notice: str | None = None  # e.g. "Semantic search is still indexing (40%); showing keyword results."
    total: int = 0  # matches found (for keyword mode, all BM25 matches; else the fused candidates)
    corrected: str | None = None  # the query searched instead, when words looked mistyped


def search(db: Database, query: str, **options) -> SearchResults:
    """``search_in`` in a session of its own."""
    with db.session() as session:
        return search_in(session, db.settings, query, **options)


def search_in(
    session: Session,
    settings: Settings,
    query: str,
    *,
    limit: int = 20,
    offset: int = 0,
    mode: str = "hybrid",
    category: str | None = None,
    since: date | None = None,
    until: date | None = None,
    highlights: bool = True,
    exact: bool = False,
) -> SearchResults:
    """``exact``: search the words as typed, without correcting the ones that look mistyped."""
    _validate(mode, limit, offset, since, until)
    parsed = parse_query(query or "")
    if category and category.strip():
        parsed.categories.append(category.strip().lower())
    if parsed.is_empty:
        return SearchResults(query=query, mode="keyword", hits=[], requested_mode=mode)
    engine = engine_for(settings)
    keyword, depth = engine.keyword(), offset + limit
    if keyword is None:
        ranking, _ = _pinned_first(session, parsed, _fallback(session, parsed, depth, since, until), 0)
        return SearchResults(query=query, mode="keyword", hits=_hits(session, ranking[offset:], parsed, highlights),
                             requested_mode=mode, notice=DEGRADED_NOTICE, total=len(ranking))
    corrected = None if exact else _correct_spelling(keyword, parsed)
    snap = engine.snapshot()
    used, notice = _effective_mode(keyword, snap, mode, parsed)
    if engine.behind(session):
        notice = f"{notice} {BEHIND_NOTICE}" if notice else BEHIND_NOTICE
    ranking, total = _pinned_first(session, parsed,
                                   *_rank(settings, keyword, snap, parsed, used, depth, since, until))
    page = ranking[offset:offset + limit]
    hits = _hits(session, page, parsed, highlights)
    return SearchResults(query=query, mode=used, hits=hits, requested_mode=mode, notice=notice, total=total,
                         corrected=corrected)


def _correct_spelling(keyword: KeywordIndex, parsed: ParsedQuery) -> str | None:
    """Replace the words that look mistyped (index/spelling.py); the query searched, or None."""
    fixes = corrections(keyword, parsed.words)
    if not fixes:
        return None
    parsed.words = [fixes.get(word, word) for word in parsed.words]
    return parsed.text


def _validate(mode: str, limit: int, offset: int, since: date | None, until: date | None) -> None:
    if mode not in MODES:
        raise SearchError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    if not 1 <= limit <= MAX_LIMIT:
        raise SearchError(f"limit must be between 1 and {MAX_LIMIT}")
    if offset < 0 or offset > 10_000:
        raise SearchError("offset must be between 0 and 10000")
    if since and until and since > until:
        raise SearchError("the start date is after the end date")


def _effective_mode(keyword: KeywordIndex, snap: VectorSnapshot, mode: str,
                    parsed: ParsedQuery) -> tuple[str, str | None]:
    if mode == "keyword" or not parsed.has_text:
        return "keyword", None
    embedded, papers = len(snap), keyword.num_docs
    if papers and embedded / papers < MIN_COVERAGE:
        eta = _eta(snap, papers - embedded)
        return "keyword", (f"Semantic search is still indexing ({embedded:,} of {papers:,} papers"
                           f"{f', {eta} left' if eta else ''}); showing keyword results.")
    if not papers:
        return "keyword", None
    return mode, None


def _eta(snap: VectorSnapshot, missing: int) -> str | None:
    """The time left at the pace the embedders had when the snapshot was built."""
    rate = snap.progress.get("rate")
    return eta_words(missing / rate) if rate else None


def _rank(settings: Settings, keyword: KeywordIndex, snap: VectorSnapshot, parsed: ParsedQuery, mode: str,
          depth: int, since, until) -> tuple[Ranking, int]:
    if mode == "keyword":
        return keyword.search(parsed, limit=depth, since=since, until=until)
    ranking = rank_with_vector(keyword, snap, parsed, _query_vector(settings, parsed), mode, depth, since, until)
    return ranking, len(ranking)


def _pinned_first(session: Session, parsed: ParsedQuery, ranking: Ranking, total: int) -> tuple[Ranking, int]:
    """Papers named by id (``2401.01234``, ``arXiv:…``, an abs URL) first: their digits as
    words would rank whatever abstract mentions "2401" above the paper itself."""
    if not parsed.ids:
        return ranking, total
    found = live_pks_by_id(session, parsed.ids)
    pinned = list(dict.fromkeys(found[i] for i in parsed.ids if i in found))
    top = max((score for _, score in ranking), default=1.0)
    rest = [(pk, score) for pk, score in ranking if pk not in set(pinned)]
    return [(pk, top) for pk in pinned] + rest, total + len(pinned) - (len(ranking) - len(rest))


def _fallback(session: Session, parsed: ParsedQuery, depth: int, since, until) -> Ranking:
    """Newest papers whose title, else abstract, contains a query word: a plain database
    scan (tens of ms at 75k papers) that keeps search useful while no index can be read."""
    words = [w for w in [*parsed.words, *(" ".join(p) for p in parsed.phrases), *(" ".join(a) for a in parsed.authors)]
             if len(w) > 1][:FALLBACK_WORDS]
    pks = scan_for_words(session, words, parsed.categories, since, until, depth)
    return [(pk, 0.0) for pk in pks]


def rank_with_vector(keyword_index: KeywordIndex, snap: VectorSnapshot, parsed: ParsedQuery, vec, mode: str,
                     depth: int, since=None, until=None) -> Ranking:
    """Semantic or hybrid ranking for an embedded query (bench/search_speed.py times this).

    Candidates come from BM25 and from whole-text vectors; each is then scored by its
    best passage and, in hybrid mode, by its true BM25 score too (rank/fusion.py).
    """
    constrained = bool(parsed.phrases or parsed.authors)
    candidates = max(FUSION_CANDIDATES if mode == "hybrid" else CANDIDATES, depth)
    kw_depth = CONSTRAINED_CANDIDATES if constrained else candidates
    keyword: Ranking = []
    if mode == "hybrid" or constrained:  # plain semantic queries need no BM25 (2 ms at 75k)
        keyword, _ = keyword_index.search(parsed, limit=kw_depth, since=since, until=until)
    semantic = snap.search(vec, candidates, since=since, until=until, categories=parsed.categories or None)
    if parsed.excluded or parsed.excluded_authors or parsed.excluded_categories:  # vectors know no "-word"
        banned = keyword_index.excluded_among(parsed, [pk for pk, _ in semantic])
        semantic = [(pk, s) for pk, s in semantic if pk not in banned]
    if constrained:  # phrases and author filters must hold in every mode
        allowed = {pk for pk, _ in keyword}
        semantic = [(pk, s) for pk, s in semantic if pk in allowed]
    if mode == "semantic":
        best = snap.best_passage_scores([pk for pk, _ in semantic], vec)
        return sorted(((pk, best[pk]) for pk, _ in semantic), key=lambda item: -item[1])
    keyword_scores = _keyword_scores(keyword_index, parsed, keyword, candidates, semantic)
    pool = list(dict.fromkeys([*keyword_scores, *(pk for pk, _ in semantic)]))
    return zscore_complete(keyword_scores, snap.best_passage_scores(pool, vec))


def _keyword_scores(keyword_index: KeywordIndex, parsed: ParsedQuery, keyword: Ranking, candidates: int,
                    semantic: Ranking) -> dict[int, float]:
    """BM25 scores of the top keyword candidates and of every semantic candidate."""
    known = dict(keyword)  # deeper than ``candidates`` when phrases or authors constrain
    scores = dict(keyword[:candidates])
    scores.update((pk, known[pk]) for pk, _ in semantic if pk in known)
    missing = [pk for pk, _ in semantic if pk not in scores]
    scores.update(keyword_index.scores_of(parsed, missing))
    return scores


def _query_vector(settings: Settings, parsed: ParsedQuery):
    try:
        embedder = get_embedder(settings.embedding_device, settings.embedding_threads)
    except EmbeddingUnavailable as exc:
        raise SearchError(f"semantic search is unavailable: {exc}") from exc
    return embedder.encode_query(parsed.text)


def _load_papers(session: Session, pks: list[int]) -> dict[int, Paper]:
    return live_papers(session, pks) if pks else {}


def _hits(session: Session, page: Ranking, parsed: ParsedQuery, with_highlights: bool = True) -> list[SearchHit]:
    papers = _load_papers(session, [pk for pk, _ in page])
    terms = query_terms(parsed.text)
    hits = []
    for pk, score in page:
        paper = papers.get(pk)
        if paper is None:  # deleted since the index was written
            continue
        marks = ({"title": highlight(paper.title, terms), "abstract": highlight(paper.abstract or "", terms, snippet=True)}
                 if with_highlights else {})
        hits.append(SearchHit(paper=paper, score=float(score) if parsed.has_text else 0.0, highlights=marks))
    return hits


def similar(db: Database, paper_id: str, k: int = 5) -> list[SearchHit]:
    """``similar_in`` in a session of its own."""
    with db.session() as session:
        return similar_in(session, db.settings, paper_id, k)


def similar_in(session: Session, settings: Settings, paper_id: str, k: int = 5) -> list[SearchHit]:
    """The ``k`` papers closest to ``paper_id``: by embedding, else by shared title terms."""
    if k <= 0:
        return []
    paper = get_paper(session, paper_id)
    if paper is None:
        return []
    engine = engine_for(settings)
    snap, keyword = engine.snapshot(), engine.keyword()
    vec = snap.vector_of(paper.pk)
    if vec is not None:
        ranking = snap.search(vec, k, exclude=paper.pk)
    elif keyword is None:
        return []  # no index to ask until the sync loop has rebuilt it
    else:
        parsed = parse_query(paper.title)
        found, _ = keyword.search(parsed, limit=k + 1)
        ranking = [(pk, s) for pk, s in found if pk != paper.pk][:k]
    papers = _load_papers(session, [pk for pk, _ in ranking])
    return [SearchHit(paper=papers[pk], score=score) for pk, score in ranking if pk in papers]
