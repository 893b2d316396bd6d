"""Issue 16, part 1: the curated Daily Papers view beside All new, admins featuring papers,
author pages and following authors, and `paperfeed user token`. SQLite and PostgreSQL."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, datetime

import pytest
from click.testing import CliRunner
from community_kit import add_user, client, make_app, signed_in
from sqlalchemy import func, select

from paperfeed.models import ApiToken, AuditLog, AuthorFollow, AuthorName, DailyEntry, Paper
from paperfeed.records import Author, EntryRecord, PaperRecord
from paperfeed.store import authors as author_store
from paperfeed.store.papers import get_paper, upsert_records
from paperfeed.store.votes import toggle_vote
from paperfeed.store.users import get_user_by_name

DAY = date(2026, 6, 3)
QUIET_DAY = date(2026, 6, 2)


def paper(paper_id: str, authors: list[str], *, day: date = DAY, source: str = "auto", upvotes=None,
          categories=("cs.LG",), published: date | None = None) -> PaperRecord:
    published = published or day
    return PaperRecord(
        id=paper_id, title=f"Paper {paper_id}", abstract="An abstract.",
        authors=[Author(name) for name in authors], categories=list(categories),
        submitted_at=datetime(published.year, published.month, published.day, 12), announced_on=day,
        source="hf" if source == "hf" else "arxiv", abs_url=f"https://arxiv.org/abs/{paper_id}",
        entries=[EntryRecord(day=day, source=source, upvotes=upvotes)])


def load(db, records) -> None:
    with db.session() as session:
        upsert_records(session, records)


def card_ids(html: str) -> list[str]:
    return re.findall(r'href="/papers/([^"#]+)" data-card-link', html)


@pytest.fixture
def day_of_papers(db):
    load(db, [paper("2606.00001", ["Ada Lovelace"]), paper("2606.00002", ["Alan Turing"], categories=("math.CO",)),
              paper("2606.00003", ["Grace Hopper"], categories=("cs.CL", "cs.LG")),
              paper("2606.00004", ["Emmy Noether"], source="hf", upvotes=7),
              paper("2606.00010", ["Kurt Gödel"], day=QUIET_DAY)])


@pytest.fixture
def app(settings, db):
    return make_app(settings, db)


# --- the curated day and the firehose -----------------------------------------------------------


def test_a_day_with_curated_papers_lands_on_daily_papers(app, day_of_papers):
    c = client(app)
    page = c.get(f"/papers/date/{DAY}")
    assert page.status_code == 200
    assert card_ids(page.text) == ["2606.00004"]  # the HF import alone
    assert "Daily Papers (1)" in page.text and "All new (4)" in page.text
    assert 'data-view="daily" aria-current="page"' in page.text
    everything = c.get(f"/papers/date/{DAY}?view=all")
    assert sorted(card_ids(everything.text)) == ["2606.00001", "2606.00002", "2606.00003", "2606.00004"]
    assert 'data-view="all" aria-current="page"' in everything.text
    assert "view=all" in everything.text.split('aria-label="Sort"')[1].split("</div>")[0]  # sorting keeps the view


def test_a_day_without_curated_papers_lands_on_all_new_and_says_why(app, day_of_papers):
    page = client(app).get(f"/papers/date/{QUIET_DAY}")
    assert card_ids(page.text) == ["2606.00010"]
    assert "Nothing was submitted, upvoted or featured here yet" in page.text
    assert "Daily Papers (0)" in page.text
    asked = client(app).get(f"/papers/date/{QUIET_DAY}?view=daily")
    assert card_ids(asked.text) == [] and "All new</a> lists every new paper" in asked.text


def test_an_upvote_puts_a_paper_on_daily_papers(app, db, settings, day_of_papers):
    add_user(db, settings, "voter")
    with db.session() as s:
        toggle_vote(s, get_user_by_name(s, "voter"), get_paper(s, "2606.00001"))
    page = client(app).get(f"/papers/date/{DAY}")
    assert sorted(card_ids(page.text)) == ["2606.00001", "2606.00004"]


def test_bad_views_are_a_400_and_week_and_month_pages_have_views(app, day_of_papers):
    c = client(app)
    assert c.get(f"/papers/date/{DAY}?view=bogus").status_code == 400
    assert c.get("/?view=%00").status_code == 400
    week = c.get("/papers/week/2026-W23")
    assert "Daily Papers (1)" in week.text and "All new (5)" in week.text
    month = c.get("/papers/month/2026-06?view=all")
    assert len(card_ids(month.text)) == 5


def test_all_new_is_limited_to_the_instance_categories(settings, db, day_of_papers):
    for configured in ({"listing_categories": ["cs.CL", "math"]}, {"fetch_categories": ["cs.CL", "math"]}):
        app = make_app(settings.model_copy(update=configured), db)
        page = client(app).get(f"/papers/date/{DAY}?view=all")
        assert sorted(card_ids(page.text)) == ["2606.00002", "2606.00003"]
        assert "All new (2)" in page.text


def test_the_api_takes_the_view(app, day_of_papers):
    c = client(app)
    default = c.get("/api/daily_papers", params={"date": str(DAY)})
    assert [i["paper"]["id"] for i in default.json()] == ["2606.00004"] and default.headers["X-View"] == "daily"
    everything = c.get("/api/daily_papers", params={"date": str(DAY), "view": "all"})
    assert len(everything.json()) == 4 and everything.headers["X-Total-Count"] == "4"
    assert c.get("/api/daily_papers", params={"date": str(QUIET_DAY)}).headers["X-View"] == "all"
    bad = c.get("/api/daily_papers", params={"date": str(DAY), "view": "curated"})
    assert bad.status_code == 400 and "unknown view" in bad.json()["error"]
    schema = c.get("/openapi.json").json()
    params = schema["paths"]["/api/daily_papers"]["get"]["parameters"]
    view = next(p for p in params if p["name"] == "view")
    assert view["schema"]["enum"] == ["daily", "all"]


def _feed(c, path: str) -> tuple[str, list[str], str]:
    """(title, paper ids, self link) of an Atom feed."""
    atom = "{http://www.w3.org/2005/Atom}"
    r = c.get(path)
    assert r.status_code == 200, r.text
    root = ET.fromstring(r.content)
    ids = [e.find(atom + "link").get("href").rsplit("/", 1)[1] for e in root.findall(atom + "entry")]
    self_link = next(l.get("href") for l in root.findall(atom + "link") if l.get("rel") == "self")
    return root.findtext(atom + "title"), ids, self_link


def test_feeds_take_the_view(app, day_of_papers):
    c = client(app)
    title, ids, _ = _feed(c, f"/feeds/date/{DAY}.atom")
    assert ids == ["2606.00004"] and title.startswith("Daily Papers")
    title, ids, self_link = _feed(c, f"/feeds/date/{DAY}.atom?view=all")
    assert sorted(ids) == ["2606.00001", "2606.00002", "2606.00003", "2606.00004"]
    assert title.startswith("All new papers") and self_link.endswith(f"/feeds/date/{DAY}.atom?view=all")
    assert _feed(c, f"/feeds/date/{QUIET_DAY}.atom")[1] == ["2606.00010"]  # nothing curated: all new
    assert _feed(c, f"/feeds/date/{QUIET_DAY}.atom?view=daily")[1] == []
    assert _feed(c, "/feeds/latest.atom?view=daily")[1] == ["2606.00004"]
    assert c.get(f"/feeds/date/{DAY}.rss?view=curated").status_code == 400
    page = c.get(f"/papers/date/{DAY}").text
    assert 'href="/feeds/latest.rss?view=daily"' in page and 'href="/feeds/latest.rss?view=all"' in page


def test_feeds_of_all_new_keep_to_the_instance_categories(settings, db, day_of_papers):
    app = make_app(settings.model_copy(update={"listing_categories": ["cs.CL", "math"]}), db)
    assert sorted(_feed(client(app), f"/feeds/date/{DAY}.atom?view=all")[1]) == ["2606.00002", "2606.00003"]


def test_the_page_cache_keeps_views_apart_and_follows_featuring(app, db, settings, day_of_papers):
    c = client(app)
    daily, everything = c.get(f"/papers/date/{DAY}?view=daily"), c.get(f"/papers/date/{DAY}?view=all")
    assert card_ids(c.get(f"/papers/date/{DAY}?view=daily").text) == card_ids(daily.text) == ["2606.00004"]
    assert len(card_ids(c.get(f"/papers/date/{DAY}?view=all").text)) == len(card_ids(everything.text)) == 4
    admin = signed_in(app, db, settings, "root", admin=True)
    assert admin.form("/admin/entries/feature", {"paper_id": "2606.00002", "day": str(DAY)}).status_code == 303
    assert sorted(card_ids(c.get(f"/papers/date/{DAY}").text)) == ["2606.00002", "2606.00004"]


# --- featuring -----------------------------------------------------------------------------------


def _entry(db, paper_id: str, day: date) -> DailyEntry:
    with db.session() as s:
        return s.scalar(select(DailyEntry).join(Paper).where(Paper.id == paper_id, DailyEntry.day == day))


def _audit(db) -> list[tuple[str, str, str]]:
    with db.session() as s:
        return [tuple(r) for r in s.execute(select(AuditLog.actor_name, AuditLog.action, AuditLog.target)
                                            .order_by(AuditLog.pk))]


def test_admins_feature_and_unfeature_papers_and_it_is_audited(app, db, settings, day_of_papers):
    admin = signed_in(app, db, settings, "root", admin=True)
    assert admin.form("/admin/entries/feature", {"paper_id": "2606.00010", "day": str(QUIET_DAY)}).status_code == 303
    assert _entry(db, "2606.00010", QUIET_DAY).featured
    page = client(app).get(f"/papers/date/{QUIET_DAY}")
    assert "Daily Papers (1)" in page.text and "Nothing was submitted" not in page.text
    r = admin.form("/admin/entries/feature", {"paper_id": "2606.00010", "day": str(QUIET_DAY), "featured": "false"})
    assert r.status_code == 303 and not _entry(db, "2606.00010", QUIET_DAY).featured
    assert _audit(db) == [("root", "feature_entry", f"2606.00010@{QUIET_DAY}"),
                          ("root", "unfeature_entry", f"2606.00010@{QUIET_DAY}")]
    assert 'action="/admin/entries/feature"' in admin.get("/admin/audit").text


def test_featuring_refuses_strangers_and_bad_input_changes_nothing(app, db, settings, day_of_papers):
    member = signed_in(app, db, settings, "member")
    assert member.form("/admin/entries/feature", {"paper_id": "2606.00001", "day": str(DAY)}).status_code == 403
    admin = signed_in(app, db, settings, "root", admin=True)
    assert admin.form("/admin/entries/feature", {"paper_id": "2699.99999", "day": str(DAY)}).status_code == 404
    assert admin.form("/admin/entries/feature", {"paper_id": "2606.00001", "day": "2026-13-45"}).status_code in (400, 422)
    assert admin.form("/admin/entries/feature", {"paper_id": "x" * 500, "day": str(DAY)}).status_code in (400, 422)
    no_csrf = admin.post("/admin/entries/feature", data={"paper_id": "2606.00001", "day": str(DAY)})
    assert no_csrf.status_code == 403
    assert not _entry(db, "2606.00001", DAY).featured and _audit(db) == []


# --- authors -------------------------------------------------------------------------------------


@pytest.fixture
def garcia(db):
    load(db, [paper("2605.00001", ["José A. García", "Ada Lovelace"], day=date(2026, 5, 1)),
              paper("2606.00021", ["Jose Garcia", "Ada Lovelace", "Alan Turing"], day=date(2026, 6, 4)),
              paper("2606.00022", ["J. Garcia"], day=date(2026, 6, 5)),
              paper("2606.00023", ["Maria Garcia"], day=date(2026, 6, 5))])


def test_an_author_page_lists_every_spelling_newest_first_with_coauthors(app, garcia):
    page = client(app).get("/authors/Jose%20Garcia")
    assert page.status_code == 200
    assert card_ids(page.text) == ["2606.00022", "2606.00021", "2605.00001"]
    assert "not disambiguated" in page.text
    assert re.search(r'href="/authors/Ada%20Lovelace">Ada Lovelace</a> <span class="muted">\(2\)', page.text)
    assert "Alan Turing</a> <span class=\"muted\">(1)" in page.text
    assert card_ids(client(app).get("/authors/jos%C3%A9%20garc%C3%ADa").text) == card_ids(page.text)
    assert card_ids(client(app).get("/authors/Maria%20Garcia").text) == ["2606.00023"]


def test_author_names_are_links_on_cards_paper_pages_and_search(app, garcia):
    c = client(app)
    link = 'href="/authors/Jos%C3%A9%20A.%20Garc%C3%ADa"'
    assert link in c.get("/papers/2605.00001").text
    assert link in c.get("/papers/date/2026-05-01").text
    assert c.get("/papers/2605.00001").text.count(link) >= 2  # the author line and beside the BibTeX


def test_odd_author_names_are_4xx(app, garcia):
    c = client(app)
    assert c.get("/authors/Nobody%20Here").status_code == 404
    assert c.get("/authors/%20.%20").status_code == 400
    assert c.get("/authors/" + "a" * 400).status_code == 400
    assert c.get("/authors/Jose%20Garcia?p=99").status_code == 404
    assert c.get("/authors/Jose%20Garcia?p=x").status_code in (400, 422)


def test_following_an_author(app, db, settings, garcia):
    c = signed_in(app, db, settings, "reader")
    page = c.get("/authors/Jose%20Garcia")
    assert 'action="/authors/follow"' in page.text
    r = c.post("/authors/follow", data={"name": "Jose Garcia"},
               headers={"HX-Request": "true", "X-CSRF-Token": c.csrf()})
    assert r.status_code == 200 and "Following" in r.text and 'action="/authors/unfollow"' in r.text
    with db.session() as s:
        pk = get_user_by_name(s, "reader").pk
        assert author_store.followed_author_keys(s, pk) == {"garcia j"}
        assert [p.id for p in author_store.papers_by_followed_authors(s, pk)] == ["2606.00022", "2606.00021", "2605.00001"]
        assert [p.id for p in author_store.papers_by_followed_authors(s, pk, since=date(2026, 6, 5))] == ["2606.00022"]
    assert "Following" in c.get("/authors/J.%20Garc%C3%ADa").text
    again = c.form("/authors/follow", {"name": "José García"})  # the same key: still one row
    assert again.status_code == 303 and again.headers["location"] == "/authors/Jos%C3%A9%20Garc%C3%ADa"
    assert c.form("/authors/unfollow", {"name": "Jose Garcia"}).status_code == 303
    with db.session() as s:
        assert author_store.followed_author_keys(s, pk) == set()


def test_settings_list_followed_authors_and_unfollow_from_there(app, db, settings, garcia):
    c = signed_in(app, db, settings, "reader")
    assert "You follow no authors yet" in c.get("/settings").text
    c.form("/authors/follow", {"name": "José García"})
    page = c.get("/settings").text
    assert 'href="/authors/Jos%C3%A9%20Garc%C3%ADa">José García</a>' in page
    r = c.form("/authors/unfollow", {"name": "José García", "next": "/settings"})
    assert r.status_code == 303 and r.headers["location"] == "/settings"
    assert "You follow no authors yet" in c.get("/settings").text
    c.form("/authors/follow", {"name": "José García"})
    evil = c.form("/authors/unfollow", {"name": "José García", "next": "//evil.example/"})
    assert evil.headers["location"] == "/"  # only same-site paths


def test_following_refuses_bad_input_and_changes_nothing(app, db, settings, garcia):
    anonymous = client(app)
    r = anonymous.post("/authors/follow", data={"name": "Jose Garcia", "csrf_token": anonymous.csrf()},
                       follow_redirects=False)
    assert r.status_code in (303, 401)
    c = signed_in(app, db, settings, "reader")
    assert c.post("/authors/follow", data={"name": "Jose Garcia"}).status_code == 403  # no CSRF token
    assert c.form("/authors/follow", {"name": "Nobody Here"}).status_code == 404
    assert c.form("/authors/follow", {"name": "..."}).status_code == 404
    assert c.form("/authors/follow", {"name": "x" * 400}).status_code in (400, 422)
    assert c.form("/authors/unfollow", {"name": "!!"}).status_code == 400
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(AuthorFollow)) == 0


def test_the_author_table_follows_changed_author_lists(db, garcia):
    fixed = paper("2606.00023", ["Maria Garcia", "Grace Hopper"], day=date(2026, 6, 5))
    fixed.version, fixed.versions = 2, [{"version": 2, "created": "2026-06-06T10:00:00"}]
    load(db, [fixed])
    with db.session() as s:
        keys = set(s.scalars(select(AuthorName.key).join(Paper).where(Paper.id == "2606.00023")))
        stored = get_paper(s, "2606.00023").author_names
    assert stored == ["Maria Garcia", "Grace Hopper"] and keys == {"garcia m", "hopper g"}


# --- paperfeed user token -------------------------------------------------------------------------


def test_cli_prints_a_working_token(app, db, settings, monkeypatch):
    from paperfeed.cli import cli

    monkeypatch.setenv("PAPERFEED_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("PAPERFEED_DATA_DIR", str(settings.data_dir))
    add_user(db, settings, "bot")
    runner = CliRunner()
    r = runner.invoke(cli, ["user", "token", "bot", "--scope", "read,write", "--name", "ci"])
    assert r.exit_code == 0, r.output
    token = r.output.strip()
    assert token.startswith("pf_")
    me = client(app).get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["username"] == "bot"
    with db.session() as s:
        row = s.scalar(select(ApiToken))
        assert (row.name, row.scopes) == ("ci", "read write")
    for args, message in ((["bot", "--scope", "admin"], "--scope"), (["nobody"], "no user 'nobody'"),
                          (["bot", "--scope", ","], "--scope")):
        bad = runner.invoke(cli, ["user", "token", *args])
        assert bad.exit_code != 0 and message in bad.output
    add_user(db, settings, "fresh", verified=False)
    unverified = runner.invoke(cli, ["user", "token", "fresh"])
    assert unverified.exit_code != 0 and "Confirm your email" in unverified.output
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(ApiToken)) == 1


# --- the migration backfills the author table ----------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def scratch_db(request, tmp_path):
    """A database of this test's own: it is migrated down and up, which no shared one may be."""
    from conftest import PG_URL, _pg
    from sqlalchemy import create_engine, text

    from paperfeed.config import Settings
    from paperfeed.db import Database

    if request.param == "sqlite":
        database = Database(Settings(database_url=f"sqlite:///{tmp_path}/scratch.db", data_dir=tmp_path))
        yield database
        database.dispose()
        return
    if not PG_URL:
        pytest.skip("PAPERFEED_TEST_POSTGRES_URL not set")
    import uuid

    name = f"paperfeed_scratch_{uuid.uuid4().hex[:10]}"
    admin = create_engine(_pg(PG_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    database = Database(Settings(database_url=PG_URL.rsplit("/", 1)[0] + f"/{name}", data_dir=tmp_path))
    yield database
    database.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_the_migration_backfills_author_names_of_stored_papers(scratch_db):
    from alembic import command

    from paperfeed.db import alembic_config, upgrade

    upgrade(scratch_db.engine)
    load(scratch_db, [paper("2605.00001", ["José A. García", "Ada Lovelace", "José García"]),
                      paper("2606.00002", ["Ada Lovelace"], source="hf", upvotes=3)])
    with scratch_db.session() as s:
        written = sorted(s.execute(select(AuthorName.paper_pk, AuthorName.key, AuthorName.position, AuthorName.name)))
    command.downgrade(alembic_config(scratch_db.engine), "0008_jobs")
    upgrade(scratch_db.engine)
    with scratch_db.session() as s:
        backfilled = sorted(s.execute(select(AuthorName.paper_pk, AuthorName.key, AuthorName.position, AuthorName.name)))
        assert s.scalar(select(func.count()).select_from(DailyEntry).where(DailyEntry.featured.is_(True))) == 0
    assert backfilled == written and len(written) == 3  # one row per paper and key


def test_cli_features_an_entry(db, settings, monkeypatch, day_of_papers):
    from paperfeed.cli import cli

    monkeypatch.setenv("PAPERFEED_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("PAPERFEED_DATA_DIR", str(settings.data_dir))
    runner = CliRunner()
    r = runner.invoke(cli, ["user", "feature-entry", "2606.00001", str(DAY)])
    assert r.exit_code == 0 and "featured on" in r.output and _entry(db, "2606.00001", DAY).featured
    missing = runner.invoke(cli, ["user", "feature-entry", "2699.00001", str(DAY)])
    assert missing.exit_code != 0 and "is not on the page" in missing.output
    assert runner.invoke(cli, ["user", "feature-entry", "2606.00001", str(DAY), "--unfeature"]).exit_code == 0
    assert not _entry(db, "2606.00001", DAY).featured
    assert [a for _, a, _ in _audit(db)] == ["feature_entry", "unfeature_entry"]


def test_admins_feature_from_the_cards_and_come_back(app, db, settings, day_of_papers):
    assert "(admin)</button>" not in client(app).get(f"/papers/date/{DAY}?view=all").text
    admin = signed_in(app, db, settings, "root", admin=True)
    page = admin.get(f"/papers/date/{DAY}?view=all").text
    assert page.count("Feature (admin)</button>") == 4 and page.count("Unfeature (admin)</button>") == 0
    r = admin.form("/admin/entries/feature", {"paper_id": "2606.00003", "day": str(DAY), "featured": "true",
                                              "next": f"/papers/date/{DAY}?view=all"})
    assert r.status_code == 303 and r.headers["location"] == f"/papers/date/{DAY}?view=all"
    assert "Unfeature (admin)</button>" in admin.get(f"/papers/date/{DAY}?view=all").text
    away = admin.form("/admin/entries/feature", {"paper_id": "2606.00003", "day": str(DAY), "featured": "false",
                                                 "next": "https://evil.example/"})
    assert away.headers["location"] == "/" and not _entry(db, "2606.00003", DAY).featured
