"""Health, readiness and metrics, for load balancers, orchestrators and Prometheus.

- ``/healthz``: the process answers (touches nothing else, so a slow database never gets a
  healthy process restarted).
- ``/readyz``: the database answers and its schema is at the code's migration head (503
  otherwise, so a node is taken out of rotation until both hold); the search indexes'
  state and lag are reported but never make a node unready, since search falls back to
  the keyword index and catches up on its own.
- ``/metrics``: Prometheus text (see ``paperfeed.metrics``).

None of them is in the OpenAPI schema: they are for operators, documented in docs/deploy.md.
"""

from __future__ import annotations

import logging

import time
from functools import lru_cache

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from paperfeed.db import Database, alembic_config, current_revision

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    db: Database = request.app.state.db
    body: dict = {"database": {"backend": db.engine.dialect.name}}
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        body["database"]["ok"] = True
        body["migrations"] = _migrations(db)
        body["index"] = _index_state(request)
    except Exception as exc:  # noqa: BLE001 - any failure here means: not ready, and say why
        body["database"].setdefault("ok", False)
        body["error"] = f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:200]}"
    ready = body["database"]["ok"] and body.get("migrations", {}).get("ok", False)
    body = {"status": "ready" if ready else "not ready", **body}
    return JSONResponse(body, status_code=200 if ready else 503, headers={"Cache-Control": "no-store"})


@lru_cache(maxsize=1)
def _scripts():
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(None))


def _migrations(db: Database) -> dict:
    """Ready at the code's head; not ready behind it (the code would use missing tables).
    A revision this code does not know is a newer release's: a node not yet upgraded in a
    rolling upgrade, which keeps serving (releases migrate by adding, see docs/deploy.md)."""
    scripts = _scripts()
    current, heads = current_revision(db.engine), tuple(scripts.get_heads())
    state = {"current": current, "head": heads[0] if len(heads) == 1 else list(heads)}
    if current is not None and current not in heads and not _known(scripts, current):
        return {**state, "ok": True, "ahead": True}
    return {**state, "ok": len(heads) == 1 and current == heads[0]}


def _known(scripts, revision: str) -> bool:
    from alembic.util import CommandError

    try:
        return scripts.get_revision(revision) is not None
    except CommandError:
        return False


def _index_state(request: Request) -> dict:
    """Papers against what the keyword and vector indexes hold; the lag is what they miss.

    The keyword index comes from the node's engine, which checks a generation before it
    opens it: a damaged one counts as missing here, never as a crash."""
    from paperfeed.index.engine import engine_for
    from paperfeed.index.sync import vector_dir
    from paperfeed.index.vectors import read_meta
    from paperfeed.store.indexing import count_embeddings, live_paper_count

    settings = request.app.state.settings
    with request.app.state.db.session() as session:
        papers = live_paper_count(session)
        embedded = count_embeddings(session)
    keyword = engine_for(settings).keyword()
    docs = keyword.num_docs if keyword else 0
    return {"papers": papers, "embedded": embedded,
            "embedded_pct": round(100.0 * min(embedded, papers) / papers, 1) if papers else 100.0,
            "vector_docs": read_meta(vector_dir(settings)).get("count", 0),
            "keyword_docs": docs, "keyword_lag": max(0, papers - docs)}


@router.get("/metrics")
def metrics(request: Request) -> Response:
    from paperfeed.metrics import render

    body, content_type = render(request.app.state.db, _index_state(request))
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})


access_log = logging.getLogger("paperfeed.access")  # one line per request (serve turns it on)


class RequestMetrics:
    """ASGI middleware: counts each request by method, route template (``/papers/{arxiv_id}``,
    never the raw path, so the label set stays small) and status, and times it."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        from paperfeed.metrics import observe_request

        started, root, method = time.perf_counter(), scope.get("root_path", ""), scope["method"]
        status, mode = [500], [None]

        async def send_and_note(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                headers = message.get("headers", ())
                mode[0] = next((v.decode() for k, v in headers if k.lower() == b"x-search-mode"), None)
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            seconds = time.perf_counter() - started
            observe_request(method, _route_template(scope, root), status[0], seconds, mode[0])
            access_log.info("%s %s %s %.1f ms", method, scope.get("path", ""), status[0], seconds * 1000)


def _route_template(scope, root_before: str) -> str:
    """The matched route's template; for a mount (static files) its prefix; else 'unmatched'."""
    path = getattr(scope.get("route"), "path", None)
    if path:
        return path
    mounted = scope.get("root_path", "")
    if mounted != root_before:
        return mounted[len(root_before):] + "/{path}"
    return "unmatched"
