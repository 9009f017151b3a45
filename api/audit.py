"""``GET /audit``: the audit log of field writes and problem steps, in pages, oldest first.

Who reads what: leaders, planners and analysts the changes in their area (planners
and analysts without an area: the whole district); grid workers and members their own
writes. The open demo (``GRIDGEO_AUTH=off``) reads no log.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request

from api.auth import REFUSALS, UserDep
from api.state import get_store
from api.write_bodies import Code, Time
from gridgeo.areas import area_for
from gridgeo.errors import PermissionDenied
from gridgeo.fieldwork.rows import as_utc
from gridgeo.principal import WRITER_ROLES, Principal
from gridgeo.store import Store
from gridgeo.store.audit import read_audit

__all__ = ["router", "visible_part"]

StoreDep = Annotated[Store, Depends(get_store)]

router = APIRouter(tags=["audit"], responses=REFUSALS)


def visible_part(store: Store, user: Principal) -> dict[str, Any]:
    """The filter of :func:`gridgeo.store.audit.read_audit` that keeps what ``user`` may read."""
    if user.token_id is None:
        raise PermissionDenied("the open demo (GRIDGEO_AUTH=off) reads no audit log; send a token")
    if user.role in WRITER_ROLES:
        if not user.member:
            raise PermissionDenied(f"this {user.role} token names no member whose writes to show")
        return {"member": user.member}
    area = area_for(store, user)
    if area is None:
        return {}
    return {"communities": area.communities, "grids": area.grids}


@router.get("/audit", summary="The audit log of field writes and problem steps")
def audit(
    request: Request,
    user: UserDep,
    store: StoreDep,
    since: Annotated[Time | None, Query(description="Changes at or after this time.")] = None,
    layer: Annotated[Code | None, Query(description="visits, meetings or problems.")] = None,
    code: Annotated[Code | None, Query(description="Changes of this row only.")] = None,
    after: Annotated[int, Query(ge=0, le=2**62, description="Rows after this id.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Who changed what and when, with the old and new values, oldest first.

    Each entry: ``id``, ``at`` (UTC), ``token_id``, ``role``, ``member``, ``layer``,
    ``code``, ``action`` (``created``, ``resolve``, ``escalate``, ``close``),
    ``community``, ``grid``, ``old`` and ``new`` (the values that changed). ``next``
    is the URL of the next page, or null.
    """
    page = read_audit(
        store.engine,
        since=None if since is None else as_utc(since),
        layer=layer,
        code=code,
        after=after,
        limit=limit,
        **visible_part(store, user),
    )
    following = None
    if page.next_after is not None:
        params = {k: v for k, v in request.query_params.items() if k != "after"}
        following = f"{request.url.path}?{urlencode({**params, 'after': page.next_after})}"
    return {"entries": page.rows, "next": following}
