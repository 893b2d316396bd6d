"""Collection pages, the Save menu, notes, exports and the feed, through the real app on
SQLite and PostgreSQL. Private collections and notes must never reach anyone else:
other users, anonymous visitors, the page cache, search, feeds or exports."""

from __future__ import annotations

import re

import feedparser
from collections_kit import NOTE, new_collection, save, world
from sqlalchemy import select

from paperfeed.models import Collection, CollectionItem
from paperfeed.store.changes import current


def _pk(db, slug: str) -> int:
    with db.session() as s:
        return s.scalar(select(Collection.pk).where(Collection.slug == slug))


def _items(db) -> list[tuple]:
    with db.session() as s:
        return s.execute(select(CollectionItem.collection_pk, CollectionItem.paper_pk, CollectionItem.note,
                                CollectionItem.state).order_by(CollectionItem.pk)).all()


def test_create_rename_delete_and_duplicate_slugs(settings, db):
    _, ada, _, anon = world(settings, db)
    r = new_collection(ada, "Long context", "public", "Papers on long inputs")
    assert r.status_code == 303 and r.headers["location"] == "/c/ada/long-context"
    page = ada.get("/c/ada/long-context")
    assert page.status_code == 200 and "Papers on long inputs" in page.text
    assert new_collection(ada, "Long  Context!").status_code == 409  # same slug
    r = ada.form("/c/ada/long-context/settings", {"title": "Long inputs", "slug": "long-inputs"})
    assert r.headers["location"] == "/c/ada/long-inputs"
    assert "Long inputs" in anon.get("/c/ada").text
    new_collection(ada, "Other")
    assert ada.form("/c/ada/long-inputs/settings", {"slug": "other"}).status_code == 409
    assert ada.form("/c/ada/long-inputs/settings", {"slug": "Not A Slug"}).status_code == 400
    assert ada.form("/c/ada/long-inputs/settings", {"visibility": "secret"}).status_code == 400
    assert new_collection(ada, "").status_code == 400
    assert new_collection(ada, "x" * 101).status_code == 400
    assert ada.form("/c/ada/long-inputs/delete").status_code == 303
    assert ada.get("/c/ada/long-inputs").status_code == 404


def test_save_menu_adds_and_removes_in_place(settings, db):
    _, ada, _, anon = world(settings, db)
    new_collection(ada, "Reading")
    menu = ada.get("/collections/menu", params={"paper": "2606.00001"})
    assert 'data-collection="reading"' in menu.text and 'aria-pressed="false"' in menu.text
    r = save(ada, _pk(db, "reading"), "2606.00001")
    assert r.status_code == 200 and 'aria-pressed="true"' in r.text and 'id="save-menu-' in r.text
    assert len(_items(db)) == 1
    r = save(ada, _pk(db, "reading"), "hep-th/9901001")  # an old id with a slash
    assert r.status_code == 200 and len(_items(db)) == 2
    assert 'aria-pressed="false"' in save(ada, _pk(db, "reading"), "2606.00001").text
    assert len(_items(db)) == 1
    r = ada.post("/collections/quick", data={"title": "From a card", "paper": "2606.00002"},
                 headers={"HX-Request": "true", "X-CSRF-Token": ada.csrf()})
    assert r.status_code == 200 and 'data-collection="from-a-card"' in r.text
    assert "Sign in" in anon.get("/collections/menu", params={"paper": "2606.00001"}).text
    assert anon.get("/collections/menu", params={"paper": "9999.99999"}).status_code == 404


def test_cards_and_paper_pages_carry_the_save_button(settings, db):
    _, ada, _, anon = world(settings, db)
    for c in (ada, anon):
        assert "data-save-button" in c.get("/").text
        assert "data-save-button" in c.get("/papers/2606.00001").text


def test_bad_writes_change_nothing(settings, db):
    _, ada, bob, anon = world(settings, db)
    new_collection(ada, "Mine", "public")
    mine = _pk(db, "mine")
    save(ada, mine, "2606.00001")
    with db.session() as s:
        before = current(s)
    assert save(bob, mine, "2606.00002").status_code == 404  # someone else's collection
    assert save(ada, mine, "9999.99999").status_code == 404  # unknown paper
    assert save(ada, 2**40, "2606.00001").status_code == 400  # out of range
    assert anon.post("/collections/toggle", data={"collection": mine, "paper": "2606.00002"}).status_code == 403
    assert bob.form("/c/ada/mine/settings", {"title": "Pwned"}).status_code == 403
    assert bob.form("/c/ada/mine/delete").status_code == 403
    assert bob.form("/c/ada/mine/item", {"paper": "2606.00001", "note": "x"}).status_code == 403
    assert ada.form("/c/ada/mine/item", {"paper": "2606.00001", "note": "n" * 4001}).status_code == 400
    assert ada.form("/c/ada/mine/item", {"paper": "2606.00001", "state": "skimmed"}).status_code == 400
    assert ada.form("/c/ada/mine/item", {"paper": "2606.00002", "note": "not in it"}).status_code == 404
    assert ada.post("/c/ada/mine/delete").status_code == 403  # no CSRF token
    with db.session() as s:
        assert current(s) == before
    assert _items(db)[0][2:] == ("", "to_read") and len(_items(db)) == 1
    assert ada.get("/c/ada/mine").text.count('class="collection-item"') == 1


