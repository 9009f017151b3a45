"""GeoJSON, CSV, XLSX and GeoPackage of layers and findings.

Reads (every role, within its area):

- ``GET /layers`` and ``GET /layers/{layer}``: a layer as a GeoJSON (RFC 7946)
  FeatureCollection, with ``bbox``, ``<column>=<value>`` filters and paging
  (``limit``/``offset``, ``numberMatched``/``numberReturned`` and ``next``/``prev``
  links as OGC API Features has them);
- ``GET /findings`` (every finding row), ``GET /findings/{name}`` (one result layer of
  ``gridgeo check``), with ``as_of`` and ``community``; ``GET /findings.{csv,xlsx,gpkg}``.
  Each answers with ``X-Data-Version``, the data version its findings were computed at,
  and ``X-Data-Time``, when that version's data last changed (:mod:`api.freshness`).

The field writes are in :mod:`api.writes`; GeoJSON pages in :mod:`api.geojson`, the
query's filters in :mod:`api.filters`.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
import shapely
from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response

from api import analysis_cache
from api.auth import REFUSALS, UserDep, read_area
from api.filters import apply_filters, column_filters, parse_bbox, store_selection
from api.freshness import stamp_headers, stamped
from api.geojson import frame_page, geojson_page, geojson_response
from api.state import get_store, settings_of
from api.write_bodies import Day
from gridgeo.areas import Area, area_for, geography
from gridgeo.errors import NotFound, PermissionDenied
from gridgeo.layers import LAYER_ORDER, LAYERS, get_layer
from gridgeo.principal import check_personal
from gridgeo.store import Store
from gridgeo.store.versions import DataStamp

__all__ = ["router"]

router = APIRouter(tags=["data"], responses=REFUSALS)

StoreDep = Annotated[Store, Depends(get_store)]

#: The most features one page holds.
MAX_LIMIT = 10_000

_ERR = {
    "description": "Refused: the detail says why.",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"error": {"type": "string"}, "detail": {}},
            }
        }
    },
}
_READ_ERRORS: dict[int | str, dict[str, Any]] = {404: _ERR, 422: _ERR}


Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Features per page.")]
Offset = Annotated[int, Query(ge=0, le=10**9, description="Features to skip.")]
BBox = Annotated[
    str | None,
    Query(
        description="minx,miny,maxx,maxy in longitude/latitude",
        pattern=r"^[-+0-9.eE]+(,[-+0-9.eE]+){3}$",
    ),
]


# -- layers --------------------------------------------------------------------------------


@router.get("/layers", summary="The layers and their columns")
def layers(user: UserDep) -> dict[str, Any]:
    """Each layer with its geometry type and the columns it can be filtered on."""
    return {
        "layers": [
            {
                "name": name,
                "geometry": spec.geometry,
                "columns": [f.name for f in spec.fields if not f.personal],
                "personal_columns": spec.personal,
                "href": f"/layers/{name}",
            }
            for name, spec in LAYERS.items()
        ]
    }


@router.get(
    "/layers/{layer}",
    summary="A layer as GeoJSON",
    responses={200: {"content": {"application/geo+json": {}}}, **_READ_ERRORS},
)
def layerfeatures(
    request: Request,
    user: UserDep,
    store: StoreDep,
    layer: Annotated[str, PathParam(description=f"One of: {', '.join(LAYER_ORDER)}.")],
    bbox: BBox = None,
    limit: Limit = 1000,
    offset: Offset = 0,
    include_personal: Annotated[
        bool, Query(description="Household names and phone numbers (grid workers, members).")
    ] = False,
    community: Annotated[
        str | None, Query(max_length=100, description="Only what lies in this community.")
    ] = None,
) -> JSONResponse:
    """The features of ``layer`` in the caller's area, filtered and paged.

    Any other query parameter ``column=value`` keeps the rows whose column equals the
    value; for dates and times, whose local ISO text starts with it
    (``visited_at=2025-03``: March 2025; ``reported_at=2025-03-04``: that day;
    ``held_on=2025``; down to ``visited_at=2025-03-04T09:30:15``).
    """
    spec = get_layer(layer)
    check_personal(user, include_personal)
    box = parse_bbox(bbox)
    filters = column_filters(
        request, [f.name for f in spec.fields if include_personal or not f.personal]
    )
    timezone = request.app.state.settings.timezone
    where, ranges, rest = store_selection(spec, filters, timezone)
    exact = not rest
    area = read_area(store, user, community=community or None)
    if area is not None:
        codes = area.codes(layer)
        if codes is None:
            exact = False
        else:
            where["code"] = sorted(codes.intersection(where["code"]) if "code" in where else codes)
    if exact:  # the store selects and pages: a page of 1,000,000 buildings reads a page
        page = store.read_layer(
            layer,
            bbox=box,
            include_personal=include_personal,
            where=where,
            ranges=ranges,
            limit=limit,
            offset=offset,
        )
        matched = store.count_layer(layer, bbox=box, where=where, ranges=ranges)
        return geojson_response(geojson_page(request, page, limit, offset, matched))
    frame = store.read_layer(
        layer, bbox=box, include_personal=include_personal, where=where, ranges=ranges
    )
    if area is not None:
        frame = area.keep(layer, frame)
    frame = apply_filters(frame, rest, timezone)
    return geojson_response(frame_page(request, frame, limit, offset))


# -- findings ------------------------------------------------------------------------------


def _findings_for(
    store: Store, user: Any, as_of: dt.date | None, community: str | None
) -> tuple[DataStamp, dict[str, pd.DataFrame]]:
    """The caller's findings, and the data version (with its time) they were computed at."""
    area = area_for(store, user)
    scope: Area | None = None
    if community is not None:
        geo = geography(store)
        if community not in geo.community_codes or (
            area is not None and community not in area.communities
        ):
            if area is not None:
                raise PermissionDenied(f"community {community!r} is not in your area")
            raise NotFound(f"no community {community!r}")
        scope = geo.area((community,), ())
    done = analysis_cache.checked(store, as_of)
    out = {}
    for name, frame in done.results.items():
        if name in ("summary_district",) and (area is not None or scope is not None):
            continue
        for restrict in (area, scope):
            if restrict is not None:
                frame = restrict.keep_findings(name, frame)
        out[name] = frame
    return done.stamp, out


