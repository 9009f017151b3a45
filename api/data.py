"""GeoJSON, CSV, XLSX and GeoPackage of layers and findings.

Reads (every role, within its area):

- ``GET /layers`` and ``GET /layers/{layer}``: a layer as a GeoJSON (RFC 7946)
  FeatureCollection, with ``bbox``, ``<column>=<value>`` filters and paging
  (``limit``/``offset``, ``numberMatched``/``numberReturned`` and ``next``/``prev``
  links as OGC API Features has them);
- ``GET /findings`` (every finding row), ``GET /findings/{name}`` (one result layer of
  ``gridgeo check``), with ``as_of`` and ``community``; ``GET /findings.{csv,xlsx,gpkg}``.

The field writes are in :mod:`api.writes`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import shapely
from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response

from api.auth import REFUSALS, UserDep, read_area
from api.state import get_store
from api.writes import Day
from gridgeo.access import Area, area_for, check_personal, geography
from gridgeo.errors import NotFound, PermissionDenied, ValidationError
from gridgeo.layers import LAYER_ORDER, LAYERS, LayerSpec, get_layer
from gridgeo.store import Store

__all__ = ["router"]

router = APIRouter(tags=["data"], responses=REFUSALS)

StoreDep = Annotated[Store, Depends(get_store)]

#: The most features one page holds.
MAX_LIMIT = 10_000
#: Query parameters that are not column filters.
_RESERVED = {"bbox", "limit", "offset", "include_personal", "as_of", "community"}

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


# -- JSON of frames ------------------------------------------------------------------------


def _json_column(values: pd.Series) -> list[Any]:
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return [None if pd.isna(v) else v.isoformat() for v in values]
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return [
            None if pd.isna(v) else (v.date().isoformat() if v == v.normalize() else v.isoformat())
            for v in values
        ]
    out = []
    for v in values.astype(object):
        if v is None or v is pd.NA or v is pd.NaT:
            out.append(None)
        elif isinstance(v, float | np.floating):
            out.append(float(v) if math.isfinite(v) else None)
        elif isinstance(v, np.integer):
            out.append(int(v))
        elif isinstance(v, np.bool_ | bool):
            out.append(bool(v))
        elif isinstance(v, dt.datetime | dt.date | pd.Timestamp):
            out.append(v.isoformat())
        elif isinstance(v, shapely.Geometry):
            out.append(shapely.to_wkt(v))
        else:
            out.append(v if isinstance(v, str | int) else str(v))
    return out


def _features(frame: pd.DataFrame, extra: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    geom_col = frame.geometry.name if hasattr(frame, "geometry") else None
    cols = [c for c in frame.columns if c != geom_col]
    data = {c: _json_column(frame[c]) for c in cols}
    geoms = frame[geom_col].to_numpy() if geom_col else [None] * len(frame)
    features = []
    for i, geom in enumerate(geoms):
        props = {c: data[c][i] for c in cols}
        if extra:
            props.update(extra)
        feature: dict[str, Any] = {
            "type": "Feature",
            "geometry": None
            if geom is None or shapely.is_empty(geom)
            else shapely.geometry.mapping(geom),
            "properties": props,
        }
        if "code" in props and props["code"] is not None:
            feature["id"] = props["code"]
        features.append(feature)
    return features


def _parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if text is None:
        return None
    try:
        parts = tuple(float(x) for x in text.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 4 or not all(math.isfinite(x) for x in parts):
        raise ValidationError(
            f"bbox {text!r}: give four numbers minx,miny,maxx,maxy (longitude/latitude)"
        )
    minx, miny, maxx, maxy = parts
    if minx > maxx or miny > maxy:
        raise ValidationError(f"bbox {text!r}: minx must not exceed maxx, nor miny maxy")
    return minx, miny, maxx, maxy


def _filters(request: Request, columns: list[str]) -> dict[str, str]:
    filters = {k: v for k, v in request.query_params.items() if k not in _RESERVED}
    unknown = sorted(set(filters) - set(columns))
    if unknown:
        raise ValidationError(
            f"unknown filter(s) {unknown}: filter on one of the columns {columns}, "
            "or use bbox, limit, offset"
        )
    for column, value in filters.items():
        if "\x00" in value:
            raise ValidationError(f"filter {column}: text must not contain NUL characters")
    return filters


def _apply_filters(
    frame: pd.DataFrame, filters: dict[str, str], timezone: str | None = None
) -> pd.DataFrame:
    """The rows of a frame in memory whose columns match ``column=value`` filters.

    Text is compared whole; a date or time column matches when its ISO text starts with
    the value, times written in local time in ``timezone`` (the district's), so
    ``visited_at=2025-03-04`` is that local day (:func:`_time_range` selects the same
    rows in the store).
    """
    for column, value in filters.items():
        values = frame[column]
        if isinstance(values.dtype, pd.DatetimeTZDtype) and timezone is not None:
            values = values.dt.tz_convert(timezone)
        texts = pd.Series(_json_column(values), index=frame.index, dtype=object)
        text = texts.map(lambda v: None if v is None else str(v))
        is_time = pd.api.types.is_datetime64_any_dtype(frame[column].dtype)
        mask = text.str.startswith(value) if is_time else text.eq(value)
        frame = frame.loc[mask.fillna(False).to_numpy(dtype=bool)]
    return frame


def _page(
    request: Request,
    page: pd.DataFrame,
    limit: int,
    offset: int,
    matched: int,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The GeoJSON body of one page (rows ``offset`` to ``offset + limit`` of ``matched``)."""
    features = _features(page, extra)
    links = [{"rel": "self", "type": "application/geo+json", "href": str(request.url)}]
    params = dict(request.query_params)
    base = str(request.url.remove_query_params(list(params)))
    if offset + limit < matched:
        nxt = {**params, "offset": str(offset + limit), "limit": str(limit)}
        links.append(
            {"rel": "next", "type": "application/geo+json", "href": f"{base}?{urlencode(nxt)}"}
        )
    if offset > 0:
        prev = {**params, "offset": str(max(0, offset - limit)), "limit": str(limit)}
        links.append(
            {"rel": "prev", "type": "application/geo+json", "href": f"{base}?{urlencode(prev)}"}
        )
    body: dict[str, Any] = {
        "type": "FeatureCollection",
        "numberMatched": matched,
        "numberReturned": len(features),
        "timeStamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "links": links,
        "features": features,
    }
    geoms = page.geometry.to_numpy() if hasattr(page, "geometry") else np.array([])
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))] if len(geoms) else geoms
    if len(geoms):
        body["bbox"] = [float(x) for x in shapely.total_bounds(geoms)]
    return body


