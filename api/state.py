"""What the routes share: the store the app was started on, and the settings it serves with."""

from __future__ import annotations

import weakref
from typing import Any

import sqlalchemy as sa
from fastapi import Request

from api import versions
from gridgeo.errors import StoreError, database_reason
from gridgeo.settings import Settings, get_settings
from gridgeo.store import Store, open_store

__all__ = ["app_store", "get_store", "settings_of"]

_settings: weakref.WeakKeyDictionary[Store, Settings] = weakref.WeakKeyDictionary()


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
                settings: Settings = app.state.settings
                try:
                    opened = open_store(settings.database_url)
                except sa.exc.SQLAlchemyError as exc:
                    reason = database_reason(exc)
                    raise StoreError(f"the database does not answer: {reason}") from exc
                _settings[opened] = settings
                versions.attach(opened, getattr(app.state, "version_listener", None))
                app.state.store = opened
            store = app.state.store
    assert store is not None
    return store


def settings_of(store: Store) -> Settings:
    """The settings of the app serving ``store`` (the process's, for a store of its own).

    The caches' sizes and the connection pool of a store follow these.
    """
    found = _settings.get(store)
    return found if found is not None else get_settings()