def _result_names(store: Store, *, personal: bool) -> dict[str, dict[str, str]]:
    """Names to put beside the findings' codes; member names for roles entitled to them."""
    from gridgeo.check.output import result_names

    columns = {"grids": ["name"], "communities": ["name"], "organisations": ["name"],
               "buildings": ["address"], "members": ["name"] if personal else None}  # fmt: skip
    frames = {
        layer: store.read_layer(layer, columns=cols, geometry=False)
        for layer, cols in columns.items()
        if cols is not None
    }
    return result_names(frames, members=personal)


AsOf = Annotated[
    Day | None, Query(description="The date assignments, visits and meetings are judged at.")
]
Community = Annotated[
    str | None,
    Query(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f]+$", description="A code."),
]
Lang = Annotated[
    Literal["zh", "en"],
    Query(
        description="The language of the XLSX's sheet names and headings and of the "
        "GeoPackage's field titles (as `gridgeo check --lang`); layer and column names stay."
    ),
]


@router.get(
    "/findings",
    summary="Every finding as GeoJSON",
    responses={200: {"content": {"application/geo+json": {}}}, **_READ_ERRORS},
)
def all_findings(
    request: Request,
    user: UserDep,
    store: StoreDep,
    as_of: AsOf = None,
    community: Community = None,
    limit: Limit = 1000,
    offset: Offset = 0,
) -> JSONResponse:
    """The finding rows (those with a rule) of every check layer, with a ``layer`` column."""
    columns = ["layer", "rule", "severity", "entity", "code", "explanation_zh", "explanation_en"]
    filters = column_filters(request, columns)
    at, results = _findings_for(store, user, as_of, community)
    frames = [
        frame.assign(layer=name)
        for name, frame in results.items()
        if "rule" in frame.columns and len(frame)
    ]
    if frames:
        import geopandas as gpd

        parts = [
            gpd.GeoDataFrame(
                f[columns],
                geometry=f.geometry.to_numpy() if hasattr(f, "geometry") else [None] * len(f),
                crs=4326,
            )
            for f in frames
        ]
        frame = pd.concat(parts, ignore_index=True)
    else:
        frame = pd.DataFrame(columns=columns)
    frame = apply_filters(frame, filters, request.app.state.settings.timezone)
    return stamped(geojson_response(frame_page(request, frame, limit, offset)), store, at)


