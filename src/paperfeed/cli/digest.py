"""`paperfeed digest ...`: send, preview, and manage subscribers from the shell."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from paperfeed.cli.context import AppContext, pass_app

CLAIMED_ELSEWHERE_EXIT = 75  # EX_TEMPFAIL: try again later


def register(cli: click.Group) -> None:
    cli.add_command(digest)


@click.group()
def digest() -> None:
    """Email digests of trending (and personalised) papers."""


@digest.command()
@click.option("--period", type=click.Choice(["daily", "weekly"]), required=True,
              help="Which subscribers: daily ones, or weekly ones whose weekday has come this ISO week.")
@click.option("--dry-run", "dry_run", type=click.Path(file_okay=False, path_type=Path),
              help="Write each digest as an .eml file into this folder instead of sending it (still recorded as sent).")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="Send as if today were this day (UTC).")
@click.option("--batch-size", type=int, help="Deliveries claimed per batch (default: digest_batch_size).")
@click.option("--no-wait", is_flag=True, help="Do not wait for retries in backoff; a later run picks them up.")
@pass_app
def send(app: AppContext, period: str, dry_run: Path | None, day, batch_size: int | None, no_wait: bool) -> None:
    """Send this period's digests: exactly once per subscriber, safe to rerun (cron-friendly).

    Rerunning, or running several senders at once, sends no duplicates; a run killed
    part-way is resumed by running it again once its claims expire (digest_lease_seconds
    after its last renewal), sending at most one message twice. A run that finds another
    sender at work waits for it (unless --no-wait). Exits 1 when some deliveries failed, and
    75 when deliveries are left claimed by another sender: one that stopped renewing them
    (killed?), or any with --no-wait. Run again after the time it prints.
    """
    from paperfeed.digest.send import send_period
    from paperfeed.index.sync import sync_keyword_if_free
    from paperfeed.mail import MailConfigError

    # interest queries search this data dir's index, which no server may be keeping current
    sync_keyword_if_free(app.db, app.settings)

    try:
        report = send_period(app.db, period, day.date() if day else None, dry_run_dir=dry_run,
                             batch_size=batch_size, wait_for_retries=not no_wait)
    except MailConfigError as exc:
        raise click.ClickException(str(exc))
    click.echo(report.summary())
    if report.claimed_elsewhere:
        until = report.claimed_until.strftime("%H:%M:%S")
        why = ("that sender stopped renewing them (killed?): run this again after that time" if report.claims_abandoned
               else "that sender is still at work")
        click.echo(f"{report.claimed_elsewhere} deliveries are claimed by another sender until {until} UTC; {why}",
                   err=True)
    if report.failed or report.bounced:
        sys.exit(1)
    if report.claimed_elsewhere:
        sys.exit(CLAIMED_ELSEWHERE_EXIT)


@digest.command()
@click.argument("email")
@click.option("--period", type=click.Choice(["daily", "weekly"]), help="Default: the subscriber's frequency.")
@click.option("--html", is_flag=True, help="Print the HTML part instead of the text part.")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="Preview as if today were this day (UTC).")
@pass_app
def preview(app: AppContext, email: str, period: str | None, html: bool, day) -> None:
    """Print the digest EMAIL would get now (the text part), without sending or recording it."""
    from paperfeed.digest.preview import preview_message
    from paperfeed.digest.subscribe import SubscriptionError

    try:
        msg = preview_message(app.db, email, period, day.date() if day else None)
    except (LookupError, SubscriptionError) as exc:
        raise click.ClickException(str(exc))
    if msg is None:
        click.echo("Nothing new to send to this subscriber.")
        return
    click.echo(f"Subject: {msg['Subject']}\n")
    click.echo(msg.get_body(("html",) if html else ("plain",)).get_content())


@digest.command("add")
@click.argument("email")
@click.option("--frequency", type=click.Choice(["daily", "weekly"]), default="daily", show_default=True)
@click.option("--weekday", type=click.IntRange(0, 6), default=0, show_default=True, help="0 = Monday (weekly only).")
@click.option("--size", type=click.IntRange(5, 50), default=10, show_default=True, help="Papers per digest.")
@click.option("--category", "categories", multiple=True, help="An arXiv category to put first (repeatable).")
@click.option("--keyword", "keywords", multiple=True, help="A keyword or saved search to put first (repeatable).")
@click.option("--author", "authors", multiple=True, help="An author to follow (repeatable).")
@click.option("--confirmed", is_flag=True,
              help="Activate at once, skipping the confirmation mail (only for addresses whose owner agreed).")
@pass_app
def add(app: AppContext, email: str, frequency: str, weekday: int, size: int, categories, keywords, authors,
        confirmed: bool) -> None:
    """Subscribe EMAIL; sends a confirmation link unless --confirmed."""
    from paperfeed.digest import subscribe as flow
    from paperfeed.models import utcnow
    from paperfeed.store import subscriptions as store

    try:
        prefs = flow.parse_preferences(frequency, weekday, size, " ".join(categories), "\n".join(keywords),
                                       "\n".join(authors))
        address = flow.normalize_email(email)
    except flow.SubscriptionError as exc:
        raise click.ClickException(str(exc))
    if not confirmed:
        outcome = flow.request_subscription(app.db, address, prefs=prefs)
        click.echo("confirmation mail sent" if outcome.mail_sent else "no mail sent (already active, or sent recently)")
        return
    with app.db.session() as session:
        sub = store.pending_subscriber(session, address)
        flow.apply_preferences(sub, prefs)
        store.activate(session, sub, utcnow())
    click.echo(f"{address}: active")


@digest.command("remove")
@click.argument("email")
@pass_app
def remove(app: AppContext, email: str) -> None:
    """Unsubscribe EMAIL (idempotent)."""
    from paperfeed.models import utcnow
    from paperfeed.store import subscriptions as store

    with app.db.session() as session:
        sub = _subscriber_or_fail(session, email)
        store.unsubscribe(session, sub, utcnow())
    click.echo(f"{email}: unsubscribed")


@digest.command("unpause")
@click.argument("email")
@pass_app
def unpause(app: AppContext, email: str) -> None:
    """Resume a subscriber paused after repeated permanent delivery failures."""
    from paperfeed.store import subscriptions as store

    with app.db.session() as session:
        sub = _subscriber_or_fail(session, email)
        store.unpause(session, sub)
        status = sub.status
    click.echo(f"{email}: {status}")


@digest.command("status")
@click.option("--period", type=click.Choice(["daily", "weekly"]), default="daily", show_default=True)
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="Default: today (UTC).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def status(app: AppContext, period: str, day, as_json: bool) -> None:
    """Subscriber counts, paused subscribers, and this period's deliveries by status."""
    from paperfeed.digest.pool import period_for
    from paperfeed.digest.send import today_utc
    from paperfeed.store import subscriptions as store

    key = period_for(period, day.date() if day else today_utc()).key
    with app.db.session() as session:
        subs = store.subscriber_counts(session)
        deliveries = store.period_counts(session, key)
        paused = store.paused_subscribers(session)
    if as_json:
        click.echo(json.dumps({
            "period": key, "subscribers": dict(sorted(subs.items())), "deliveries": dict(sorted(deliveries.items())),
            "paused": [{"email": s.email, "failures": s.permanent_failures, "last_error": s.last_error}
                       for s in paused]}, indent=2))
        return
    click.echo("subscribers: " + (", ".join(f"{k} {v}" for k, v in sorted(subs.items())) or "none"))
    click.echo(f"{key}: " + (", ".join(f"{k} {v}" for k, v in sorted(deliveries.items())) or "nothing planned"))
    for sub in paused:
        click.echo(f"paused: {sub.email} ({sub.permanent_failures} failures: {sub.last_error})")


def _subscriber_or_fail(session, email: str):
    from paperfeed.store import subscriptions as store

    sub = store.by_email(session, email.strip().lower())
    if sub is None:
        raise click.ClickException(f"no subscriber {email}")
    return sub
