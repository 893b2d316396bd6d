"""Accounts end to end over HTTP: sign-up with a real SMTP server, verification, sign-in,
sessions, password reset, settings, API tokens, profiles and the CLI."""

from __future__ import annotations

import hashlib

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from community_kit import PASSWORD, Client, add_paper, add_user, client, entry_counts, link_in, make_app, signed_in, smtp_server
from paperfeed.models import ApiToken, User, UserSession, Vote


@pytest.fixture
def mail_settings(settings):
    with smtp_server() as (mailbox, port):
        yield settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port}), mailbox


def _user(db, username):
    with db.session() as s:
        return s.scalar(select(User).where(User.username_key == username.lower()))


def test_signup_verify_and_sign_in(db, mail_settings):
    settings, mailbox = mail_settings
    c = client(make_app(settings, db))
    r = c.form("/signup", {"username": "Ada", "email": "Ada@Example.org", "password": PASSWORD})
    assert r.status_code == 200 and "Check your email" in r.text
    assert not _user(db, "ada").email_verified
    url = link_in(mailbox.wait_for("ada@example.org"), "/verify?token=")
    path = url.split("testserver", 1)[1]
    assert "Confirm my email" in c.get(path).text
    assert not _user(db, "ada").email_verified, "a GET of the link must not verify"
    token = path.split("token=", 1)[1]
    assert "is confirmed" in c.form("/verify", {"token": token}).text
    assert _user(db, "ada").email_verified
    again = c.form("/verify", {"token": token})
    assert again.status_code == 400 and "already been used" in again.text
    r = c.form("/login", {"login": "ada@example.org", "password": PASSWORD})
    assert r.status_code == 303
    assert "Sign out" in c.get("/").text


def test_forged_and_expired_verification_links_fail(db, settings):
    uid = add_user(db, settings, "bob", verified=False)
    from paperfeed.accounts import issue_email_token, verify_email, TokenError

    with db.session() as s:
        token = issue_email_token(s, settings, s.get(User, uid), "verify", "bob@example.org")
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    with db.session() as s, pytest.raises(TokenError, match="not valid"):
        verify_email(s, settings, forged)
    expired_settings = settings.model_copy(update={"verify_token_hours": 0})
    with db.session() as s:
        expired = issue_email_token(s, expired_settings, s.get(User, uid), "verify", "bob@example.org")
    with db.session() as s, pytest.raises(TokenError, match="expired"):
        verify_email(s, settings, expired)
    with db.session() as s:
        verify_email(s, settings, token)
    assert _user(db, "bob").email_verified


@pytest.mark.parametrize("password, message", [("short", "at least 10"), ("password123", "common passwords"),
                                               ("qwertyuiop", "common passwords")])
def test_weak_passwords_are_refused(db, settings, password, message):
    c = client(make_app(settings, db))
    r = c.form("/signup", {"username": "weak", "email": "weak@example.org", "password": password})
    assert r.status_code == 400 and message in r.text
    assert _user(db, "weak") is None


def test_passwords_are_stored_as_argon2id(db, settings):
    add_user(db, settings, "carol")
    assert _user(db, "carol").password_hash.startswith("$argon2id$")


def test_session_cookie_flags_and_server_side_logout(db, settings):
    add_user(db, settings, "dave")
    c = client(make_app(settings, db))
    r = c.form("/login", {"login": "dave", "password": PASSWORD})
    cookie = r.headers["set-cookie"]
    assert "pf_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie
    raw = c.cookies.get("pf_session")
    with db.session() as s:
        assert s.get(UserSession, hashlib.sha256(raw.encode()).hexdigest()) is not None
    c.form("/logout")
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(UserSession)) == 0
    replay = client(make_app(settings, db))
    replay.cookies.set("pf_session", raw)
    assert "Sign out" not in replay.get("/").text


def test_session_cookie_is_secure_over_https(db, settings):
    add_user(db, settings, "erin")
    https = settings.model_copy(update={"base_url": "https://papers.example.org"})
    c = Client(make_app(https, db), base_url="https://testserver")
    r = c.form("/login", {"login": "erin", "password": PASSWORD})
    assert r.status_code == 303
    assert "Secure" in r.headers["set-cookie"] and "HttpOnly" in r.headers["set-cookie"]


def test_password_reset_by_mail(db, mail_settings):
    settings, mailbox = mail_settings
    add_user(db, settings, "frank")
    c = client(make_app(settings, db))
    r = c.form("/reset", {"email": "frank@example.org"})
    assert "If an account uses that address" in r.text
    token = link_in(mailbox.wait_for("frank@example.org"), "/reset/confirm?token=").split("token=", 1)[1]
    assert c.form("/reset/confirm", {"token": token, "password": "short"}).status_code == 400
    r = c.form("/reset/confirm", {"token": token, "password": "a brand new passphrase"})
    assert r.status_code == 303
    assert c.form("/reset/confirm", {"token": token, "password": "another new passphrase"}).status_code == 400
    assert c.form("/login", {"login": "frank", "password": PASSWORD}).status_code == 400
    assert c.form("/login", {"login": "frank", "password": "a brand new passphrase"}).status_code == 303


