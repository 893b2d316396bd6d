"""For you ranking and "not interested" on real databases, with real vectors."""

from __future__ import annotations

from datetime import date

import pytest
from community_kit import add_user
from foryou_support import DAYS, load_papers, pk_of, topic_ids
from sqlalchemy import delete

from paperfeed.models import PaperEmbedding, User
from paperfeed.rank.foryou import RecommendError, recommend
from paperfeed.rank.search import forget_engines
from paperfeed.store import notinterested
from paperfeed.store import votes as vote_store
from paperfeed.store.changes import current as current_seq
from paperfeed.store.papers import get_paper
from paperfeed.store.signals import user_signals


@pytest.fixture
def loaded(db):
    forget_engines()
    load_papers(db)
    yield db
    forget_engines()


def upvote(db, user_pk: int, paper_id: str) -> None:
    with db.session() as session:
        vote_store.add_vote(session, session.get(User, user_pk), get_paper(session, paper_id))
        session.commit()


def not_interested(db, user_pk: int, paper_id: str) -> None:
    with db.session() as session:
        notinterested.mark_not_interested(session, user_pk, pk_of(db, paper_id))
        session.commit()


def ids(db, user_pk: int, **kw) -> list[str]:
    with db.session() as session:
        return [p.paper.id for p in recommend(session, db.settings, user_pk, **kw).picks]


def test_likes_of_a_topic_bring_the_topic_first(loaded, settings):
    user = add_user(loaded, settings, "ada")
    robots = topic_ids("cs.RO")
    for pid in robots[:2]:
        upvote(loaded, user, pid)
    with loaded.session() as session:
        recs = recommend(session, settings, user, window="all", limit=10)
    assert recs.mode == "vectors"
    top = [p.paper.id for p in recs.picks]
    assert not set(top) & set(robots[:2])  # what you liked is not recommended back
    assert set(top[:2]) <= set(robots[2:]), top  # the other robotics papers lead
    assert recs.picks[0].reason.startswith("like “") and recs.picks[0].reason.endswith("that you upvoted")
    assert recs.picks[0].score >= recs.picks[-1].score


def test_an_upvote_shows_in_the_next_request(loaded, settings):
    user = add_user(loaded, settings, "ada")
    upvote(loaded, user, topic_ids("cs.RO")[0])
    before = ids(loaded, user, window="all", limit=3)
    audio = topic_ids("cs.SD")
    for pid in audio[:3]:
        upvote(loaded, user, pid)
    after = ids(loaded, user, window="all", limit=3)
    assert before != after and set(after) & set(audio[3:])


def test_not_interested_hides_and_teaches(loaded, settings):
    user = add_user(loaded, settings, "ada")
    robots = topic_ids("cs.RO")
    upvote(loaded, user, robots[0])
    first = ids(loaded, user, window="all", limit=17)[0]
    seq = _seq(loaded)
    not_interested(loaded, user, first)
    assert _seq(loaded) > seq  # caches and ETags follow the mark
    assert first not in ids(loaded, user, window="all", limit=17)
    with loaded.session() as session:
        assert user_signals(session, user).negative == [pk_of(loaded, first)]
        assert notinterested.undo_not_interested(session, user, pk_of(loaded, first))
        assert not notinterested.undo_not_interested(session, user, pk_of(loaded, first))
        session.commit()
    assert first in ids(loaded, user, window="all", limit=17)


def test_not_interested_pushes_similar_papers_down(loaded, settings):
    from paperfeed.rank.search import similar

    user = add_user(loaded, settings, "ada")
    upvote(loaded, user, topic_ids("cs.RO")[0])
    upvote(loaded, user, topic_ids("cs.SD")[0])
    with loaded.session() as session:
        before = {p.paper.id: p.score for p in recommend(session, settings, user, window="all", limit=16).picks}
    turned_down = topic_ids("cs.CR")[0]
    neighbour = similar(loaded, turned_down, k=1)[0].paper.id
    not_interested(loaded, user, turned_down)
    with loaded.session() as session:
        after = {p.paper.id: p.score for p in recommend(session, settings, user, window="all", limit=15).picks}
    assert turned_down not in after
    assert after[neighbour] < before[neighbour]
    assert all(after[pid] <= before[pid] + 1e-6 for pid in after)
    assert any(after[pid] == pytest.approx(before[pid]) for pid in after)  # far papers keep their score


