"""Errors: JSON ``{"error": message}`` under /api, a friendly HTML page elsewhere.

Never a traceback: unexpected errors are logged here and answered with a plain 500; a
database that cannot be reached (or is out of space, or busy) is a 503 with Retry-After.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from paperfeed.rank.search import SearchError
from paperfeed.web.deps import render
from paperfeed.web.listing import PageOutOfRange
from paperfeed.web.periods import BadPeriod

log = logging.getLogger(__name__)

TITLES = {400: "Bad request", 404: "Not found", 405: "Method not allowed", 422: "Invalid parameters",
          500: "Something went wrong", 503: "Temporarily unavailable"}
RETRY_AFTER_SECONDS = 30
# Errors that say the database cannot serve now, not that the request or the code is wrong.
PG_UNAVAILABLE_STATES = ("08", "53", "57P")  # connection exception, out of resources, shutting down
SQLITE_UNAVAILABLE_CODES = {5, 6, 10, 13, 14}  # busy, locked, I/O error, disk full, cannot open


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/api"


def error_response(request: Request, status: int, message: str, headers: dict | None = None):
    if is_api(request):
        return JSONResponse({"error": message}, status_code=status, headers=headers)
    return render(request, "error.html", {"status": status, "title": TITLES.get(status, "Error"), "message": message},
                  status=status, headers=headers)


def database_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, (sa_exc.DisconnectionError, sa_exc.TimeoutError)):  # TimeoutError: pool exhausted
        return True
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, sa_exc.OperationalError) and _unavailable_driver_error(exc.orig)


def _unavailable_driver_error(orig: BaseException | None) -> bool:
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in SQLITE_UNAVAILABLE_CODES  # extended codes keep the primary one in the low byte
    state = getattr(orig, "sqlstate", None)
    # psycopg gives no SQLSTATE when it never reached a server (refused, timed out, reset)
    return state is None or state.startswith(PG_UNAVAILABLE_STATES)


def unavailable_response(request: Request, exc: BaseException):
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path,
                str(getattr(exc, "orig", None) or exc).strip().splitlines()[0])
    request.state.user = None  # the page header must not look the visitor up in that database
    return error_response(request, 503, "The database is not reachable right now; please try again shortly.",
                          {"Retry-After": str(RETRY_AFTER_SECONDS)})


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

    @app.exception_handler(sa_exc.SQLAlchemyError)
    async def database_error(request: Request, exc: sa_exc.SQLAlchemyError):
        # An outage is answered here, without a traceback per request. Any other database
        # error is a bug: on to CatchUnexpected, which logs it.
        if not database_unavailable(exc):
            raise exc
        return unavailable_response(request, exc)


class CatchUnexpected:
    """ASGI middleware that answers any error the routes and the other middleware let
    through, and logs its traceback once.

    Starlette's own catch-all (``exception_handler(Exception)``) re-raises after answering,
    so uvicorn logged every failure a second time; caught here, the error stops here.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def send_noting(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_noting)
        except Exception as exc:  # noqa: BLE001 - this is the last stop for every error
            response = answer_unexpected(Request(scope), exc)
            if not started:  # else the client already has a status line: it sees a cut answer
                await response(scope, receive, send)


def answer_unexpected(request: Request, exc: Exception):
    if database_unavailable(exc):  # raised outside the routes, e.g. in a middleware
        return unavailable_response(request, exc)
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(request, 500, "The server hit an unexpected error; it has been logged.")
