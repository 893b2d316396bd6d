"""Digests of a subscriber linked to an account use For you's ranking (and skip "not interested")."""

from __future__ import annotations

from datetime import date

import pinned
import pytest
from community_kit import add_user
from foryou_support import DAYS, load_papers, pk_of, topic_ids

from paperfeed.digest import subscribe as flow
from paperfeed.digest.preview import preview_message
from paperfeed.models import User
from paperfeed.rank.search import forget_engines
from paperfeed.store import notinterested
from paperfeed.store import subscriptions as store
from paperfeed.store import votes as vote_store
from paperfeed.store.papers import get_paper

TITLES = {p: None for p in topic_ids("cs.RO")}
SEND_DAY = date.fromisoformat(DAYS[-1])


@pytest.fixture
def loaded(db):
    forget_engines()
    load_papers(db)
    yield db
    forget_engines()


def subscriber(db, user_pk: int | None, email: str, **prefs) -> None:
    with db.session() as session:
        sub = store.pending_subscriber(session, email)
        flow.apply_preferences(sub, flow.parse_preferences(**{"frequency": "weekly", "weekday": 0, "size": 5,
                                                              **prefs}))
        sub.user_pk = user_pk
        store.activate(session, sub, pinned.naive_now())
        session.commit()


def digest_ids(db, email: str) -> list[str]:
    message = preview_message(db, email, kind="weekly", today=SEND_DAY)
    text = message.get_body(("plain",)).get_content()
    with db.session() as session:
        ids = [pid for pid in topic_ids("cs.RO") + topic_ids("cs.SD") + topic_ids("cs.CR")]
        found = {pid: text.find(get_paper(session, pid).abs_url or pid) for pid in ids}
    return sorted((pid for pid, at in found.items() if at >= 0), key=found.get)


def test_linked_subscriber_gets_papers_like_what_they_upvoted(loaded, settings):
    ada = add_user(loaded, settings, "ada")
    robots = topic_ids("cs.RO")
    with loaded.session() as session:
        for pid in robots[:2]:
            vote_store.add_vote(session, session.get(User, ada), get_paper(session, pid))
        notinterested.mark_not_interested(session, ada, pk_of(loaded, robots[2]))
        session.commit()
    subscriber(loaded, ada, "ada@example.org")
    subscriber(loaded, None, "anon@example.org")
    mine = digest_ids(loaded, "ada@example.org")
    assert len(mine) == 5 and robots[2] not in mine and not set(mine) & set(robots[:2])
    assert set(mine[:2]) <= set(robots[3:]), mine  # the closest first
    assert digest_ids(loaded, "anon@example.org") != mine  # trending for everyone else


def test_interests_keep_half_of_the_digest(loaded, settings):
    ada = add_user(loaded, settings, "ada")
    with loaded.session() as session:
        vote_store.add_vote(session, session.get(User, ada), get_paper(session, topic_ids("cs.RO")[0]))
        session.commit()
    subscriber(loaded, ada, "ada@example.org", categories="cs.CR")
    mine = digest_ids(loaded, "ada@example.org")
    assert len(set(mine) & set(topic_ids("cs.CR"))) >= 2
