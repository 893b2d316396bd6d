"""What each kind of target receives for an event: Slack Block Kit, Discord embeds, or the
generic JSON envelope. Payloads are built from the event's stored data alone, so a retry
sends the same bytes' meaning (the JSON's ``id`` is the delivery's idempotency key)."""

from __future__ import annotations

import json
from datetime import datetime

from paperfeed.links import is_safe_url
from paperfeed.models.notify import DISCORD, E_COLLECTION, E_FOR_YOU, E_REPLY, E_SAVED_SEARCH, E_TEST, E_TRENDING, SLACK

MAX_PAPERS = 10  # Slack allows 50 blocks and Discord 10 embeds per message


def absolute(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + path


def headline(kind: str, data: dict) -> str:
    """One line saying what happened, for chat previews and mail subjects."""
    if kind == E_TEST:
        return data.get("message") or "Test message from paperfeed"
    if kind in (E_TRENDING, E_FOR_YOU):
        return data.get("title") or "Today's picks"
    if kind == E_SAVED_SEARCH:
        return f"{len(data.get('papers', []))} new papers for your saved search “{data.get('name', '')}”"
    if kind == E_REPLY:
        verb = "replied to your comment on" if data.get("kind") == "reply" else "commented on your submission"
        return f"{data.get('author', 'someone')} {verb} “{data.get('paper_title', '')}”"
    if kind == E_COLLECTION:
        return f"New papers in the collection “{data.get('collection', '')}”"
    return kind


def items(kind: str, data: dict, base_url: str) -> list[dict]:
    """The event as a list of linkable items: {title, url, text}."""
    if kind == E_REPLY:
        url = absolute(base_url, f"{data.get('path', '/')}#c{data.get('comment_pk')}")
        return [{"title": data.get("paper_title", ""), "url": url, "text": data.get("excerpt", "")}]
    papers = data.get("papers", [])[:MAX_PAPERS]
    return [{"title": p.get("title", ""), "url": absolute(base_url, p.get("path", "/")),
             "text": ", ".join(p.get("authors", [])[:3])} for p in papers]


def json_body(kind: str, data: dict, idempotency_key: str, created_at: datetime) -> bytes:
    envelope = {"id": idempotency_key, "event": kind, "created_at": created_at.isoformat() + "Z", "data": data}
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_body(kind: str, data: dict, base_url: str) -> bytes:
    title = headline(kind, data)
    blocks: list[dict] = [{"type": "header", "text": {"type": "plain_text", "text": title[:150], "emoji": False}}]
    for item in items(kind, data, base_url):
        link = f"<{item['url']}|{_slack_escape(item['title'][:200])}>" if is_safe_url(item["url"]) else \
            _slack_escape(item["title"][:200])
        text = f"*{link}*" + (f"\n{_slack_escape(item['text'][:500])}" if item["text"] else "")
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    return json.dumps({"text": title, "blocks": blocks}, ensure_ascii=False).encode()


def discord_body(kind: str, data: dict, base_url: str) -> bytes:
    embeds = [{"title": item["title"][:256] or "(untitled)", "description": item["text"][:4096],
               **({"url": item["url"]} if is_safe_url(item["url"]) else {})}
              for item in items(kind, data, base_url)]
    return json.dumps({"content": headline(kind, data)[:2000], "embeds": embeds[:10],
                       "allowed_mentions": {"parse": []}}, ensure_ascii=False).encode()


def body_for(target_kind: str, kind: str, data: dict, base_url: str, idempotency_key: str,
             created_at: datetime) -> bytes:
    if target_kind == SLACK:
        return slack_body(kind, data, base_url)
    if target_kind == DISCORD:
        return discord_body(kind, data, base_url)
    return json_body(kind, data, idempotency_key, created_at)


def paper_item(paper) -> dict:
    """How an event stores a paper: enough to render any target later without a query."""
    from paperfeed.links import paper_path

    return {"id": paper.id, "title": paper.title, "path": paper_path(paper.id),
            "authors": list(paper.author_names[:10]), "categories": list(paper.category_list[:5])}
