"""Following someone's collection: its new papers reach the follower's webhook once, over
real HTTP, on SQLite and PostgreSQL; private collections cannot be followed."""

from __future__ import annotations

import pinned
from collections_kit import new_collection, save, world
from notify_kit import Receiver
from sqlalchemy import select

from paperfeed.models import Collection
from paperfeed.notify.alerts import run_collection_news
from paperfeed.notify.deliver import deliver_due

NOW = pinned.naive_now()


def _pk(db, slug: str) -> int:
    with db.session() as s:
        return s.scalar(select(Collection.pk).where(Collection.slug == slug))


def test_new_papers_in_a_followed_collection_reach_the_followers_webhook_once(settings, db):
    local = settings.model_copy(update={"webhook_allow_private": True, "webhook_timeout_seconds": 2.0})
    _, ada, bob, anon = world(local, db)
    new_collection(ada, "Long context", "public")
    shelf = _pk(db, "long-context")
    save(ada, shelf, "2606.00001")  # there before bob follows: not news
    assert "data-follow-collection" not in anon.get("/c/ada/long-context").text
    assert "data-follow-collection" not in ada.get("/c/ada/long-context").text  # your own
    assert bob.form("/c/ada/long-context/follow").status_code == 303
    assert "Following ✓" in bob.get("/c/ada/long-context").text
    with Receiver() as rx:
        bob.form("/settings/webhooks", {"name": "mine", "kind": "json", "url": rx.url("/bob"),
                                        "events": ["collection"]})
        assert run_collection_news(db, NOW) == 0
        save(ada, shelf, "2606.00002")
        assert run_collection_news(db, NOW) == 1
        assert run_collection_news(db, NOW) == 0  # announced once
        assert deliver_due(db, local, clock=lambda: NOW).sent == 1
        (got,) = rx.requests
        body = got.json()
        assert body["event"] == "collection" and body["data"]["collection"] == "Long context"
        assert [p["id"] for p in body["data"]["papers"]] == ["2606.00002"]
        assert bob.form("/c/ada/long-context/unfollow").status_code == 303
        save(ada, shelf, "2606.00001")  # removed: it was there
        save(ada, shelf, "2606.00001")  # and added again
        assert run_collection_news(db, NOW) == 0  # nobody follows any more


def test_private_and_own_collections_cannot_be_followed_and_going_private_stops_news(settings, db):
    _, ada, bob, anon = world(settings, db)
    new_collection(ada, "Secret")
    assert bob.form("/c/ada/secret/follow").status_code == 404
    assert anon.post("/c/ada/secret/follow", data={"csrf_token": anon.csrf()}).status_code in (401, 404)
    new_collection(ada, "Open", "unlisted")
    assert ada.form("/c/ada/open/follow").status_code == 409
    assert bob.form("/c/ada/open/follow").status_code == 303
    ada.form("/c/ada/open/settings", {"visibility": "private"})
    save(ada, _pk(db, "open"), "2606.00001")
    assert run_collection_news(db, NOW) == 0
