"""Errors: JSON ``{"error": message}`` under /api, a friendly HTML page elsewhere.

Never a traceback: unexpected errors are logged here and answered with a plain 500.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from paperfeed.rank.search import SearchError
from paperfeed.web.listing import PageOutOfRange
from paperfeed.web.periods import BadPeriod

log = logging.getLogger(__name__)

TITLES = {400: "Bad request", 404: "Not found", 405: "Method not allowed", 422: "Invalid parameters",
          500: "Something went wrong"}


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/api"


def error_response(request: Request, status: int, message: str, headers: dict | None = None):
    if is_api(request):
        return JSONResponse({"error": message}, status_code=status, headers=headers)
    templates = request.app.state.templates
    return templates.TemplateResponse(
        request, "error.html", {"status": status, "title": TITLES.get(status, "Error"), "message": message},
        status_code=status, headers=headers,
    )


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "path", "body"))
        parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else err.get("msg", "invalid"))
    return "; ".join(parts) or "invalid parameters"


def install(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "Error")
        if exc.status_code == 404 and message == "Not Found":
            message = f"There is nothing at {request.url.path}."
        return error_response(request, exc.status_code, message, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        # Pages answer 400 (a person typed a bad URL); the API keeps FastAPI's 422.
        return error_response(request, 422 if is_api(request) else 400, _validation_message(exc))

    @app.exception_handler(BadPeriod)
    async def bad_period(request: Request, exc: BadPeriod):
        return error_response(request, 400, str(exc))

    @app.exception_handler(SearchError)
    async def bad_search(request: Request, exc: SearchError):
        return error_response(request, 400, str(exc))

    @app.exception_handler(PageOutOfRange)
    async def out_of_range(request: Request, exc: PageOutOfRange):
        return error_response(request, 404, str(exc))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(request, 500, "The server hit an unexpected error; it has been logged.")
