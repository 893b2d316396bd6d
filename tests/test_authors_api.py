"""The authors API: an author's papers as JSON, and following authors with a token."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from collections_kit import token
from community_kit import add_user, client, make_app
from sqlalchemy import func, select

from paperfeed.models import AuthorFollow
from paperfeed.records import Author, EntryRecord, PaperRecord
from paperfeed.store import authors as author_store
from paperfeed.store.papers import upsert_records
from paperfeed.store.users import get_user_by_name


def paper(paper_id: str, authors: list[str], day: date) -> PaperRecord:
    return PaperRecord(
        id=paper_id, title=f"Paper {paper_id}", abstract="An abstract.", authors=[Author(n) for n in authors],
        categories=["cs.LG"], submitted_at=datetime(day.year, day.month, day.day, 12), announced_on=day,
        source="arxiv", abs_url=f"https://arxiv.org/abs/{paper_id}", entries=[EntryRecord(day=day, source="auto")])


@pytest.fixture
def app(settings, db):
    with db.session() as session:
        upsert_records(session, [
            paper("2605.00001", ["José A. García", "Ada Lovelace"], date(2026, 5, 1)),
            paper("2606.00021", ["Jose Garcia", "Ada Lovelace", "Alan Turing"], date(2026, 6, 4)),
            paper("2606.00022", ["J. Garcia"], date(2026, 6, 5))])
    add_user(db, settings, "reader")
    return make_app(settings, db)


def test_an_authors_papers_as_json_newest_first_with_coauthors(app):
    c = client(app)
    body = c.get("/api/authors/jos%C3%A9%20garc%C3%ADa").json()
    assert [p["id"] for p in body["papers"]] == ["2606.00022", "2606.00021", "2605.00001"]
    assert body["total"] == 3 and body["key"] == "garcia j"
    assert set(body["spellings"]) == {"José A. García", "Jose Garcia", "J. Garcia"}
    assert body["coauthors"][0] == {"name": "Ada Lovelace", "papers": 2}
    page = c.get("/api/authors/Jose%20Garcia", params={"limit": 1, "offset": 1}).json()
    assert [p["id"] for p in page["papers"]] == ["2606.00021"] and page["papers"][0]["upvotes"] == 0


def test_odd_author_requests_are_4xx(app):
    c = client(app)
    assert c.get("/api/authors/Nobody%20Here").status_code == 404
    assert c.get("/api/authors/%20.%20").status_code == 400
    assert c.get("/api/authors/" + "a" * 400).status_code == 400
    assert c.get("/api/authors/Jose%20Garcia", params={"limit": 0}).status_code == 422
    assert c.get("/api/authors/Jose%20Garcia", params={"offset": "x"}).status_code == 422


def test_following_authors_with_a_token(app, db):
    auth = token(db, "reader")
    c = client(app)
    assert c.get("/api/me/authors", headers=auth).json() == []
    r = c.post("/api/me/authors", json={"name": "José García"}, headers=auth)
    assert r.status_code == 200
    assert r.json() == {"name": "José García", "key": "garcia j", "url": "/authors/Jos%C3%A9%20Garc%C3%ADa"}
    assert c.post("/api/me/authors", json={"name": "J. Garcia"}, headers=auth).status_code == 200  # same key
    assert [a["key"] for a in c.get("/api/me/authors", headers=auth).json()] == ["garcia j"]
    with db.session() as s:
        pk = get_user_by_name(s, "reader").pk
        assert author_store.followed_author_keys(s, pk) == {"garcia j"}  # For you and digests read this
    assert c.delete("/api/me/authors/Jose%20Garcia", headers=auth).status_code == 204
    assert c.get("/api/me/authors", headers=auth).json() == []
    assert c.delete("/api/me/authors/Jose%20Garcia", headers=auth).status_code == 404


def test_following_refuses_bad_input_and_changes_nothing(app, db):
    c = client(app)
    assert c.get("/api/me/authors").status_code == 401
    assert c.post("/api/me/authors", json={"name": "Jose Garcia"}).status_code == 403  # no token, no CSRF
    read_only = token(db, "reader", scopes=("read",))
    assert c.post("/api/me/authors", json={"name": "Jose Garcia"}, headers=read_only).status_code == 403
    assert c.get("/api/me/authors", headers=read_only).status_code == 200
    auth = token(db, "reader")
    assert c.post("/api/me/authors", json={"name": "Nobody Here"}, headers=auth).status_code == 404
    assert c.post("/api/me/authors", json={"name": "..."}, headers=auth).status_code == 400
    assert c.post("/api/me/authors", json={"name": "x" * 400}, headers=auth).status_code == 422
    assert c.post("/api/me/authors", json={"name": 7}, headers=auth).status_code == 422
    assert c.post("/api/me/authors", content=b"{", headers={**auth, "content-type": "application/json"}
                  ).status_code == 422
    assert c.delete("/api/me/authors/!!", headers=auth).status_code == 400
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(AuthorFollow)) == 0


def test_the_follow_limit_is_a_409(app, db, monkeypatch):
    monkeypatch.setattr(author_store, "MAX_FOLLOWS", 1)
    auth = token(db, "reader")
    c = client(app)
    assert c.post("/api/me/authors", json={"name": "Jose Garcia"}, headers=auth).status_code == 200
    over = c.post("/api/me/authors", json={"name": "Ada Lovelace"}, headers=auth)
    assert over.status_code == 409 and "unfollow some first" in over.json()["error"]


def test_the_schema_documents_the_authors_api(app):
    paths = client(app).get("/openapi.json").json()["paths"]
    assert {"get"} <= set(paths["/api/authors/{name}"]) and {"get", "post"} <= set(paths["/api/me/authors"])
    assert "delete" in paths["/api/me/authors/{name}"]