def _frame_page(request: Request, frame: pd.DataFrame, limit: int, offset: int) -> dict[str, Any]:
    """:func:`_page` of the rows of a frame in memory."""
    return _page(request, frame.iloc[offset : offset + limit], limit, offset, len(frame))


def _geojson(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(content=body, media_type="application/geo+json")


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
def layer_features(
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
    box = _parse_bbox(bbox)
    filters = _filters(request, [f.name for f in spec.fields if include_personal or not f.personal])
    timezone = request.app.state.settings.timezone
    where, ranges, rest = _store_selection(spec, filters, timezone)
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
        return _geojson(_page(request, page, limit, offset, matched))
    frame = store.read_layer(
        layer, bbox=box, include_personal=include_personal, where=where, ranges=ranges
    )
    if area is not None:
        frame = area.keep(layer, frame)
    frame = _apply_filters(frame, rest, timezone)
    return _geojson(_frame_page(request, frame, limit, offset))


_CANONICAL_INT = re.compile(r"0|-?[1-9][0-9]*")
#: The prefixes of ISO text that are a whole period: a year down to a second.
_STEPS = tuple(dt.timedelta(**{unit: 1}) for unit in ("days", "hours", "minutes", "seconds"))
_PERIOD = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2}))?)?)?)?)?")


def _store_selection(
    spec: LayerSpec, filters: dict[str, str], timezone: str
) -> tuple[dict[str, list[Any]], dict[str, tuple[Any, Any]], dict[str, str]]:
    """The ``column=value`` filters split into what the store selects and what is left.

    A filter on a text column (codes and references too) is the store's equality; one
    on an integer column is too when the value is written as the integer would be
    (``5``; ``05`` or ``5.0`` match nothing). A date or time filter that names a whole
    period (``2025``, ``2025-03``, ``2025-03-04``, ``2025-03-04T09``...) is the range
    of that period (:func:`_time_range`). Anything else (``2025-0``, a time with an
    offset) is left to :func:`_apply_filters`, after the store's selection.

    Returns
    -------
    tuple
        ``where`` (column → values), ``ranges`` (column → ``[low, high)``) and the
        filters left.
    """
    where: dict[str, list[Any]] = {}
    ranges: dict[str, tuple[Any, Any]] = {}
    rest: dict[str, str] = {}
    for column, value in filters.items():
        kind = spec.field(column).kind
        if kind == "text":
            where[column] = [value]
        elif kind == "int":
            where[column] = [int(value)] if _CANONICAL_INT.fullmatch(value) else []
        elif (period := _time_range(kind, value, timezone)) is not None:
            ranges[column] = period
        else:
            rest[column] = value
    return where, ranges, rest


