"""Proposals for planners: compute a fix on the store, review it, apply it.

Routes (role ``planner`` only; every other role is a 403)
------
``POST /proposals/grids`` and ``POST /proposals/assignments``
    Compute :func:`gridgeo.fix.jobs.fix_grids` / :func:`~gridgeo.fix.jobs.fix_assignments`
    on the store (``?as_of=``, default today) and keep the proposal under an id: the
    answer (201) is its summary (:mod:`gridgeo.fix.summary`) and its links.
``GET /proposals/{id}``
    The same summary and links.
``GET /proposals/{id}.gpkg``, ``.xlsx``, ``.geojson``
    The proposal's GeoPackage and workbook (as ``gridgeo fix`` writes them), and its
    rows (the grid repair's ``changes``, the assignment proposal's ``actions``) as
    GeoJSON pages (``?limit=&offset=``).
``POST /proposals/{id}/apply``
    Apply it in one transaction (:func:`gridgeo.fix.apply.apply_file`). With a body,
    the planner's edited file is applied instead: the GeoPackage
    (``Content-Type: application/geopackage+sqlite3``) or, for assignments, the
    workbook (``application/vnd.openxmlformats-officedocument.spreadsheetml.sheet``).
    409 when the store changed since the proposal was made (its data version is not
    the proposal's): compute it again. 422 when rows cannot be applied: each is named
    in ``detail`` and listed in ``rows``, and nothing is written.

Proposals live in the service's memory and a temporary folder, the last
``GRIDGEO_DOCUMENTS_KEPT`` per store; a proposal pushed out (or a restart) is a 404.
The map of a proposal beside the current state is ``/maps/proposal/{id}``
(:mod:`api.maps.proposal`).
"""

from __future__ import annotations

import datetime as dt
import secrets
import shutil
import tempfile
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import geopandas as gpd
from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, JSONResponse

from api.auth import REFUSALS, require
from api.cache import BoundedCache, store_cache
from api.dependencies import StoreDep
from api.freshness import version_headers
from api.geojson import frame_page, geojson_response
from api.state import settings_of
from api.tiles import AsOf
from gridgeo.errors import BadRequest, Conflict, NotFound, ValidationError
from gridgeo.fix.jobs import ProposalFiles
from gridgeo.principal import Principal
from gridgeo.store import Store

__all__ = ["Proposal", "PlannerDep", "find_proposal", "make_proposal", "router"]

PlannerDep = Annotated[Principal, require("planner")]

#: media type of an uploaded edited proposal → the file's extension
UPLOADS = {
    "application/geopackage+sqlite3": ".gpkg",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
}
_apply_lock = threading.Lock()

router = APIRouter(
    prefix="/proposals",
    tags=["proposals"],
    responses={**REFUSALS, 404: {"description": "no such proposal (or no longer kept)"}},
)


@dataclass
class Proposal:
    """A proposal kept by the service: what it was made on, its files and its layers."""

    id: str
    kind: str  # "grids" or "assignments"
    as_of: dt.date
    version: int  # the store's data version it was computed on
    summary: dict[str, Any]
    #: the layers of its GeoPackage, in EPSG:4326 (``grids``, ``changes``, ``left`` or
    #: ``actions``, ``cadres``, ``members``, ``figures``)
    layers: dict[str, Any]
    files: ProposalFiles
    #: the folder of its files, removed when the proposal is no longer kept
    folder: Path
    created: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    applied: dict[str, Any] | None = None

    @property
    def rows(self) -> gpd.GeoDataFrame:
        """The rows a planner reviews: the repair's changes, the proposal's actions."""
        return self.layers["changes" if self.kind == "grids" else "actions"]


def _kept(store: Store) -> BoundedCache:
    return store_cache(store, "proposals", lambda: BoundedCache(settings_of(store).documents_kept))


def _wgs84(frame: Any) -> Any:
    if (
        isinstance(frame, gpd.GeoDataFrame)
        and frame.crs is not None
        and frame.crs.to_epsg() != 4326
    ):
        return frame.to_crs(4326)
    return frame