def test_windows_follow_the_pages(loaded, settings):
    user = add_user(loaded, settings, "ada")
    upvote(loaded, user, topic_ids("cs.CR")[0])
    with loaded.session() as session:
        day = recommend(session, settings, user, window="day", limit=20)
        week = recommend(session, settings, user, window="week", limit=20)
        earlier = recommend(session, settings, user, window="day", limit=20, until=date.fromisoformat(DAYS[0]))
    assert day.span == (date.fromisoformat(DAYS[-1]),) * 2 and len(day.picks) == 6
    assert len(week.picks) == 17
    assert earlier.span[1] == date.fromisoformat(DAYS[0]) and len(earlier.picks) == 6


def test_keyword_fallback_before_vectors(db, settings):
    forget_engines()
    load_papers(db, embed=False)
    user = add_user(db, settings, "ada")
    upvote(db, user, "2505.04806")  # "Red Teaming the Mind of the Machine: ... Prompt Injection ..."
    with db.session() as session:
        recs = recommend(session, settings, user, window="all", limit=5)
    assert recs.mode == "keyword"
    assert "2504.18333" in [p.paper.id for p in recs.picks[:3]]  # "... Prompt Injection ..." too
    assert recs.picks[0].reason.endswith("that you upvoted")
    forget_engines()


def test_vectors_missing_for_likes_falls_back_to_keywords(loaded, settings):
    user = add_user(loaded, settings, "ada")
    upvote(loaded, user, "2505.04806")
    with loaded.session() as session:
        session.execute(delete(PaperEmbedding).where(PaperEmbedding.paper_pk == pk_of(loaded, "2505.04806")))
        session.commit()
    from paperfeed.index.sync import sync_index

    sync_index(loaded, settings)
    with loaded.session() as session:
        assert recommend(session, settings, user, window="all", limit=5).mode == "keyword"


def test_no_likes_gives_popular_papers(loaded, settings):
    user = add_user(loaded, settings, "ada")
    not_interested(loaded, user, topic_ids("cs.CR")[0])
    with loaded.session() as session:
        recs = recommend(session, settings, user, window="week", limit=50)
    assert recs.mode == "popular" and len(recs.picks) == 17
    assert recs.picks[0].reason == "popular this week"


@pytest.mark.parametrize("kw", [{"window": "year"}, {"limit": 0}, {"limit": 101}])
def test_bad_requests(loaded, settings, kw):
    user = add_user(loaded, settings, "ada")
    with loaded.session() as session, pytest.raises(RecommendError):
        recommend(session, settings, user, **kw)


def test_marks_are_per_user_and_idempotent(loaded, settings):
    ada, bob = add_user(loaded, settings, "ada"), add_user(loaded, settings, "bob")
    pk = pk_of(loaded, topic_ids("cs.CR")[0])
    with loaded.session() as session:
        assert notinterested.mark_not_interested(session, ada, pk)
        assert not notinterested.mark_not_interested(session, ada, pk)
        session.commit()
        assert notinterested.hidden_among(session, ada, [pk]) == {pk}
        assert notinterested.hidden_among(session, bob, [pk]) == frozenset()
        assert [p.pk for p in notinterested.hidden_papers(session, ada)] == [pk]


def _seq(db) -> int:
    with db.session() as session:
        return current_seq(session)


def test_saved_papers_count_as_likes(loaded, settings):
    from paperfeed.store.collections import add_paper, create_collection

    user = add_user(loaded, settings, "ada")
    audio = topic_ids("cs.SD")
    with loaded.session() as session:
        shelf = create_collection(session, session.get(User, user), "Listening", visibility="private")
        for pid in audio[:2]:
            add_paper(session, shelf, get_paper(session, pid))
        session.commit()
    with loaded.session() as session:
        recs = recommend(session, settings, user, window="all", limit=4)
    top = [p.paper.id for p in recs.picks]
    assert not set(top) & set(audio[:2]) and set(top[:2]) <= set(audio[2:]), top
    assert recs.picks[0].reason.endswith("that you saved")


