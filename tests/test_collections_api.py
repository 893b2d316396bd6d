"""The collections API with tokens and sessions: every operation, the owner's notes, and
the refusals (someone else's collection, unknown papers, duplicates, limits, scopes)."""

from __future__ import annotations

from collections_kit import NOTE, token, world


def test_the_whole_life_of_a_collection_with_a_token(settings, db):
    _, ada, _, anon = world(settings, db)
    h = token(db, "ada")
    r = ada.post("/api/collections", json={"title": "Attention", "visibility": "public"}, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["url"] == "http://testserver/c/ada/attention" and r.json()["numPapers"] == 0
    assert ada.post("/api/collections", json={"title": "attention!"}, headers=h).status_code == 409
    r = ada.put("/api/collections/ada/attention/papers/hep-th/9901001", json={"note": NOTE}, headers=h)
    assert r.status_code == 200 and r.json() == {**r.json(), "id": "hep-th/9901001", "note": NOTE,
                                                 "state": "to_read"}
    assert r.json()["addedAt"].startswith("2026-06-10T09:30")  # the app's pinned clock
    assert ada.put("/api/collections/ada/attention/papers/2606.00001", headers=h).status_code == 200
    r = ada.patch("/api/collections/ada/attention/papers/2606.00001", json={"state": "read"}, headers=h)
    assert r.json()["state"] == "read"
    mine = ada.get("/api/collections/ada/attention", headers=h).json()
    assert {p["paper"]["id"]: (p["note"], p["state"]) for p in mine["papers"]} == {
        "hep-th/9901001": (NOTE, "to_read"), "2606.00001": ("", "read")}
    public = anon.get("/api/collections/ada/attention").json()
    assert len(public["papers"]) == 2 and NOTE not in str(public) and "state" not in public["papers"][0]
    r = ada.patch("/api/collections/ada/attention", json={"title": "Attention!", "slug": "attn"}, headers=h)
    assert r.json()["slug"] == "attn" and r.json()["numPapers"] == 2
    bib = ada.get("/api/collections/ada/attn/export", params={"format": "bibtex"}, headers=h)
    assert bib.text.count("@misc{") == 2 and NOTE in bib.text  # the owner's export keeps notes
    assert NOTE not in anon.get("/api/collections/ada/attn/export", params={"format": "ris"}).text
    assert anon.get("/api/collections/ada/attn/export", params={"format": "pdf"}).status_code == 400
    assert [c["slug"] for c in ada.get("/api/me/collections", headers=h).json()] == ["attn"]
    assert ada.delete("/api/collections/ada/attn/papers/2606.00001", headers=h).status_code == 204
    assert ada.delete("/api/collections/ada/attn/papers/2606.00001", headers=h).status_code == 404
    assert ada.delete("/api/collections/ada/attn", headers=h).status_code == 204
    assert anon.get("/api/collections/ada/attn").status_code == 404


def test_session_auth_needs_the_csrf_header(settings, db):
    _, ada, _, _ = world(settings, db)
    assert ada.post("/api/collections", json={"title": "No token"}).status_code == 403
    r = ada.post("/api/collections", json={"title": "With header"}, headers={"X-CSRF-Token": ada.csrf()})
    assert r.status_code == 201 and r.json()["visibility"] == "private"
    assert ada.get("/api/me/collections").json()[0]["slug"] == "with-header"


def test_refusals_change_nothing(settings, db):
    _, ada, bob, anon = world(settings, db)
    ha, hb = token(db, "ada"), token(db, "bob")
    ada.post("/api/collections", json={"title": "Private"}, headers=ha)
    ada.post("/api/collections", json={"title": "Public", "visibility": "public"}, headers=ha)
    ada.put("/api/collections/ada/private/papers/2606.00001", json={"note": NOTE}, headers=ha)
    checks = [
        (bob.get, "/api/collections/ada/private", hb, None, 404),
        (anon.get, "/api/collections/ada/private", {}, None, 404),
        (bob.get, "/api/collections/ada/private/export", hb, None, 404),
        (bob.put, "/api/collections/ada/private/papers/2606.00002", hb, None, 404),
        (bob.put, "/api/collections/ada/public/papers/2606.00002", hb, None, 403),
        (bob.patch, "/api/collections/ada/public", hb, {"title": "Mine now"}, 403),
        (bob.delete, "/api/collections/ada/public", hb, None, 403),
        (anon.post, "/api/collections", {}, {"title": "x"}, 403),  # CSRF first
        (anon.get, "/api/me/collections", {}, None, 401),
        (ada.put, "/api/collections/ada/public/papers/9999.99999", ha, None, 404),
        (ada.put, "/api/collections/ada/public/papers/2606.00002", ha, {"note": "n" * 4001}, 400),
        (ada.put, "/api/collections/ada/public/papers/2606.00002", ha, {"state": "maybe"}, 422),
        (ada.patch, "/api/collections/ada/private/papers/2606.00002", ha, {"note": "x"}, 404),
        (ada.post, "/api/collections", ha, {"title": "Public"}, 409),
        (ada.post, "/api/collections", ha, {"title": "ok", "slug": "Bad Slug"}, 400),
        (ada.post, "/api/collections", ha, {"title": "ok", "visibility": "hidden"}, 422),
        (ada.patch, "/api/collections/ada/private", ha, {"slug": "public"}, 409),
        (ada.post, "/api/collections", token(db, "ada", ["read"]), {"title": "read only"}, 403),
        (anon.get, "/api/collections/ada/no%00pe", {}, None, 404),
        (anon.get, "/api/users/nobody/collections", {}, None, 404),
    ]
    before = ada.get("/api/me/collections", headers=ha).json()
    for method, path, headers, body, status in checks:
        kwargs = {"json": body} if body is not None else {}
        r = method(path, headers=headers, **kwargs)
        assert r.status_code == status, (path, body, r.status_code, r.text)
        assert set(r.json()) == {"error"} if status != 422 or r.headers["content-type"].startswith(
            "application/json") else True
    assert ada.get("/api/me/collections", headers=ha).json() == before
    assert [c["slug"] for c in bob.get("/api/users/ada/collections", headers=hb).json()] == ["public"]
    assert NOTE not in bob.get("/api/users/ada/collections", headers=hb).text
