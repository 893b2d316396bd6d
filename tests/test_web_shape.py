"""The web layer has one way to do each common thing (README, "Development"): routes get the
session and the user through the ``SessionDep``/``OptionalUser``/``CurrentUser``/``AdminUser``
aliases, pages render through ``deps.render``, and every form takes its CSRF token from
``csrf_token(request)``."""

from __future__ import annotations

import re
from pathlib import Path

WEB = Path(__file__).parent.parent / "src" / "paperfeed" / "web"
SPELLED_OUT = re.compile(r"Depends\((get_session|current_user|require_user|require_admin|require_verified)\)")
FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]*)"')


def _lines(pattern: re.Pattern | str, skip: set[str]) -> list[str]:
    return [f"{path.name}:{n}" for path in sorted(WEB.glob("*.py")) if path.name not in skip
            for n, line in enumerate(path.read_text().splitlines(), 1) if re.search(pattern, line)]


def test_routes_get_the_session_and_user_through_the_aliases():
    assert _lines(SPELLED_OUT, skip={"deps.py", "auth.py"}) == []


def test_pages_render_through_one_function():
    assert _lines(r"\.TemplateResponse\(", skip={"deps.py"}) == []


def test_every_form_takes_its_csrf_token_one_way():
    values = {value for path in (WEB / "templates").rglob("*.html") for value in FORM_TOKEN.findall(path.read_text())}
    assert values == {"{{ csrf_token(request) }}"}
