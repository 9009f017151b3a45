"""The FastAPI application: ``create_app(settings)`` builds it, ``app`` serves it.

Run it with ``gridgeo serve`` or ``uvicorn api.main:app``. Nothing here connects to
the database at import time, nor at start-up: the first request that needs the store
opens it (``api.state.get_store``; a database that does not answer is a 503 with the
reason), and it is closed at shutdown. The routes live in one module per concern (``maps``,
``tiles`` (a package: vector tiles, PNG tiles, static maps), ``reports``, ``data``,
``writes``, ``proposals``, ``auth``); library errors become HTTP statuses in
one place (:mod:`api.refusals`), and every refusal has the same shape, ``{"error": ..., "detail": ...}``.

:class:`BodyLimit` is the outermost layer: a request whose body is larger than
``GRIDGEO_MAX_BODY_BYTES`` is refused (413) before any other work.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any

import psycopg
import sqlalchemy
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import gridgeo
from api import (
    audit,
    auth,
    basemaps,
    batch,
    data,
    database,
    docs,
    maps,
    proposals,
    reports,
    tiles,
    versions,
    writes,
)
from api.fastpath import TileResponses
from api.refusals import (
    ERROR_STATUS,
    VALIDATION_ERROR_SCHEMA,
    json_text,
    refusal,
    validation_refusal,
)
from gridgeo.errors import BadRequest, GridGeoError, RequestTooLarge, database_reason
from gridgeo.settings import Settings
from gridgeo.store import make_engine

__all__ = ["ERROR_STATUS", "BodyLimit", "app", "create_app"]


async def _gridgeo_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GridGeoError)
    return refusal(exc)


async def _request_validation_handler(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's checks of parameters and bodies, without echoing the input back."""
    assert isinstance(exc, RequestValidationError)
    return validation_refusal(list(exc.errors()))


async def _http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's and FastAPI's own refusals (no such route, wrong method...) in our shape."""
    assert isinstance(exc, HTTPException)
    try:
        kind = "".join(HTTPStatus(exc.status_code).phrase.title().split())
    except ValueError:
        kind = "HTTPError"
    return JSONResponse(
        status_code=exc.status_code,
        content={"error": kind, "detail": json_text(exc.detail)},
        headers=getattr(exc, "headers", None),
    )


class BodyLimit:
    """ASGI middleware: request bodies of at most ``limit`` bytes, counted as they come.

    A ``Content-Length`` over the limit is refused (413) at once, before the request
    reaches anything else (no token lookup, no parsing); a body sent without one
    (chunked) is cut off as soon as the bytes received pass the limit, and only what
    was received until then was held. Two ``Content-Length`` headers, or one that is
    not a number, are a 400. Refusals close the connection, so the rest of a big body
    is never read.

    Parameters
    ----------
    app
        The application.
    limit
        The most bytes a body may have (``GRIDGEO_MAX_BODY_BYTES``).
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    def too_large(self, size: int | None) -> RequestTooLarge:
        """The refusal of a body of ``size`` bytes (None: unknown, cut off)."""
        what = f"of {size:,} bytes" if size is not None else "sent"
        return RequestTooLarge(
            f"the request body {what} is larger than the limit of {self.limit:,} bytes "
            "(GRIDGEO_MAX_BODY_BYTES); a field write is a few kilobytes"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        lengths = [v for k, v in scope["headers"] if k == b"content-length"]
        if len(lengths) > 1 or (lengths and not lengths[0].strip().isdigit()):
            error: GridGeoError = BadRequest(
                "send one Content-Length header holding the body's size in bytes"
            )
            await refusal(error)(scope, receive, send)
            return
        if lengths:
            digits = lengths[0].strip()
            size = int(digits) if len(digits) <= 30 else self.limit + 1
            if size > self.limit:
                await refusal(self.too_large(size))(scope, receive, send)
                return
        received = 0
        over: RequestTooLarge | None = None
        started = False

        async def limited() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    over = self.too_large(None)
                    raise over
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if over is not None and not started:
                # the app turned the cut-off into an answer of its own (FastAPI makes any
                # error while reading a body a 400): the answer is the 413
                started = True
                await refusal(over)(scope, receive, send)
                return
            if over is not None:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited, guarded)
        except RequestTooLarge as exc:
            if started:
                raise
            await refusal(exc)(scope, receive, send)


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
        # one listener of the data version per process (PostGIS; api.versions)
        app.state.version_listener = versions.start_listener(
            settings.database_url, settings.version_listener
        )
        try:
            yield
        finally:
            if app.state.version_listener is not None:
                await run_in_threadpool(app.state.version_listener.stop)
            if app.state.store is not None:
                await database.close(app.state.store)
                app.state.store.close()
            app.state.engine.dispose()
            del app.state.engine, app.state.store, app.state.version_listener

    # /docs and /redoc come from api/docs.py, with their scripts served locally.
    app = FastAPI(
        title="gridgeo",
        version=gridgeo.__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.add_exception_handler(GridGeoError, _gridgeo_error_handler)
    app.add_exception_handler(RequestValidationError, _request_validation_handler)
    app.add_exception_handler(HTTPException, _http_error_handler)
    app.add_exception_handler(sqlalchemy.exc.OperationalError, _database_error_handler)
    app.add_exception_handler(psycopg.OperationalError, _database_error_handler)
    for router in (auth.router, maps.router, *tiles.ROUTERS, basemaps.router, reports.router,
                   data.router, writes.router, batch.router, audit.router, proposals.router,
                   docs.router):  # fmt: skip
        app.include_router(router)

    def openapi() -> dict[str, Any]:
        """FastAPI's document, with the 422 answers in the shape this app gives them."""
        if app.openapi_schema is None:
            document = FastAPI.openapi(app)
            schemas = document.get("components", {}).get("schemas", {})
            if "HTTPValidationError" in schemas:
                schemas["HTTPValidationError"] = VALIDATION_ERROR_SCHEMA
                schemas.pop("ValidationError", None)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(TileResponses, limit=settings.tile_response_cache_bytes)
    app.add_middleware(auth.CredentialCheck)  # one reading of the credentials
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)  # the outermost layer

    @app.get("/health")
    def health(request: Request) -> JSONResponse:
        """Report whether the service and its database answer.

        On PostGIS with the version listener, ``versions`` says where this process's
        data version comes from now: ``notified`` (the listener) or ``read`` (the
        store, while the listener connects or reconnects).
        """
        engine: sqlalchemy.Engine = request.app.state.engine
        body = {"database": engine.dialect.name, "version": gridgeo.__version__}
        listener = request.app.state.version_listener
        if listener is not None:
            body["versions"] = "notified" if listener.healthy else "read"
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