def test_private_collections_and_notes_stay_private(settings, db):
    _, ada, bob, anon = world(settings, db)
    new_collection(ada, "Secret plans")
    new_collection(ada, "Shared", "public")
    new_collection(ada, "Link only", "unlisted")
    for slug in ("secret-plans", "shared", "link-only"):
        save(ada, _pk(db, slug), "2606.00001")
        r = ada.post(f"/c/ada/{slug}/item", data={"paper": "2606.00001", "note": NOTE, "state": "read"},
                     headers={"HX-Request": "true", "X-CSRF-Token": ada.csrf()})
        assert r.status_code == 200 and NOTE in r.text
    assert NOTE in ada.get("/c/ada/shared").text and NOTE in ada.get("/c/ada/shared.bib").text
    for c in (bob, anon):
        for path in ("/c/ada/secret-plans", "/c/ada/secret-plans.bib", "/c/ada/secret-plans.ris",
                     "/c/ada/secret-plans.json", "/c/ada/secret-plans.rss", "/c/ada/link-only.rss"):
            r = c.get(path)
            assert r.status_code == 404 and "Secret plans" not in r.text, path
        listing = c.get("/c/ada").text
        assert "Shared" in listing and "Secret plans" not in listing and "Link only" not in listing
        for path in ("/c/ada/shared", "/c/ada/link-only", "/c/ada/shared.bib", "/c/ada/shared.ris",
                     "/c/ada/shared.json", "/c/ada/shared.rss"):
            r = c.get(path)
            assert r.status_code == 200 and NOTE not in r.text and "to_read" not in r.text, path
        menu = c.get("/collections/menu", params={"paper": "2606.00001"}).text
        assert "Secret plans" not in menu
        for path in ("/search?q=" + NOTE, "/api/papers/search?q=" + NOTE, "/feeds/search.rss?q=" + NOTE,
                     "/search?q=Secret+plans", "/api/papers/search?q=Secret+plans"):
            assert "Sparse attention" not in c.get(path).text, path  # notes and names are not searchable
        for path in ("/feeds/latest.rss", "/feeds/trending.rss", "/api/daily_papers", "/api/papers/2606.00001",
                     "/papers/2606.00001", "/"):
            r = c.get(path)
            assert NOTE not in r.text and "Secret plans" not in r.text, path


def test_the_page_cache_follows_collection_writes(settings, db):
    _, ada, _, anon = world(settings, db)
    new_collection(ada, "Public list", "public")
    first = anon.get("/c/ada/public-list")
    assert "Sparse attention" not in first.text
    assert anon.get("/c/ada/public-list").text == first.text  # from the cache
    save(ada, _pk(db, "public-list"), "2606.00001")
    assert "Sparse attention" in anon.get("/c/ada/public-list").text  # not stale
    ada.form("/c/ada/public-list/settings", {"visibility": "private"})
    assert anon.get("/c/ada/public-list").status_code == 404
    ada.form("/c/ada/public-list/item", {"paper": "2606.00001", "note": NOTE})
    ada.form("/c/ada/public-list/settings", {"visibility": "public"})
    assert NOTE not in anon.get("/c/ada/public-list").text
    assert NOTE in ada.get("/c/ada/public-list").text  # the owner's page is never the cached one


def test_exports_and_feed(settings, db):
    _, ada, _, anon = world(settings, db)
    new_collection(ada, "Exported", "public", "A description")
    for paper_id in ("2606.00001", "hep-th/9901001"):
        save(ada, _pk(db, "exported"), paper_id)
    bib = anon.get("/c/ada/exported.bib")
    assert bib.headers["content-type"].startswith("application/x-bibtex")
    assert bib.text.count("@misc{") == 2 and "eprint        = {hep-th/9901001}" in bib.text
    ris = anon.get("/c/ada/exported.ris").text
    assert ris.count("TY  - ") == 2 and ris.count("ER  - ") == 2 and "TI  - Sparse attention" in ris
    body = anon.get("/c/ada/exported.json").json()
    assert body["title"] == "Exported" and {p["paper"]["id"] for p in body["papers"]} == {
        "2606.00001", "hep-th/9901001"}
    assert "note" not in body["papers"][0]
    feed = feedparser.parse(anon.get("/c/ada/exported.rss").content)
    assert feed.feed.title == "Exported (ada)" and len(feed.entries) == 2
    assert feed.entries[0].link.startswith("http://testserver/papers/")
    assert anon.get("/c/ada/exported.pdf").status_code == 404
    assert re.search(r'rel="alternate" type="application/rss\+xml"[^>]+/c/ada/exported\.rss',
                     anon.get("/c/ada/exported").text)


def test_reading_list_filter(settings, db):
    _, ada, _, _ = world(settings, db)
    new_collection(ada, "Queue")
    for paper_id in ("2606.00001", "2606.00002"):
        save(ada, _pk(db, "queue"), paper_id)
    ada.form("/c/ada/queue/item", {"paper": "2606.00002", "state": "read"})
    to_read = ada.get("/c/ada/queue?state=to_read").text
    assert "Sparse attention" in to_read and "Diffusion models" not in to_read
    assert "Diffusion models" in ada.get("/c/ada/queue?state=read").text
    assert "added Jun 10, 2026" in to_read  # the app's clock (pinned), not the wall clock
