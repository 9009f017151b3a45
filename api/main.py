"""The FastAPI application: ``create_app(settings)`` builds it, ``app`` serves it.

Run it with ``gridgeo serve`` or ``uvicorn api.main:app``. Nothing here connects to
the database at import time: the store is opened when the app starts (``lifespan``),
kept on ``app.state.store`` (its engine on ``app.state.engine``) and closed at
shutdown. The routes live in one module per concern (``maps``, ``tiles``,
``reports``, ``data``, ``auth``); library errors become HTTP statuses here, in
one place.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

import gridgeo
from gridgeo.errors import (
    ConfigError,
    CRSError,
    FileFormatError,
    GridGeoError,
    NotFound,
    PermissionDenied,
    StoreError,
    ValidationError,
)
from gridgeo.settings import Settings
from gridgeo.store import open_store

from api import auth, data, maps, reports, tiles

__all__ = ["ERROR_STATUS", "app", "create_app"]

#: HTTP status for each gridgeo error; the most specific class in the MRO wins.
ERROR_STATUS: dict[type[GridGeoError], int] = {
    NotFound: 404,
    PermissionDenied: 403,
    ValidationError: 422,
    CRSError: 422,
    FileFormatError: 422,
    StoreError: 503,
    ConfigError: 500,
    GridGeoError: 500,
}


def _status_for(exc: GridGeoError) -> int:
    for cls in type(exc).__mro__:
        if cls in ERROR_STATUS:
            return ERROR_STATUS[cls]
    return 500


async def _gridgeo_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GridGeoError)
    return JSONResponse(
        status_code=_status_for(exc),
        content={"error": type(exc).__name__, "detail": str(exc)},
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the gridgeo API.

    Parameters
    ----------
    settings
        The configuration to use; by default it is read from the ``GRIDGEO_*``
        environment variables when this function is called.

    Returns
    -------
    FastAPI
        The application. Its database engine exists only while the app runs
        (inside ``lifespan``, e.g. ``with TestClient(app):`` or under uvicorn).
    """
    settings = settings if settings is not None else Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = open_store(settings.database_url)
        app.state.store = store
        app.state.engine = store.engine
        try:
            yield
        finally:
            store.close()
            del app.state.engine, app.state.store

    app = FastAPI(title="gridgeo", version=gridgeo.__version__, lifespan=lifespan)
    app.state.settings = settings
    app.add_exception_handler(GridGeoError, _gridgeo_error_handler)
    for module in (auth, maps, tiles, reports, data):
        app.include_router(module.router)

    @app.get("/health")
    def health(request: Request) -> JSONResponse:
        """Report whether the service and its database answer."""
        engine: sqlalchemy.Engine = request.app.state.engine
        body = {"database": engine.dialect.name, "version": gridgeo.__version__}
        try:
            with engine.connect() as connection:
                connection.execute(sqlalchemy.text("SELECT 1"))
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            return JSONResponse(
                status_code=503,
                content={"status": "unavailable", **body, "reason": reason},
            )
        return JSONResponse(content={"status": "ok", **body})

    return app


app = create_app()
