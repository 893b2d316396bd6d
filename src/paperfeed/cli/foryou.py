"""``paperfeed user recommend``: a user's For you list, as the web page and API rank it."""

from __future__ import annotations

from datetime import date

import click

from paperfeed.cli.context import AppContext, pass_app


def register(user_group: click.Group) -> None:
    user_group.add_command(recommend_cmd)


@click.command("recommend")
@click.argument("username")
@click.option("--window", type=click.Choice(["day", "week", "month", "all"]), default="week", show_default=True,
              help="Papers on the pages of the newest day, week or month, or all papers.")
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True)
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="End the window at the newest day with papers up to this day (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True, help="Print [{id, title, score, reason}, ...].")
@pass_app
def recommend_cmd(app: AppContext, username: str, window: str, limit: int, until, as_json: bool) -> None:
    """Papers recommended for USERNAME from their upvotes and "not interested" marks."""
    import orjson

    from paperfeed.rank.foryou import recommend
    from paperfeed.store.users import get_user_by_name

    with app.db.session() as session:
        person = get_user_by_name(session, username)
        if person is None:
            raise click.ClickException(f"no user {username!r}")
        end = date.fromisoformat(until.date().isoformat()) if until else None
        recs = recommend(session, app.settings, person.pk, window=window, limit=limit, until=end)
        rows = [{"id": p.paper.id, "title": " ".join(p.paper.title.split()), "score": round(p.score, 6),
                 "reason": p.reason} for p in recs.picks]
    if as_json:
        click.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    for r in rows:
        click.echo(f"{r['score']:7.3f}  {r['id']:<16} {r['title'][:70]}\n         {r['reason']}")
    click.echo(f"{len(rows)} papers ({recs.mode})")
