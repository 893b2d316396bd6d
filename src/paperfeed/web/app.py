"""The web application factory: ``create_app(settings)``. No globals; the app keeps its
settings and database on ``app.state``."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from paperfeed.config import Settings, load_settings
from paperfeed.db import Database, open_database

WEB_DIR = Path(__file__).parent


def create_app(settings: Settings, db: Database | None = None) -> FastAPI:
    database = db or open_database(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Background services started with the server (each returns an object with .stop()):
        # the search feature's embedding worker and the digest feature's scheduler go here.
        services: list = []
        try:
            yield
        finally:
            for service in reversed(services):
                service.stop()
            if db is None:
                database.dispose()

    app = FastAPI(title="paperfeed", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.db = database
    app.state.templates = Jinja2Templates(directory=WEB_DIR / "templates")
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")

    from paperfeed.web import pages

    app.include_router(pages.router)
    return app


def app_from_environment() -> FastAPI:
    """For ``uvicorn --factory`` with several workers: settings from the environment."""
    return create_app(load_settings())
