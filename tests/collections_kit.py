"""Shared set-up for the collections tests: an app with two users and a few papers."""

from __future__ import annotations

from community_kit import add_paper, client, make_app, signed_in

from paperfeed.accounts.api_tokens import create_api_token
from paperfeed.store.users import get_user_by_name

PAPERS = {"2606.00001": "Sparse attention for long documents",
          "2606.00002": "Diffusion models for protein design",
          "hep-th/9901001": "Gauge theory on an old-style identifier"}
NOTE = "zanzibar-private-note-7781"


def world(settings, db):
    """(app, ada's client, bob's client, anonymous client)."""
    for paper_id, title in PAPERS.items():
        add_paper(db, paper_id, title=title)
    app = make_app(settings, db)
    return app, signed_in(app, db, settings, "ada"), signed_in(app, db, settings, "bob"), client(app)


def token(db, username: str, scopes=("read", "write")) -> dict:
    with db.session() as session:
        _, raw = create_api_token(session, get_user_by_name(session, username), "t", list(scopes))
    return {"Authorization": f"Bearer {raw}"}


def new_collection(c, title: str, visibility: str = "private", description: str = ""):
    return c.form("/collections/new", {"title": title, "visibility": visibility, "description": description})


def save(c, collection_pk: int, paper_id: str):
    return c.post("/collections/toggle", data={"collection": collection_pk, "paper": paper_id},
                  headers={"HX-Request": "true", "X-CSRF-Token": c.csrf()})
