"""HEAD on every GET route, gzip, static cache headers and the favicon."""

from __future__ import annotations


import pytest
from fastapi.testclient import TestClient
from starlette.routing import Route

from paperfeed.web.app import create_app
from paperfeed.web.http import STATIC_DIR
from web_helpers import MATH_PAPER, load_demo


@pytest.fixture
def client(sqlite_settings, sqlite_db):
    load_demo(sqlite_db, lines=60)
    # no scheduled jobs: a job finishing between a GET and its HEAD changes /about's job list
    quiet = sqlite_settings.model_copy(update={"run_jobs_in_web": False})
    with TestClient(create_app(quiet, sqlite_db)) as c:
        yield c


PAGES = ["/", "/about", f"/papers/{MATH_PAPER}", "/search?q=attention", "/api/daily_papers",
         f"/api/papers/{MATH_PAPER}", "/feeds/latest.rss", "/healthz", "/static/style.css", "/favicon.ico"]


@pytest.mark.parametrize("path", PAGES)
def test_head_answers_like_get_without_a_body(client, path):
    get, head = client.get(path), client.head(path)
    assert get.status_code == head.status_code == 200
    assert head.content == b""
    for header in ("content-type", "content-length", "etag", "cache-control", "content-encoding"):
        assert head.headers.get(header) == get.headers.get(header), header


def test_every_get_route_answers_head(client):
    """No GET route is left answering 405 to HEAD (parameters filled with harmless values)."""
    for route in client.app.routes:
        if isinstance(route, Route) and "GET" in (route.methods or ()) and "{" not in route.path:
            assert client.head(route.path).status_code != 405, route.path


@pytest.mark.parametrize("path", ["/", f"/papers/{MATH_PAPER}", "/api/daily_papers", "/feeds/latest.rss",
                                  "/static/vendor/katex/katex.min.js", "/static/style.css"])
def test_text_responses_are_gzipped(client, path):
    response = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip" and "accept-encoding" in response.headers["vary"].lower()
    raw = client.get(path, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in raw.headers
    assert response.content == raw.content  # httpx decodes: same bytes either way


def test_small_and_precompressed_responses_are_not_gzipped(client):
    assert "content-encoding" not in client.get("/healthz", headers={"Accept-Encoding": "gzip"}).headers
    font = next((STATIC_DIR / "vendor" / "katex" / "fonts").glob("*.woff2"))
    woff = client.get(f"/static/vendor/katex/fonts/{font.name}", headers={"Accept-Encoding": "gzip"})
    assert woff.status_code == 200 and "content-encoding" not in woff.headers


def test_cache_control_for_static_files(client):
    vendor = client.get("/static/vendor/htmx/htmx.min.js")
    assert vendor.headers["cache-control"] == "public, max-age=604800"
    asset_url = client.app.state.templates.env.globals["asset_url"]
    versioned = asset_url("vendor/htmx/htmx.min.js")
    assert versioned.startswith("/static/vendor/htmx/htmx.min.js?v=")
    assert client.get(versioned).headers["cache-control"] == "public, max-age=31536000, immutable"
    own = client.get("/static/style.css")
    assert own.headers["cache-control"] == "no-cache"
    again = client.get("/static/style.css", headers={"If-None-Match": own.headers["etag"]})
    assert again.status_code == 304 and again.headers["cache-control"] == "no-cache"


def test_favicon(client):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO header
    assert "max-age" in icon.headers["cache-control"]
    assert "/favicon.ico" not in client.get("/openapi.json").json()["paths"]


def test_api_feeds_and_static_answers_set_no_cookie(sqlite_settings, sqlite_db):
    from fastapi.testclient import TestClient

    from paperfeed.web.app import create_app

    with TestClient(create_app(sqlite_settings, sqlite_db)) as c:
        for path in ("/api/daily_papers", "/feeds/latest.rss", "/static/style.css", "/healthz", "/openapi.json"):
            assert "set-cookie" not in c.get(path).headers, path
        assert "pf_csrf" in c.get("/login").headers["set-cookie"]  # pages with forms still get one


def test_pages_load_their_assets_by_versioned_urls_cached_for_a_year(sqlite_settings, sqlite_db):
    import re

    from fastapi.testclient import TestClient

    from paperfeed.web.app import create_app

    with TestClient(create_app(sqlite_settings, sqlite_db)) as c:
        html = c.get("/about").text
        urls = re.findall(r'(?:src|href)="(/static/[^"]+\?v=[0-9a-f]+)"', html)
        assert len(urls) == 6 and not re.search(r'(?:src|href)="/static/[^"?]+"', html)
        answer = c.get(urls[0])
        assert answer.status_code == 200 and "immutable" in answer.headers["cache-control"]