def _time_range(kind: str, value: str, timezone: str) -> tuple[Any, Any] | None:
    """``[low, high)`` of the period a filter value names (None: not a whole period).

    For a ``date`` column, dates (``2025-03`` is 1 March to 1 April); for a time column,
    UTC instants of the local period in ``timezone``. A period whose bounds fall in a
    daylight-saving change (a local time that is skipped or happens twice) is None:
    the text comparison handles it.
    """
    match = _PERIOD.fullmatch(value)
    if match is None:
        return None
    parts = [int(p) for p in match.groups() if p is not None]
    if kind == "date" and len(parts) > 3:
        return None
    try:
        start = dt.datetime(*parts, *([1] * max(0, 3 - len(parts))))  # type: ignore[misc]
        if len(parts) == 1:
            end = start.replace(year=start.year + 1)
        elif len(parts) == 2:
            end = (start + dt.timedelta(days=32)).replace(day=1)
        else:
            end = start + _STEPS[len(parts) - 3]
    except (ValueError, OverflowError):
        return None  # no such period (2025-13, 2025-02-30): the text matches nothing either
    if kind == "date":
        return start.date(), end.date()
    zone = ZoneInfo(timezone)
    bounds = []
    for wall in (start, end):
        early, late = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
        if early.utcoffset() != late.utcoffset():
            return None
        bounds.append(early.astimezone(dt.UTC))
    return bounds[0], bounds[1]


# -- findings ------------------------------------------------------------------------------


def _check_results(store: Store, as_of: dt.date | None) -> dict[str, pd.DataFrame]:
    try:
        from api.analysis_cache import check_results
    except ImportError:  # pragma: no cover - the cache module is optional
        from gridgeo.check import inputs_from_store, run_check

        return run_check(inputs_from_store(store), as_of=as_of)
    return check_results(store, as_of)


def _findings_for(
    store: Store, user: Any, as_of: dt.date | None, community: str | None
) -> dict[str, pd.DataFrame]:
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
    results = _check_results(store, as_of)
    out = {}
    for name, frame in results.items():
        if name in ("summary_district",) and (area is not None or scope is not None):
            continue
        for restrict in (area, scope):
            if restrict is not None:
                frame = restrict.keep_findings(name, frame)
        out[name] = frame
    return out


AsOf = Annotated[
    Day | None, Query(description="The date assignments, visits and meetings are judged at.")
]
Community = Annotated[
    str | None,
    Query(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f]+$", description="A code."),
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
    filters = _filters(request, columns)
    results = _findings_for(store, user, as_of, community)
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
    frame = _apply_filters(frame, filters, request.app.state.settings.timezone)
    return _geojson(_frame_page(request, frame, limit, offset))


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
) -> Response:
    """Every result layer as a file.

    CSV: the finding rows of all layers, with the lon/lat of a point of each; XLSX: one
    sheet per layer, as ``gridgeo check`` writes it; GeoPackage: one layer per result.
    """
    from gridgeo.check import write_results

    results = _findings_for(store, user, as_of, community)
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
            gpkg, xlsx = write_results(results, Path(tmp) / "findings.gpkg")
            content = (gpkg if fmt == "gpkg" else xlsx).read_bytes()
        media = (
            "application/geopackage+sqlite3"
            if fmt == "gpkg"
            else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
    return Response(
        content=content,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="findings-{stamp}.{fmt}"'},
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
    results = _findings_for(store, user, as_of, community)
    if name not in results:
        raise NotFound(f"no finding layer {name!r}; the layers are {', '.join(results)}")
    frame = results[name]
    filters = _filters(request, [str(c) for c in frame.columns])
    frame = _apply_filters(frame, filters, request.app.state.settings.timezone)
    return _geojson(_frame_page(request, frame, limit, offset))
