"""What the routes share: the store the app was started on."""

from __future__ import annotations

from fastapi import Request

from gridgeo.store import Store

__all__ = ["get_store"]


def get_store(request: Request) -> Store:
    """The app's store (a FastAPI dependency)."""
    store: Store = request.app.state.store
    return store
