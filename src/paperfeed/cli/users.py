"""``paperfeed user``: create accounts (the first admin comes from here), list, ban, moderate."""

from __future__ import annotations

from datetime import date

import click

from paperfeed.cli.context import AppContext, pass_app


def register(cli: click.Group) -> None:
    from paperfeed.cli import foryou

    cli.add_command(user)
    foryou.register(user)


@click.group()
def user() -> None:
    """Manage accounts: create (e.g. the first admin), list, ban, make admin."""


@user.command("create")
@click.argument("username")
@click.option("--email", required=True, help="The account's email address (marked verified).")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="The password (prompted for when omitted; prefer the prompt over shell history).")
@click.option("--admin", is_flag=True, help="Make the account an administrator.")
@pass_app
def create(app: AppContext, username: str, email: str, password: str, admin: bool) -> None:
    """Create an account with a verified email. Use --admin for the first administrator."""
    from paperfeed.accounts import AccountError, create_user

    try:
        with app.db.session() as session:
            created = create_user(session, app.settings, username, email, password, is_admin=admin, verified=True)
            name, is_admin = created.username, created.is_admin
    except AccountError as exc:
        raise click.ClickException(str(exc) if str(exc) != "email in use" else "That email is already in use.")
    click.echo(f"created {'admin ' if is_admin else ''}user {name}")


@user.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@pass_app
def list_cmd(app: AppContext, as_json: bool) -> None:
    """List accounts: username, email, verified, admin, banned, created."""
    import orjson

    from paperfeed.store.users import list_users

    with app.db.session() as session:
        rows = [{"username": u.username, "email": u.email, "verified": u.email_verified, "admin": u.is_admin,
                 "banned": u.banned, "created": u.created_at.isoformat(timespec="seconds")}
                for u in list_users(session, limit=100_000)]
    if as_json:
        click.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    for r in rows:
        flags = ",".join(f for f in ("verified", "admin", "banned") if r[f]) or "-"
        click.echo(f"{r['username']:<32} {r['email']:<40} {flags:<24} {r['created']}")
    click.echo(f"{len(rows)} users")


@user.command("admin")
@click.argument("username")
@click.option("--revoke", is_flag=True, help="Take administrator rights away instead.")
@pass_app
def make_admin(app: AppContext, username: str, revoke: bool) -> None:
    """Grant (or with --revoke, remove) administrator rights; written to the audit log."""
    from paperfeed.store.moderation import audit

    with app.db.session() as session:
        person = _user_or_fail(session, username)
        person.is_admin = not revoke
        audit(session, None, "revoke_admin" if revoke else "grant_admin", "user", person.username)
    click.echo(f"{username} is {'no longer ' if revoke else ''}an administrator")


@user.command("ban")
@click.argument("username")
@click.option("--reason", default="", help="Why (kept in the audit log).")
@pass_app
def ban(app: AppContext, username: str, reason: str) -> None:
    """Ban a user: sign them out, refuse their sign-ins and tokens, hide their comments."""
    from paperfeed.store.moderation import ban_user

    with app.db.session() as session:
        person = _user_or_fail(session, username)
        hidden = ban_user(session, None, person, reason)
    click.echo(f"banned {username}; {hidden} comments hidden")


@user.command("hide-entry")
@click.argument("paper_id")
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--unhide", is_flag=True, help="Show the paper on that day's page again.")
@pass_app
def hide_entry(app: AppContext, paper_id: str, day, unhide: bool) -> None:
    """Hide a paper from one day's page (DAY is YYYY-MM-DD); written to the audit log."""
    from paperfeed.store.moderation import ModerationError, set_entry_hidden

    try:
        with app.db.session() as session:
            set_entry_hidden(session, None, paper_id, date.fromisoformat(day.date().isoformat()), not unhide)
    except ModerationError as exc:
        raise click.ClickException(str(exc))
    click.echo(f"{paper_id} {'shown' if unhide else 'hidden'} on {day.date().isoformat()}")


@user.command("feature-entry")
@click.argument("paper_id")
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--unfeature", is_flag=True, help="Take the paper off that day's Daily Papers again.")
@pass_app
def feature_entry(app: AppContext, paper_id: str, day, unfeature: bool) -> None:
    """Feature a paper on one day's curated Daily Papers (DAY is YYYY-MM-DD); audited."""
    from paperfeed.store.moderation import ModerationError, set_entry_featured

    try:
        with app.db.session() as session:
            set_entry_featured(session, None, paper_id, day.date(), not unfeature)
    except ModerationError as exc:
        raise click.ClickException(str(exc))
    click.echo(f"{paper_id} {'unfeatured' if unfeature else 'featured'} on {day.date().isoformat()}")


@user.command("token")
@click.argument("username")
@click.option("--scope", "scope", default="read", show_default=True,
              help="Comma-separated scopes: read, write or read,write.")
@click.option("--name", default="cli", show_default=True, help="A name to recognise the token by in Settings.")
@pass_app
def token(app: AppContext, username: str, scope: str, name: str) -> None:
    """Create an API token for USERNAME and print it (shown once; only its hash is stored)."""
    from paperfeed.accounts.api_tokens import SCOPES, create_api_token
    from paperfeed.accounts.errors import AccountError

    scopes = [s.strip() for s in scope.split(",") if s.strip()]
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise click.BadParameter(f"use read, write or read,write (got {scope!r})", param_hint="--scope")
    try:
        with app.db.session() as session:
            _, raw = create_api_token(session, _user_or_fail(session, username), name, scopes)
    except AccountError as exc:
        raise click.ClickException(str(exc))
    click.echo(raw)


def _user_or_fail(session, username: str):
    from paperfeed.store.users import get_user_by_name

    person = get_user_by_name(session, username)
    if person is None:
        raise click.ClickException(f"no user {username!r}")
    return person