def test_a_followed_authors_paper_comes_first_and_says_why(loaded, settings):
    from paperfeed.store.authors import follow_author

    user = add_user(loaded, settings, "ada")
    robots = topic_ids("cs.RO")
    for pid in robots[:2]:
        upvote(loaded, user, pid)
    with loaded.session() as session:
        follow_author(session, user, "Mikhail Osipov")  # wrote 2504.12279, an audio paper
        session.commit()
    with loaded.session() as session:
        recs = recommend(session, settings, user, window="all", limit=4)
    assert recs.picks[0].paper.id == "2504.12279" and recs.picks[0].reason == "by an author you follow"
    assert {p.paper.id for p in recs.picks[1:3]} <= set(robots[2:])  # the likes still rank the rest
    not_interested(loaded, user, "2504.12279")
    assert "2504.12279" not in ids(loaded, user, window="all", limit=4)


def test_for_you_picks_go_to_the_users_webhook_once_a_day(loaded, settings):
    from notify_kit import Receiver

    import pinned
    from paperfeed.notify.alerts import emit_for_you_picks
    from paperfeed.notify.deliver import deliver_due
    from paperfeed.store.webhooks import create_webhook

    local = settings.model_copy(update={"webhook_allow_private": True, "webhook_timeout_seconds": 2.0})
    now = pinned.naive_now()
    ada, bob = add_user(loaded, settings, "ada"), add_user(loaded, settings, "bob")
    robots = topic_ids("cs.RO")
    upvote(loaded, ada, robots[0])
    with Receiver() as rx:
        with loaded.session() as session:
            create_webhook(session, ada, "mine", "json", rx.url("/ada"), ["for_you"])
            create_webhook(session, bob, "bob's", "json", rx.url("/bob"), ["reply"])  # follows no picks
            session.commit()
        assert emit_for_you_picks(loaded, local, now, day=date.fromisoformat(DAYS[-1])) == 1
        assert emit_for_you_picks(loaded, local, now, day=date.fromisoformat(DAYS[-1])) == 0  # once a day
        assert deliver_due(loaded, local, clock=lambda: now).sent == 1
        (got,) = rx.requests
    body = got.json()
    assert got.path == "/ada" and body["event"] == "for_you"
    papers = body["data"]["papers"]
    assert papers and robots[0] not in {p["id"] for p in papers}


def test_on_a_larger_instance_papers_are_compared_centred(db, settings, monkeypatch):
    """Above CENTRE_MIN_PAPERS the shared part of every vector is taken away first: 600 papers
    that all share one strong direction, in three topics; five likes of one topic."""
    import numpy as np
    from datetime import datetime

    from paperfeed.index.embed import DIM, MODEL_NAME
    from paperfeed.index.passages import pack
    from paperfeed.index.sync import sync_index
    from paperfeed.rank import foryou
    from paperfeed.records import Author, EntryRecord, PaperRecord
    from paperfeed.store.papers import upsert_records

    day = date(2026, 6, 3)
    topic = {f"2606.{i:05d}": i % 3 for i in range(600)}
    with db.session() as session:
        upsert_records(session, [PaperRecord(
            id=pid, title=f"Paper {pid}", abstract="An abstract.", authors=[Author("Ada Lovelace")],
            categories=["cs.LG"], submitted_at=datetime(2026, 6, 2, 12), announced_on=day, source="arxiv",
            abs_url=f"https://arxiv.org/abs/{pid}", entries=[EntryRecord(day=day, source="auto")]) for pid in topic])
    rng = np.random.default_rng(7)
    shared, *topics = (v / np.linalg.norm(v) for v in rng.normal(size=(4, DIM)))
    with db.session() as session:
        for pid, k in topic.items():
            vec = 0.9 * shared + 0.35 * topics[k] + 0.3 * rng.normal(size=DIM) / np.sqrt(DIM)
            paper = get_paper(session, pid)
            session.add(PaperEmbedding(paper_pk=paper.pk, model=MODEL_NAME, content_hash=paper.content_hash,
                                       text_hash="t", dim=DIM, vector=pack((vec / np.linalg.norm(vec))[None])))
    forget_engines()
    sync_index(db, settings)
    user = add_user(db, settings, "ada")
    liked = [pid for pid, k in topic.items() if k == 0][:5]
    for pid in liked:
        upvote(db, user, pid)
    centred = []
    real_centre = foryou._centre
    monkeypatch.setattr(foryou, "_centre", lambda snap: centred.append(len(snap)) or real_centre(snap))
    top = ids(db, user, window="all", limit=20)
    assert centred == [600]
    assert len(top) == 20 and {topic[pid] for pid in top} == {0} and not set(top) & set(liked)
    forget_engines()