def make_proposal(store: Store, kind: str, as_of: dt.date) -> Proposal:
    """Compute a proposal of ``kind`` on the store and keep it; see the module docstring."""
    from gridgeo.check import inputs_from_store
    from gridgeo.fix import jobs
    from gridgeo.fix.summary import assignment_summary, repair_summary
    from gridgeo.policy import Policy

    version = int(store.data_version())  # read first: a write while reading makes it stale
    inputs = inputs_from_store(store)
    folder = Path(tempfile.mkdtemp(prefix="gridgeo-proposal-"))
    ident = secrets.token_hex(8)
    path = folder / f"proposal-{kind}-{ident}.gpkg"
    if kind == "grids":
        repair = jobs.fix_grids(inputs, policy=Policy(), as_of=as_of)
        files, summary = jobs.write_grid_repair(repair, path), repair_summary(repair)
        layers = {"grids": repair.grids, "changes": repair.changes, "left": repair.left}
    else:
        proposal = jobs.fix_assignments(inputs, policy=Policy(), as_of=as_of)
        files, summary = (
            jobs.write_assignment_proposal(proposal, path),
            assignment_summary(proposal),
        )
        layers = {"actions": proposal.actions, "cadres": proposal.cadres}
    kept = Proposal(
        ident, kind, as_of, version, summary, {k: _wgs84(v) for k, v in layers.items()},
        files, folder,
    )  # fmt: skip
    weakref.finalize(kept, shutil.rmtree, folder, ignore_errors=True)
    _kept(store).put(ident, kept)
    return kept


def find_proposal(store: Store, ident: str) -> Proposal:
    """A kept proposal.

    Raises
    ------
    NotFound
        No proposal has this id, or it is no longer kept.
    """
    found = _kept(store).get(ident)
    if found is None:
        raise NotFound(
            f"no proposal {ident!r}: it was never made or is no longer kept "
            "(the service keeps the last ones it made); make it again"
        )
    return found  # type: ignore[no-any-return]


def _body(request: Request, kept: Proposal) -> dict[str, Any]:
    """A proposal's summary and links (its files, rows, map and apply)."""
    base = f"{request.scope.get('root_path', '')}/proposals/{kept.id}"
    return {
        "id": kept.id,
        "kind": kept.kind,
        "as_of": kept.as_of.isoformat(),
        "data_version": kept.version,
        "created": kept.created.isoformat(timespec="seconds"),
        "summary": kept.summary,
        "applied": kept.applied,
        "links": {
            "self": base,
            "gpkg": f"{base}.gpkg",
            "xlsx": f"{base}.xlsx",
            "geojson": f"{base}.geojson",
            "map": f"{request.scope.get('root_path', '')}/maps/proposal/{kept.id}",
            "apply": f"{base}/apply",
        },
    }


@router.post("/grids", status_code=201, summary="Propose a repair of the grid coverage")
def propose_grids(
    request: Request, store: StoreDep, user: PlannerDep, as_of: AsOf = None
) -> dict[str, Any]:
    """Seams and slivers closed, overlaps settled, grids kept in their community."""
    kept = make_proposal(store, "grids", as_of or dt.date.today())
    return _body(request, kept)


@router.post(
    "/assignments", status_code=201, summary="Propose the missing and the surplus assignments"
)
def propose_assignments(
    request: Request, store: StoreDep, user: PlannerDep, as_of: AsOf = None
) -> dict[str, Any]:
    """A member for every unassigned household, the quota met, double responsibility settled."""
    kept = make_proposal(store, "assignments", as_of or dt.date.today())
    return _body(request, kept)


def _file(kept: Proposal, path: Path, media_type: str) -> FileResponse:
    return FileResponse(
        path, media_type=media_type, filename=path.name,
        headers={"Cache-Control": "private, no-store"},
    )  # fmt: skip


@router.get("/{proposal_id}.gpkg", summary="The proposal's GeoPackage")
def proposal_gpkg(store: StoreDep, user: PlannerDep, proposal_id: str) -> FileResponse:
    """The GeoPackage ``gridgeo fix`` would write: review it in QGIS."""
    kept = find_proposal(store, proposal_id)
    return _file(kept, kept.files.gpkg, "application/geopackage+sqlite3")


