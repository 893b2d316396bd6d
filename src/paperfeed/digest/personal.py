"""Personalised digest picks: For you's ranking (rank/foryou.py) over a digest's pool.

A subscriber linked to an account gets the pool papers closest to what that account
liked, ahead of their interest matches; papers the account marked "not interested" are
never sent.
"""

from __future__ import annotations

from paperfeed.db import Database
from paperfeed.digest.choose import Candidate, Interests, Pool, choose
from paperfeed.rank.foryou import rank_for_user
from paperfeed.store.signals import user_signals


def personal_picks(db: Database, pool: Pool, user_pk: int, size: int,
                   sent: set[int] | frozenset[int]) -> tuple[list[Candidate], set[int]]:
    """(up to ``size`` pool papers ranked for the account, the papers it turned down)."""
    with db.session() as session:
        signals = user_signals(session, user_pk)
        if not signals.positive:
            return [], set(signals.negative)
        unsent = [c.pk for c in pool.candidates if c.pk not in sent]
        picks, mode = rank_for_user(session, db.settings, signals, unsent, size)
    if mode == "popular":  # trending order is what choose() falls back to anyway
        return [], set(signals.negative)
    by_pk = {c.pk: c for c in pool.candidates}
    return [by_pk[p.pk] for p in picks if p.pk in by_pk], set(signals.negative)


def combine(personal: list[Candidate], chosen: list[Candidate], size: int, has_interests: bool) -> list[Candidate]:
    """Personal picks first (half the digest when the subscriber also named interests), then
    the interest matches and trending papers ``choose`` found, without repeats."""
    share = -(-size // 2) if has_interests else size
    out = personal[:share]
    taken = {c.pk for c in out}
    for cand in [*chosen, *personal[share:]]:
        if len(out) >= size:
            break
        if cand.pk not in taken:
            out.append(cand)
            taken.add(cand.pk)
    return out


def papers_for(db: Database, pool: Pool, sub, interests: Interests,
               sent: set[int] | frozenset[int]) -> tuple[list[Candidate], bool]:
    """A subscriber's digest papers, and whether they were picked for them (personal or interests)."""
    personal, turned_down = personal_picks(db, pool, sub.user_pk, sub.size, sent) if sub.user_pk else ([], set())
    chosen = choose(pool, interests, sub.size, set(sent) | turned_down | {c.pk for c in personal})
    return combine(personal, chosen, sub.size, bool(interests)), bool(interests or personal)
