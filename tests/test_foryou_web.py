"""For you over HTTP (page, API, htmx "Not interested" and Undo) and from the CLI."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from community_kit import client, make_app, signed_in
from foryou_support import DAYS, load_papers, topic_ids
from sqlalchemy import func, select

from paperfeed.cli import cli
from paperfeed.models import NotInterested
from paperfeed.rank.search import forget_engines

CR = topic_ids("cs.CR")


@pytest.fixture
def app(db, settings):
    forget_engines()
    load_papers(db)
    yield make_app(settings, db)
    forget_engines()


def recs(c, **params):
    r = c.get("/api/me/recommendations", params=params)
    assert r.status_code == 200, r.text
    return r


def test_api_learns_from_an_upvote_at_once(app):
    c = signed_in(app, app.state.db, app.state.settings, "ada")
    assert recs(c, window="all").headers["x-recommendation-mode"] == "popular"
    assert c.htmx(f"/papers/{CR[0]}/upvote").status_code == 200
    r = recs(c, window="all", limit=5)
    assert r.headers["x-recommendation-mode"] == "vectors"
    items = r.json()
    assert len(items) == 5 and CR[0] not in [i["paper"]["id"] for i in items]
    first = items[0]
    assert first["reason"].endswith("that you upvoted") and first["score"] > 0
    assert {"paper", "title", "summary", "publishedAt", "numComments", "source", "githubRepo"} <= first.keys()
    assert first["paper"]["submittedOnDailyAt"] in [f"{d}T00:00:00.000Z" for d in DAYS]


def test_api_takes_tokens_and_refuses_strangers(app):
    db, settings = app.state.db, app.state.settings
    signed_in(app, db, settings, "ada")
    from paperfeed.models import User
    from paperfeed.accounts.api_tokens import create_api_token

    with db.session() as session:
        _, raw = create_api_token(session, session.scalar(select(User)), "script", ["read"])
        session.commit()
    stranger = client(app)
    assert stranger.get("/api/me/recommendations").status_code == 401
    r = stranger.get("/api/me/recommendations?window=day", headers={"Authorization": f"Bearer {raw}"})
    assert r.status_code == 200 and len(r.json()) == 6
    bad = stranger.get("/api/me/recommendations", headers={"Authorization": "Bearer pf_nope"})
    assert bad.status_code == 401 and "error" in bad.json()


@pytest.mark.parametrize("query,status", [("window=year", 400), ("limit=0", 422), ("limit=101", 422),
                                          ("limit=x", 422), ("until=2025-13-45", 422)])
def test_api_bad_parameters(app, query, status):
    c = signed_in(app, app.state.db, app.state.settings, "ada")
    r = c.get(f"/api/me/recommendations?{query}")
    assert r.status_code == status and "error" in r.json()


def test_page_needs_sign_in_and_shows_reasons(app):
    assert client(app).get("/for-you", follow_redirects=False).headers["location"].startswith("/login")
    c = signed_in(app, app.state.db, app.state.settings, "ada")
    c.htmx(f"/papers/{CR[0]}/upvote")
    page = c.get("/for-you?window=all")
    assert page.status_code == 200 and "that you upvoted" in page.text and 'class="card-reason"' in page.text
    assert c.get("/for-you?window=year").status_code == 400


def test_for_you_tab_only_for_signed_in_users(app):
    day = f"/papers/date/{DAYS[-1]}"
    assert "/for-you?window=day" not in client(app).get(day).text
    c = signed_in(app, app.state.db, app.state.settings, "ada")
    assert f"/for-you?window=day&amp;until={DAYS[-1]}" in c.get(day).text


def test_not_interested_hides_in_place_and_undo_brings_it_back(app):
    db = app.state.db
    c = signed_in(app, db, app.state.settings, "ada")
    day = f"/papers/date/{DAYS[-1]}"
    target = CR[-1]  # on the last day
    assert f'href="/papers/{target}"' in c.get(day).text and "Not interested" in c.get(day).text
    # without a CSRF token nothing changes
    assert c.post(f"/papers/{target}/not-interested", headers={"HX-Request": "true"}).status_code == 403
    assert _marks(db) == 0
    hidden = c.htmx(f"/papers/{target}/not-interested")
    assert hidden.status_code == 200 and "Undo" in hidden.text and "card-hidden" in hidden.text
    assert f'href="/papers/{target}"' not in c.get(day).text  # hidden for ada
    assert f'href="/papers/{target}"' in client(app).get(day).text  # not for anyone else
    assert target not in [i["paper"]["id"] for i in recs(c, window="all", limit=50).json()]
    assert target in c.get("/for-you").text  # listed under "not interested", with a way back
    back = c.htmx(f"/papers/{target}/not-interested/undo")
    assert back.status_code == 200 and f'id="card-{_pk(db, target)}"' in back.text and "Not interested" in back.text
    assert f'href="/papers/{target}"' in c.get(day).text and _marks(db) == 0


def test_not_interested_bad_input_changes_nothing(app):
    db = app.state.db
    assert client(app).htmx(f"/papers/{CR[0]}/not-interested").status_code == 401
    c = signed_in(app, db, app.state.settings, "ada")
    assert c.htmx("/papers/2999.99999/not-interested").status_code == 404
    assert c.htmx("/papers/%3Cscript%3E/not-interested").status_code == 404
    assert _marks(db) == 0
    plain = c.form(f"/papers/{CR[0]}/not-interested", headers={"Referer": "http://testserver/for-you"})
    assert plain.status_code == 303 and plain.headers["location"] == "/for-you" and _marks(db) == 1


def test_openapi_documents_recommendations(app):
    schema = client(app).get("/openapi.json").json()
    op = schema["paths"]["/api/me/recommendations"]["get"]
    assert op["parameters"][0]["schema"]["enum"] == ["day", "week", "month", "all"]
    item = schema["components"]["schemas"]["RecommendationItem"]
    assert {"score", "reason", "paper"} <= set(item["properties"])


def test_cli_recommend_json(app, settings):
    c = signed_in(app, app.state.db, settings, "ada")
    c.htmx(f"/papers/{CR[0]}/upvote")
    env = {"PAPERFEED_DATABASE_URL": settings.resolved_database_url, "PAPERFEED_DATA_DIR": str(settings.data_dir)}
    out = CliRunner().invoke(cli, ["user", "recommend", "ada", "--window", "all", "--limit", "3", "--json"], env=env)
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)
    assert len(rows) == 3 and set(rows[0]) == {"id", "title", "score", "reason"}
    assert rows[0]["reason"].endswith("that you upvoted")
    missing = CliRunner().invoke(cli, ["user", "recommend", "nobody"], env=env)
    assert missing.exit_code != 0 and "no user" in missing.output


def _marks(db) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(NotInterested))


def _pk(db, paper_id: str) -> int:
    from foryou_support import pk_of

    return pk_of(db, paper_id)