@router.get("/{proposal_id}.xlsx", summary="The proposal's workbook")
def proposal_xlsx(store: StoreDep, user: PlannerDep, proposal_id: str) -> FileResponse:
    """The workbook beside the GeoPackage: review (and edit) it in Excel."""
    kept = find_proposal(store, proposal_id)
    return _file(kept, kept.files.xlsx, next(k for k, v in UPLOADS.items() if v == ".xlsx"))


@router.get("/{proposal_id}.geojson", summary="The proposal's rows as GeoJSON")
def proposal_geojson(
    request: Request,
    store: StoreDep,
    user: PlannerDep,
    proposal_id: str,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JSONResponse:
    """The grid repair's changes, or the assignment proposal's actions, one feature each."""
    kept = find_proposal(store, proposal_id)
    return geojson_response(frame_page(request, kept.rows, limit, offset))


@router.get("/{proposal_id}", summary="A proposal's summary and links")
def proposal(
    request: Request, store: StoreDep, user: PlannerDep, proposal_id: str
) -> dict[str, Any]:
    """What the proposal does, and where its files, rows and map are."""
    return _body(request, find_proposal(store, proposal_id))


def _upload(request_body: bytes, content_type: str, kept: Proposal) -> Path:
    """An edited proposal sent in the body, written beside the proposal's own files."""
    media = content_type.split(";", 1)[0].strip().lower()
    ext = UPLOADS.get(media)
    if ext is None:
        raise BadRequest(
            f"an edited proposal is sent as one of {', '.join(UPLOADS)}, not {media or 'no type'}"
            " (or send no body to apply the proposal as made)"
        )
    path = kept.files.gpkg.with_name(f"edited-{secrets.token_hex(4)}{ext}")
    path.write_bytes(request_body)
    return path


def _refused_rows(exc: ValidationError) -> JSONResponse:
    """A 422 naming each row that cannot be applied, in ``detail`` and in ``rows``."""
    rows = [
        {"row": i.row, "column": i.column, "value": None if i.value is None else str(i.value),
         "message": i.message, "hint": i.hint}
        for i in exc.issues
    ]  # fmt: skip
    return JSONResponse(
        status_code=422, content={"error": type(exc).__name__, "detail": str(exc), "rows": rows}
    )


@router.post(
    "/{proposal_id}/apply",
    summary="Apply a proposal (or its edited file) in one transaction",
    responses={409: {"description": "the store changed since the proposal was made"},
               422: {"description": "rows that cannot be applied, each named"}},
)  # fmt: skip
async def apply_proposal(
    request: Request, store: StoreDep, user: PlannerDep, proposal_id: str
) -> Any:
    """Every row checked first, then all written or, on any error, nothing."""
    from starlette.concurrency import run_in_threadpool

    kept = find_proposal(store, proposal_id)
    body = await request.body()
    return await run_in_threadpool(_apply, store, kept, body, request.headers.get("content-type"))


def _apply(store: Store, kept: Proposal, body: bytes, content_type: str | None) -> Any:
    from gridgeo.fix.apply import apply_file, read_proposal

    path = _upload(body, content_type or "", kept) if body else kept.files.gpkg
    with _apply_lock:
        now = int(store.data_version())
        if now != kept.version:
            raise Conflict(
                f"the store changed since proposal {kept.id} was made (data version {now}, "
                f"not {kept.version}): make the proposal again"
            )
        try:
            if path != kept.files.gpkg and read_proposal(path)[0] != kept.kind:
                raise ValidationError(
                    f"{path.suffix} is not a proposal of {kept.kind}: send the edited file of "
                    f"proposal {kept.id}"
                )
            applied = apply_file(store, path, as_of=kept.as_of)
        except ValidationError as exc:
            return _refused_rows(exc)
        finally:
            if path != kept.files.gpkg:
                path.unlink(missing_ok=True)
    kept.applied = {"kind": applied.kind, "added": applied.added, "ended": applied.ended,
                    "changed": applied.changed}  # fmt: skip
    version = now if applied.data_version is None else applied.data_version
    return JSONResponse(
        {"id": kept.id, "applied": kept.applied, "data_version": version},
        headers=version_headers(version),
    )
