"""Producing events: saved searches' new matches, the daily trending picks, and the hooks
for For you picks and followed collections.

New matches are papers whose pk is above the search's watermark (pks grow with every
insert, so no clock decides what is new). A run reads the newest pk first, brings this
node's keyword index up to date (every paper up to that pk is then searchable), searches,
and keeps the hits in (watermark, newest]. Moving the watermark and writing the event are
one transaction, conditional on the watermark it read, so two workers never both alert.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from paperfeed.config import Settings
from paperfeed.db import Database
from paperfeed.models.notify import E_COLLECTION, E_FOR_YOU, E_SAVED_SEARCH, E_TRENDING
from paperfeed.notify.payloads import paper_item
from paperfeed.store import saved_searches as saved_store
from paperfeed.store.webhooks import emit_event

log = logging.getLogger(__name__)
SEARCH_DEPTH = 200  # hits looked at per run; more new matches than this in one run are cut
TRENDING_PICKS = 10


@dataclass
class AlertReport:
    searches: int = 0
    alerted: int = 0
    papers: int = 0

    def summary(self) -> str:
        return f"{self.searches} saved searches run, {self.alerted} alerted about {self.papers} papers"


def run_saved_searches(db: Database, settings: Settings, now: datetime, sync: bool = True) -> AlertReport:
    from paperfeed.rank.search import SearchError, search

    with db.session() as session:
        newest = saved_store.newest_paper_pk(session)
        searches = [(s.pk, s.last_paper_pk, s.query, s.mode, s.category, s.since, s.until)
                    for s in saved_store.searches_with_alerts(session)]
    if sync and searches:
        _sync_index(db, settings)
    report = AlertReport()
    for pk, seen, query, mode, category, since, until in searches:
        if seen >= newest:
            continue
        try:
            hits = search(db, query, limit=SEARCH_DEPTH, mode=mode, category=category, since=since, until=until,
                          highlights=False).hits
        except SearchError as exc:
            log.warning("saved search %s cannot run: %s", pk, exc)
            continue
        fresh = sorted((h.paper for h in hits if seen < h.paper.pk <= newest), key=lambda p: p.pk, reverse=True)
        report.searches += 1
        if _alert(db, pk, seen, newest, fresh, now):
            report.alerted += bool(fresh)
            report.papers += len(fresh)
    return report


def _sync_index(db: Database, settings: Settings) -> None:
    from paperfeed.index.sync import sync_index

    try:
        sync_index(db, settings)
    except Exception:  # noqa: BLE001 - a busy or broken index degrades search; the run goes on
        log.warning("could not bring the keyword index up to date before saved searches", exc_info=True)


def _alert(db: Database, pk: int, seen: int, newest: int, papers: list, now: datetime) -> bool:
    with db.session() as session:
        if not saved_store.advance_watermark(session, pk, seen, newest, len(papers), now):
            return False
        saved = session.get(saved_store.SavedSearch, pk)
        if papers:
            payload = {"search_pk": pk, "name": saved.name, "query": saved.query,
                       "feed_path": f"/feeds/saved/{saved.feed_token}.rss", "papers": [paper_item(p) for p in papers]}
            emit_event(session, E_SAVED_SEARCH, f"search:{pk}:{seen}:{newest}", payload, now, user_pk=saved.user_pk,
                       mail=saved.alert_email, webhooks=saved.alert_webhook)
    return True


def emit_trending(db: Database, now: datetime, day: date | None = None, picks: int = TRENDING_PICKS) -> bool:
    """The day's trending picks (the latest day with papers) to every webhook following
    ``trending``; once per day, however many workers run it."""
    from paperfeed.store.feed import latest_day, page_entries

    with db.session() as session:
        day = day or latest_day(session)
        if day is None:
            return False
        entries = page_entries(session, day, day, sort="trending", limit=picks).entries
        if not entries:
            return False
        payload = {"title": f"Trending papers, {day.isoformat()}", "day": day.isoformat(),
                   "papers": [{**paper_item(e.paper), "upvotes": e.upvotes} for e in entries]}
        return emit_event(session, E_TRENDING, f"trending:{day.isoformat()}", payload, now) is not None


def emit_for_you_picks(db: Database, settings: Settings, now: datetime, day: date | None = None,
                       picks: int = TRENDING_PICKS) -> int:
    """Each user whose webhooks follow ``for_you`` gets that day's For you picks (the latest
    day with papers); once per user and day, however many workers run it. Returns how many
    users got picks."""
    from paperfeed.rank.foryou import recommend
    from paperfeed.store.feed import latest_day
    from paperfeed.store.webhooks import users_following

    sent = 0
    with db.session() as session:
        day = day or latest_day(session)
        if day is None:
            return 0
        for user_pk in users_following(session, E_FOR_YOU):
            recs = recommend(session, settings, user_pk, window="day", limit=picks, until=day)
            if recs.picks and emit_for_you(session, user_pk, day, [p.paper for p in recs.picks], now):
                sent += 1
        session.commit()
    return sent


def emit_for_you(session: Session, user_pk: int, day: date, papers: list, now: datetime) -> bool:
    """The hook for For you: call it, in the transaction that chose a user's picks, with the
    papers chosen; the user's webhooks following ``for_you`` get them once per day."""
    payload = {"title": f"Your picks, {day.isoformat()}", "day": day.isoformat(),
               "papers": [paper_item(p) for p in papers]}
    return emit_event(session, E_FOR_YOU, f"for_you:{user_pk}:{day.isoformat()}", payload, now,
                      user_pk=user_pk) is not None


def run_collection_news(db: Database, now: datetime) -> int:
    """New papers in followed collections, one event per follower and batch, whatever added
    them (the web, the API, an import); returns how many events were queued."""
    from paperfeed.store.collection_follows import mark_announced, pending_news

    queued = 0
    with db.session() as session:
        for news in pending_news(session):
            if news.papers and emit_collection_papers(session, news.follow.user_pk,
                                                      f"{news.collection.pk}:{news.newest_item_pk}",
                                                      news.collection.title, news.papers, now):
                queued += 1
            mark_announced(session, news.follow, news.newest_item_pk)
        session.commit()
    return queued


def emit_collection_papers(session: Session, user_pk: int, collection_key: str, collection_name: str,
                           papers: list, now: datetime) -> bool:
    """One event per follower and batch; ``collection_key`` names the batch uniquely
    ("<collection pk>:<highest membership pk>") so a rerun sends nothing twice."""
    payload = {"collection": collection_name, "papers": [paper_item(p) for p in papers]}
    return emit_event(session, E_COLLECTION, f"collection:{user_pk}:{collection_key}", payload, now,
                      user_pk=user_pk) is not None
