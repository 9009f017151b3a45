"""What the routes share: the store the app was started on."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import Request

from gridgeo.errors import StoreError, database_reason
from gridgeo.store import Store, open_store

__all__ = ["app_store", "get_store"]


def get_store(request: Request) -> Store:
    """The app's store (a FastAPI dependency), opened by the first request that needs it.

    Raises
    ------
    StoreError
        The database does not answer or is at an unknown schema revision (HTTP 503).
    """
    return app_store(request.app)


def app_store(app: Any) -> Store:
    """:func:`get_store` of an application (for code that has no request object)."""
    store: Store | None = app.state.store
    if store is None:
        with app.state.store_lock:
            if app.state.store is None:
                url = app.state.settings.database_url
                try:
                    app.state.store = open_store(url)
                except sa.exc.SQLAlchemyError as exc:
                    reason = database_reason(exc)
                    raise StoreError(f"the database does not answer: {reason}") from exc
            store = app.state.store
    assert store is not None
    return store
