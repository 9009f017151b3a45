"""The FastAPI application: ``create_app(settings)`` builds it, ``app`` serves it.

Run it with ``gridgeo serve`` or ``uvicorn api.main:app``. Nothing here connects to
the database at import time, nor at start-up: the first request that needs the store
opens it (``api.state.get_store``; a database that does not answer is a 503 with the
reason), and it is closed at shutdown. The routes live in one module per concern (``maps``, ``tiles``,
``reports``, ``data``, ``auth``); library errors become HTTP statuses here, in
one place.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
import sqlalchemy
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

import gridgeo
from api import auth, data, database, maps, reports, tiles
from api.fastpath import TileResponses
from gridgeo.errors import (
    AmbiguousCredentials,
    ConfigError,
    Conflict,
    CRSError,
    FileFormatError,
    GridGeoError,
    NotFound,
    PermissionDenied,
    StoreError,
    Unauthorized,
    ValidationError,
    database_reason,
)
from gridgeo.settings import Settings
from gridgeo.store import make_engine

__all__ = ["ERROR_STATUS", "app", "create_app"]

#: HTTP status for each gridgeo error; the most specific class in the MRO wins.
ERROR_STATUS: dict[type[GridGeoError], int] = {
    NotFound: 404,
    AmbiguousCredentials: 400,
    Unauthorized: 401,
    PermissionDenied: 403,
    Conflict: 409,
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
        headers={"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None,
    )


async def _database_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """A database that stopped answering mid-request (a restart, a dropped connection).

    503 with the reason, as :class:`gridgeo.errors.StoreError`; the connection pools
    drop the broken connections, so the next request is served again.
    """
    return JSONResponse(
        status_code=503,
        content={
            "error": "StoreError",
            "detail": f"the database does not answer: {database_reason(exc)}",
        },
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
        # The service starts even when the database does not answer yet: /health says
        # so (503), and the store is opened by the first request that needs it.
        app.state.engine = make_engine(settings.database_url)
        app.state.store = None
        app.state.store_lock = threading.Lock()
        try:
            yield
        finally:
            if app.state.store is not None:
                await database.close(app.state.store)
                app.state.store.close()
            app.state.engine.dispose()
            del app.state.engine, app.state.store

    app = FastAPI(title="gridgeo", version=gridgeo.__version__, lifespan=lifespan)
    app.state.settings = settings
    app.add_exception_handler(GridGeoError, _gridgeo_error_handler)
    app.add_exception_handler(sqlalchemy.exc.OperationalError, _database_error_handler)
    app.add_exception_handler(psycopg.OperationalError, _database_error_handler)
    for module in (auth, maps, tiles, reports, data):
        app.include_router(module.router)
    app.add_middleware(TileResponses)
    app.add_middleware(auth.CredentialCheck)  # outermost: one reading of the credentials

    @app.get("/health")
    def health(request: Request) -> JSONResponse:
        """Report whether the service and its database answer."""
        engine: sqlalchemy.Engine = request.app.state.engine
        body = {"database": engine.dialect.name, "version": gridgeo.__version__}
        try:
            with engine.connect() as connection:
                connection.execute(sqlalchemy.text("SELECT 1"))
        except SQLAlchemyError as exc:
            reason = database_reason(exc)
            return JSONResponse(
                status_code=503,
                content={"status": "unavailable", **body, "reason": reason},
            )
        return JSONResponse(content={"status": "ok", **body})

    return app


app = create_app()