@router.get(
    "/findings.{fmt}",
    summary="Download the findings (CSV, Excel, GeoPackage)",
    responses={
        200: {
            "content": {
                "text/csv": {},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
                "application/geopackage+sqlite3": {},
            }
        },
        **_READ_ERRORS,
    },
    response_class=Response,
)
def download_findings(
    user: UserDep,
    store: StoreDep,
    fmt: Literal["csv", "xlsx", "gpkg"],
    as_of: AsOf = None,
    community: Community = None,
    lang: Lang = "zh",
) -> Response:
    """Every result layer as a file.

    CSV: the finding rows of all layers, with the lon/lat of a point of each; XLSX: one
    sheet per layer, as ``gridgeo check`` writes it (in Chinese unless ``lang=en``); GeoPackage: one layer per result.
    """
    from gridgeo.check import write_results

    at, results = _findings_for(store, user, as_of, community)
    names = _result_names(store, personal=getattr(user, "may_see_personal", False))
    stamp = (as_of or dt.date.today()).isoformat()
    if fmt == "csv":
        rows = []
        for name, frame in results.items():
            if "rule" not in frame.columns or frame.empty:
                continue
            table = pd.DataFrame(frame.drop(columns="geometry", errors="ignore")).assign(layer=name)
            if hasattr(frame, "geometry"):
                points = shapely.point_on_surface(frame.geometry.to_numpy())
                ok = ~shapely.is_missing(points) & ~shapely.is_empty(points)
                table["lon"] = np.where(ok, shapely.get_x(points), np.nan)
                table["lat"] = np.where(ok, shapely.get_y(points), np.nan)
            rows.append(table)
        table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
        front = [c for c in ("layer", "rule", "severity", "entity", "code") if c in table]
        table = table[front + [c for c in table.columns if c not in front]]
        content = table.to_csv(index=False).encode("utf-8-sig")  # Excel reads UTF-8 with a BOM
        media = "text/csv; charset=utf-8"
    else:
        with tempfile.TemporaryDirectory() as tmp:
            gpkg, xlsx = write_results(results, Path(tmp) / "findings.gpkg", lang=lang, names=names)
            content = (gpkg if fmt == "gpkg" else xlsx).read_bytes()
        media = (
            "application/geopackage+sqlite3"
            if fmt == "gpkg"
            else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
    return Response(
        content=content,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="findings-{stamp}.{fmt}"',
            **stamp_headers(at, settings_of(store).timezone),
        },
    )


@router.get(
    "/findings/{name}",
    summary="One result layer of the check as GeoJSON",
    responses={200: {"content": {"application/geo+json": {}}}, **_READ_ERRORS},
)
def findings_layer(
    request: Request,
    user: UserDep,
    store: StoreDep,
    name: Annotated[str, PathParam(max_length=100)],
    as_of: AsOf = None,
    community: Community = None,
    limit: Limit = 1000,
    offset: Offset = 0,
) -> JSONResponse:
    """One layer of ``gridgeo check`` (``gaps``, ``unassigned_buildings``, ...)."""
    at, results = _findings_for(store, user, as_of, community)
    if name not in results:
        raise NotFound(f"no finding layer {name!r}; the layers are {', '.join(results)}")
    frame = results[name]
    filters = column_filters(request, [str(c) for c in frame.columns])
    frame = apply_filters(frame, filters, request.app.state.settings.timezone)
    return stamped(geojson_response(frame_page(request, frame, limit, offset)), store, at)
