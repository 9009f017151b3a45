"""What the map routes share: who may see a page, its store, and how it is answered."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from api.auth import reader, remember_token
from api.state import get_store
from gridgeo.store import Store

__all__ = ["ROUTE_DEPENDENCIES", "StoreDep", "page_query", "page_response"]

#: Dependencies of the map pages: a token (or the open demo mode), see api/auth.py.
#: The static assets stay open.
ROUTE_DEPENDENCIES: list[Any] = [Depends(reader)]

StoreDep = Annotated[Store, Depends(get_store)]


def page_response(request: Request, html: str) -> HTMLResponse:
    """A page, private to its caller, that remembers a token given in the URL as a cookie."""
    response = HTMLResponse(
        html, headers={"Cache-Control": "private, no-cache", "Vary": "Authorization, Cookie"}
    )
    remember_token(request, response)
    return response


def page_query(**params: Any) -> str:
    """A query string of the parameters that are not None (for the language link).

    Examples
    --------
    >>> page_query(community="C02", grid=None, lang="en")
    'community=C02&lang=en'
    """
    return urlencode({k: str(v) for k, v in params.items() if v is not None})
