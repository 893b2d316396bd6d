"""The web application factory: ``create_app(settings)``. No globals; the app keeps its
settings and database on ``app.state``."""

from __future__ import annotations

import json
import time
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from paperfeed.config import Settings, load_settings
from paperfeed.db import Database, open_database
from paperfeed.jobs.thumbnails import WantedPapers
from paperfeed.web import deps, errors
from paperfeed.web.bodylimit import BodyLimitMiddleware
from paperfeed.web.headers import SecurityHeadersMiddleware
from paperfeed.web.listing import VersionedCache
from paperfeed.web.proxies import TrustedProxyMiddleware
from paperfeed.web.render import install_filters

WEB_DIR = Path(__file__).parent


def create_app(settings: Settings, db: Database | None = None) -> FastAPI:
    database = db or open_database(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Background services started with the server (each returns an object with .stop()):
        # the search feature's embedding worker and the digest feature's scheduler go here.
        services: list = []
        if settings.index_sync_in_background:  # this node's indexes follow the database
            from paperfeed.index.syncloop import start_sync_loop

            services.append(start_sync_loop(database, settings))
        if settings.embed_in_background:
            from paperfeed.index.worker import start_worker

            services.append(start_worker(database, settings))
        if settings.embed_in_background and settings.keywords_in_background:
            from paperfeed.index.keywordworker import start_keyword_worker

            services.append(start_keyword_worker(database, settings))
        if settings.digest_scheduler:  # sends digests at digest_send_hour; safe in every worker
            from paperfeed.digest.scheduler import DigestScheduler

            services.append(DigestScheduler(database).start())
        if settings.run_jobs_in_web:  # scheduled fetches; claimed in the database, so one runner per run
            from paperfeed.jobs.runner import start_job_service

            services.append(start_job_service(database, settings, clock=lambda: _utc(app.state.clock()),
                                              wanted=app.state.thumbnail_wanted))
            from paperfeed.jobs.notify import start_notify_service  # webhooks, alerts, reply mails

            services.append(start_notify_service(database, settings, clock=lambda: _utc(app.state.clock())))
        try:
            yield
        finally:
            for service in reversed(services):
                service.stop()
            if db is None:
                database.dispose()

    app = FastAPI(
        title="paperfeed", version="0.1.0", lifespan=lifespan, docs_url=None,
        dependencies=[deps.COMMIT_BEFORE_RESPONSE],  # acknowledge only what is committed
        description="Daily papers, search and feeds. The JSON API under /api mirrors Hugging Face's "
                    "Daily Papers API, so its clients work against a paperfeed instance.",
    )
    app.state.settings = settings
    app.state.db = database
    app.state.clock = time.time  # the web layer's one clock (web/clock.py); tests pin it
    app.state.templates = Jinja2Templates(directory=WEB_DIR / "templates")
    app.state.templates.env.globals["site_name"] = settings.site_name
    # Templates ship with the package; re-checking every included file's mtime per card
    # was a measurable share of a listing page's render time.
    app.state.templates.env.auto_reload = False
    install_filters(app.state.templates.env)
    app.state.listing_cache = VersionedCache()
    app.state.page_cache = VersionedCache(maxsize=2048)  # instance stats, similar papers
    app.state.thumbnail_wanted = WantedPapers()  # paper pages viewed without a thumbnail (jobs/thumbnails.py)
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    errors.install(app)
    _install_docs(app)
    app.openapi = lambda: _openapi_schema(app)

    from paperfeed.web import (
        accounts,
        admin,
        api,
        comments,
        feeds,
        foryou,
        health,
        http,
        notify,
        pages,
        search,
        submissions,
        thumbnails,
        votes,
    )
    from paperfeed.web import digest as digest_pages
    from paperfeed.web import settings as settings_pages

    if settings.page_cache_entries:  # inside CSRF: a cached page gets this visitor's token
        from paperfeed.web.pagecache import PageCache

        app.add_middleware(PageCache, db=database, maxsize=settings.page_cache_entries)
    _install_community(app)
    _install_guards(app)
    for feature in (accounts, settings_pages, votes, submissions, comments, admin, search, feeds, digest_pages,
                    thumbnails, foryou):
        app.include_router(feature.router)
    notify.install(app)  # webhooks, saved searches, reply notifications and the header badge
    from paperfeed.web import authors as author_pages, authors_api, curation  # issue 16: curated day, authors
    for feature in (curation, author_pages, authors_api):
        app.include_router(feature.router)
    app.include_router(api.router)
    app.include_router(api.community)
    from paperfeed.web import collections, collections_api, library_import  # collections (issues 16, 18)
    for feature in (collections, collections_api, library_import):
        app.include_router(feature.router)
    app.include_router(foryou.api)
    app.include_router(pages.router)  # last: /papers/{id} would claim the paths above
    app.include_router(health.router)  # /healthz, /readyz, /metrics
    http.install(app)  # HEAD, gzip, static cache headers, /favicon.ico
    app.add_middleware(errors.CatchUnexpected)  # answers and logs what everything inside let through
    app.add_middleware(health.RequestMetrics)  # outermost: times every request, errors included
    return app


def _install_community(app: FastAPI) -> None:
    """CSRF on every form, the DB-backed rate limiter (on the web layer's clock), the
    injectable arXiv transport, and the template globals every page uses."""
    from datetime import timedelta

    from paperfeed.models import utcnow
    from paperfeed.web.auth import template_user
    from paperfeed.web.csrf import CSRFMiddleware, csrf_token
    from paperfeed.web.ratelimit import RateLimiter

    settings = app.state.settings
    app.add_middleware(CSRFMiddleware, key_source=settings.signing_key,
                       secure=settings.base_url.startswith("https://"))
    app.state.rate_limiter = RateLimiter(app.state.db, settings.rate_limit_window_seconds,
                                         clock=lambda: app.state.clock())
    if not hasattr(app.state, "arxiv_transport"):
        app.state.arxiv_transport = None  # tests put an httpx.MockTransport here
    env = app.state.templates.env
    env.globals["csrf_token"] = csrf_token
    env.globals["current_user"] = template_user
    edit_window = timedelta(minutes=settings.comment_edit_minutes)
    env.globals["can_edit_quietly"] = lambda c: utcnow() - c.created_at <= edit_window


def _install_guards(app: FastAPI) -> None:
    """Middleware around everything else (the last added runs first): security headers on
    every answer, then the client address from trusted proxies only, then the body cap,
    which must come before the CSRF middleware buffers a body."""
    settings = app.state.settings
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(TrustedProxyMiddleware, trusted=settings.trusted_proxies)
    app.add_middleware(SecurityHeadersMiddleware)


def _utc(unix_seconds: float) -> datetime:
    """The web layer's clock (unix seconds) as the naive UTC the jobs and database use."""
    return datetime.fromtimestamp(unix_seconds, timezone.utc).replace(tzinfo=None)


def _install_docs(app: FastAPI) -> None:
    """OpenAPI docs at /docs with Swagger UI served from our own static files: FastAPI's
    default loads it from a CDN (a self-hosted instance downloads nothing at run time) and
    starts it with an inline script, which the Content-Security-Policy forbids."""
    from fastapi.responses import HTMLResponse
    from markupsafe import escape

    @app.get("/docs", include_in_schema=False)
    def docs():
        return HTMLResponse(SWAGGER_PAGE.format(openapi=escape(app.openapi_url)))


FEED_FORMATS = ["rss", "atom"]


def _openapi_schema(app: FastAPI) -> dict:
    """FastAPI's schema, told two things its signatures cannot say: a feed's ``{fmt}`` is
    rss or atom (checked in the route, a 404 otherwise), and outside /api a bad parameter
    is a 400 page, so FastAPI's JSON 422 is not documented there."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        schema = get_openapi(title=app.title, version=app.version, description=app.description,
                             routes=app.routes)
        for path, operations in schema["paths"].items():
            for operation in operations.values():
                _constrain_feed_format(operation)
                if not path.startswith("/api/"):
                    operation.get("responses", {}).pop("422", None)
        _drop_unused_components(schema)
        app.openapi_schema = schema
    return app.openapi_schema


def _constrain_feed_format(operation: dict) -> None:
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path" and parameter["name"] == "fmt":
            parameter["schema"] = {"type": "string", "enum": FEED_FORMATS, "title": "Fmt"}


def _drop_unused_components(schema: dict) -> None:
    schemas = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        others = {k: v for k, v in schemas.items() if k != name}
        used = f'"#/components/schemas/{name}"' in json.dumps([schema["paths"], others])
        if name in schemas and not used:
            del schemas[name]


SWAGGER_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>paperfeed API</title>
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css">
<link rel="icon" href="/static/vendor/swagger-ui/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui" data-openapi="{openapi}"></div>
<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/swagger-init.js"></script>
</body>
</html>
"""


def app_from_environment() -> FastAPI:
    """For ``uvicorn --factory`` with several workers: settings from the environment."""
    from paperfeed.web.supervision import die_with_supervisor

    die_with_supervisor()
    return create_app(load_settings())
