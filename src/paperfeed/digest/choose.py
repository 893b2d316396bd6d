"""Choosing the papers for one subscriber: pure functions over a precomputed candidate pool.

The pool (built once per period by ``digest.pool``) lists candidates in trending order and
keeps inverted indexes (category -> candidates, author -> candidates, interest query ->
candidates), each sorted best first. Choosing for a subscriber then touches only the first
few entries of the lists their interests name, so it costs microseconds, not a query.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable

# weights: an author you follow beats a keyword, which beats a whole category
CATEGORY_WEIGHT, KEYWORD_WEIGHT, AUTHOR_WEIGHT = 1.0, 2.0, 3.0
LOOKAHEAD = 2  # from each interest list, consider up to LOOKAHEAD * size unsent candidates


@dataclass(slots=True)
class Candidate:
    pk: int
    id: str
    title: str
    authors: list[str]
    abstract: str
    upvotes: int
    categories: list[str]
    abs_url: str
    code_url: str | None
    text: str = ""  # lower-cased title and abstract, for keyword matching


@dataclass
class Pool:
    """Candidates for one period, best trending first, with inverted indexes (positions)."""

    candidates: list[Candidate]
    by_category: dict[str, list[int]] = field(default_factory=dict)
    by_author: dict[str, list[int]] = field(default_factory=dict)
    by_query: dict[str, list[int]] = field(default_factory=dict)  # filled by pool.prepare_queries


@dataclass(frozen=True)
class Interests:
    categories: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.categories or self.keywords or self.authors)


def author_key(name: str) -> str:
    """Case-, accent- and spacing-insensitive author name."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^\w\s-]", " ", plain.lower()).split())


def index_pool(candidates: list[Candidate]) -> Pool:
    pool = Pool(candidates=candidates)
    for pos, cand in enumerate(candidates):
        keys = set(cand.categories) | {c.split(".")[0] for c in cand.categories}
        for key in keys:
            pool.by_category.setdefault(key, []).append(pos)
        for name in cand.authors:
            pool.by_author.setdefault(author_key(name), []).append(pos)
    return pool


def choose(pool: Pool, interests: Interests, size: int, already_sent: set[int] | frozenset[int] = frozenset()) -> list[Candidate]:
    """Up to ``size`` papers not sent before: those matching the interests first (more and
    stronger matches first, then trending order), then the trending ones."""
    picked = _matching(pool, interests, size, already_sent) if interests else []
    taken = set(picked)
    for pos in range(len(pool.candidates)):
        if len(picked) >= size:
            break
        if pos not in taken and pool.candidates[pos].pk not in already_sent:
            picked.append(pos)
    return [pool.candidates[pos] for pos in picked]


def _matching(pool: Pool, interests: Interests, size: int, sent: set[int] | frozenset[int]) -> list[int]:
    scores: dict[int, float] = {}
    lists = ([(pool.by_category.get(c, ()), CATEGORY_WEIGHT) for c in interests.categories]
             + [(pool.by_query.get(k, ()), KEYWORD_WEIGHT) for k in interests.keywords]
             + [(pool.by_author.get(author_key(a), ()), AUTHOR_WEIGHT) for a in interests.authors])
    for positions, weight in lists:
        for pos in _first_unsent(pool, positions, sent, LOOKAHEAD * size):
            scores[pos] = scores.get(pos, 0.0) + weight
    # Position is the trending rank, so ties keep trending order.
    return sorted(scores, key=lambda pos: (-scores[pos], pos))[:size]


def _first_unsent(pool: Pool, positions: Iterable[int], sent, limit: int) -> Iterable[int]:
    count = 0
    for pos in positions:
        if count >= limit:
            return
        if pool.candidates[pos].pk not in sent:
            count += 1
            yield pos
