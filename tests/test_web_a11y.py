"""Accessibility in the HTML itself (issue 14); tests/test_browser_a11y.py runs axe-core."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from web_helpers import MATH_PAPER, load_demo, make_app


@pytest.fixture
def client(settings, db):
    load_demo(db, lines=1500)
    with TestClient(make_app(settings, db)) as c:
        yield c


def test_upvote_names_start_with_the_visible_count(client):
    html = client.get("/papers/date/2025-03-20").text
    buttons = re.findall(r'<button class="upvote[^"]*"[^>]*aria-label="([^"]*)">.*?<span class="count">(\d+)</span>',
                         html, re.DOTALL)
    assert buttons and all(label.startswith(f"{count} upvote") for label, count in buttons)


def test_cards_are_h3_under_an_h2(client):
    for path in ("/papers/date/2025-03-20", "/search?q=attention&mode=keyword", f"/papers/{MATH_PAPER}"):
        levels = re.findall(r"<h([1-6])\b", client.get(path).text)
        assert "3" in levels, path
        first_h3 = levels.index("3")
        assert "2" in levels[:first_h3], (path, levels)


def test_bibtex_can_be_focused_to_scroll_it(client):
    assert '<pre id="bibtex-text" class="no-math" tabindex="0">' in client.get(f"/papers/{MATH_PAPER}").text