def test_change_password_signs_out_other_browsers(db, settings):
    app = make_app(settings, db)
    one = signed_in(app, db, settings, "gina")
    two = client(app)
    two.form("/login", {"login": "gina", "password": PASSWORD})
    old = one.cookies.get("pf_session")
    r = one.form("/settings/password", {"current": PASSWORD, "new": "an even better passphrase"})
    assert r.status_code == 303
    assert one.cookies.get("pf_session") != old
    assert "Sign out" in one.get("/settings").text
    assert two.get("/settings", follow_redirects=False).status_code == 303


def test_change_email_needs_reverification(db, mail_settings):
    settings, mailbox = mail_settings
    app = make_app(settings, db)
    c = signed_in(app, db, settings, "hank")
    assert c.form("/settings/email", {"password": PASSWORD, "email": "new@example.org"}).status_code == 303
    assert _user(db, "hank").email == "hank@example.org", "unchanged until the new address is confirmed"
    token = link_in(mailbox.wait_for("new@example.org"), "/verify?token=").split("token=", 1)[1]
    c.form("/verify", {"token": token})
    assert _user(db, "hank").email == "new@example.org"


def test_api_tokens_scopes_and_revocation(db, settings):
    app = make_app(settings, db)
    c = signed_in(app, db, settings, "ivy")
    add_paper(db, "2611.00002")
    r = c.form("/settings/tokens", {"name": "script", "scopes": ["read"]})
    raw = c.csrf() and __import__("re").search(r"pf_[A-Za-z0-9_\-]+", r.text).group(0)
    with db.session() as s:
        stored = s.scalar(select(ApiToken.token_hash))
    assert stored == hashlib.sha256(raw.encode()).hexdigest() and raw not in stored
    api = client(app)
    auth = {"Authorization": f"Bearer {raw}"}
    assert api.get("/api/me", headers=auth).json()["username"] == "ivy"
    assert api.post("/api/papers/2611.00002/upvote", headers=auth).status_code == 403  # read-only token
    r = c.form("/settings/tokens", {"name": "writer", "scopes": ["read", "write"]})
    writer = __import__("re").search(r"pf_[A-Za-z0-9_\-]+", r.text).group(0)
    r = api.post("/api/papers/2611.00002/upvote", headers={"Authorization": f"Bearer {writer}"})
    assert r.status_code == 200 and r.json() == {"voted": True, "upvotes": 1}
    with db.session() as s:
        token_pk = s.scalar(select(ApiToken.pk).where(ApiToken.name == "writer"))
    c.form(f"/settings/tokens/{token_pk}/revoke")
    assert api.get("/api/me", headers={"Authorization": f"Bearer {writer}"}).status_code == 401
    assert api.delete("/api/papers/2611.00002/upvote", headers={"Authorization": f"Bearer {writer}"}).status_code == 401


def test_delete_account_takes_back_votes(db, settings):
    app = make_app(settings, db)
    add_paper(db, "2611.00003", source="hf", upvotes=7)
    c = signed_in(app, db, settings, "jack")
    c.htmx("/papers/2611.00003/upvote")
    assert entry_counts(db, "2611.00003")[0][1] == 8
    assert c.form("/settings/delete", {"password": "wrong password!"}).status_code == 400
    assert c.form("/settings/delete", {"password": PASSWORD}).status_code == 303
    assert entry_counts(db, "2611.00003")[0][1] == 7
    assert _user(db, "jack") is None
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Vote)) == 0


def test_profile_lists_submissions_and_upvotes_unless_private(db, settings):
    app = make_app(settings, db)
    add_paper(db, "2611.00004", title="Upvoted paper")
    c = signed_in(app, db, settings, "kim")
    c.htmx("/papers/2611.00004/upvote")
    visitor = client(app)
    assert "Upvoted paper" in visitor.get("/u/kim").text
    c.form("/settings/privacy", {"upvotes_private": "on"})
    page = visitor.get("/u/kim").text
    assert "Upvoted paper" not in page and "keeps their upvotes private" in page
    assert "Upvoted paper" in c.get("/u/kim").text  # the owner still sees them


def test_cli_creates_the_first_admin_and_lists_users(db, settings, monkeypatch):
    from paperfeed.cli import cli

    monkeypatch.setenv("PAPERFEED_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("PAPERFEED_DATA_DIR", str(settings.data_dir))
    runner = CliRunner()
    r = runner.invoke(cli, ["user", "create", "root", "--email", "root@example.org", "--admin",
                            "--password", PASSWORD])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["user", "create", "root2", "--email", "root@example.org", "--password", PASSWORD])
    assert r.exit_code != 0 and "already in use" in r.output
    r = runner.invoke(cli, ["user", "list", "--json"])
    assert '"username": "root"' in r.output and '"admin": true' in r.output
    assert _user(db, "root").is_admin and _user(db, "root").email_verified


def test_cli_grants_admin_and_bans(db, settings, monkeypatch):
    from paperfeed.cli import cli

    monkeypatch.setenv("PAPERFEED_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("PAPERFEED_DATA_DIR", str(settings.data_dir))
    runner = CliRunner()
    runner.invoke(cli, ["user", "create", "bob", "--email", "bob@example.org", "--password", PASSWORD])
    assert runner.invoke(cli, ["user", "admin", "bob"]).exit_code == 0
    assert _user(db, "bob").is_admin
    r = runner.invoke(cli, ["user", "ban", "bob", "--reason", "spam"])
    assert r.exit_code == 0 and "banned bob" in r.output and _user(db, "bob").banned
    missing = runner.invoke(cli, ["user", "ban", "nobody"])
    assert missing.exit_code != 0 and "no user 'nobody'" in missing.output
