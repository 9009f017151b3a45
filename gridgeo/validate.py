"""Every check of input data, done once at the boundary, before anything is stored.

:func:`prepare_layer` maps a file's columns to a layer's, converts types, checks
codes, values, dates and geometries, and either returns a clean frame or raises one
:class:`~gridgeo.errors.ValidationError` that lists every problem with its file,
row, column and value, and says what to do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgeo.errors import Issue, ValidationError
from gridgeo.layers import Field, LayerSpec, get_layer
from gridgeo.schema import ASSIGNMENT_KINDS
from gridgeo.settings import get_settings
from gridgeo.store.base import ROW_COLUMN

__all__ = ["Prepared", "prepare_layer", "ALIASES", "as_text"]

#: Other names a column goes by in the files planners keep (compared lower-case).
ALIASES: dict[str, tuple[str, ...]] = {
    "code": ("id", "编号", "编码", "代码"),
    "name": ("名称", "姓名", "name_zh"),
    "address": ("addr", "地址", "门牌"),
    "units": ("单元数",),
    "households": ("户数", "hh"),
    "floors": ("层数", "building_levels", "levels"),
    "community": ("community_code", "community_id", "社区", "社区编号"),
    "grid": ("grid_code", "grid_id", "网格", "网格编号"),
    "building": ("building_code", "building_id", "楼栋", "楼栋编号"),
    "household": ("household_code", "household_id", "户", "户编号"),
    "member": ("member_code", "member_id", "党员", "党员编号"),
    "organisation": ("organization", "org", "organisation_code", "organization_code", "党组织"),
    "responsible": ("responsible_member", "责任人"),
    "visit": ("visit_code", "visit_id"),
    "role": ("角色",),
    "kind": ("type", "类型"),
    "category": ("类别", "问题类别"),
    "status": ("状态",),
    "valid_from": ("from", "start", "开始日期"),
    "valid_to": ("to", "end", "结束日期"),
    "visited_at": ("time", "date", "走访时间"),
    "reported_at": ("reported", "created", "date", "上报时间"),
    "held_on": ("date", "会议日期"),
    "deadline": ("due", "期限"),
    "phone": ("tel", "mobile", "电话"),
}

_DATE_FORMATS = ("%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%d/%m/%Y")
_TIME_FORMATS = ("%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日")
_MAX_ISSUES_PER_CHECK = 200


@dataclass
class Prepared:
    """A layer frame ready for :meth:`Store.write_layers`, and what was done to it."""

    frame: pd.DataFrame
    layer: str
    rows_read: int
    repaired: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    mapped_columns: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class _Issues:
    def __init__(self, source: str | None, layer: str, rows: np.ndarray, codes: pd.Series | None):
        self.items: list[Issue] = []
        self.source, self.layer, self.rows, self.codes = source, layer, rows, codes

    def add(
        self,
        message: str,
        *,
        pos: int | None = None,
        column: str | None = None,
        value: object = None,
        hint: str | None = None,
    ) -> None:
        key = None
        if pos is not None and self.codes is not None:
            code = self.codes.iloc[pos]
            key = None if pd.isna(code) else str(code)
        self.items.append(
            Issue(
                message,
                file=self.source,
                layer=self.layer,
                row=None if pos is None else int(self.rows[pos]),
                column=column,
                value=value,
                hint=hint,
                key=key,
            )
        )

    def each(
        self,
        positions: np.ndarray,
        message: str,
        *,
        column: str | None,
        values: pd.Series | None = None,
        hint: str | None = None,
    ) -> None:
        for pos in positions[:_MAX_ISSUES_PER_CHECK]:
            self.add(
                message,
                pos=int(pos),
                column=column,
                value=None if values is None else values.iloc[pos],
                hint=hint,
            )
        if len(positions) > _MAX_ISSUES_PER_CHECK:
            self.items.append(
                Issue(
                    f"... {len(positions) - _MAX_ISSUES_PER_CHECK} more rows: {message}",
                    file=self.source,
                    layer=self.layer,
                    column=column,
                )
            )


def _map_columns(
    columns: Sequence[str],
    spec: LayerSpec,
    mapping: Mapping[str, str],
    id_columns: Sequence[str],
) -> tuple[dict[str, str], list[str]]:
    """Return {file column: layer field} and the file columns left unused."""
    result: dict[str, str] = {}
    for src, dst in mapping.items():
        if dst not in spec.field_names:
            raise ValidationError(
                f"--map {src}={dst}: layer {spec.name!r} has no column {dst!r}; "
                f"its columns are {spec.field_names}"
            )
        if src not in columns:
            raise ValidationError(
                f"--map {src}={dst}: the file has no column {src!r}; its columns are {list(columns)}"
            )
        result[src] = dst
    if len(id_columns) == 1:
        if id_columns[0] not in columns:
            raise ValidationError(
                f"--id-column {id_columns[0]}: the file has no such column; its columns are {list(columns)}"
            )
        result[id_columns[0]] = "code"
    taken = set(result.values())
    lower = {c.lower(): c for c in columns if c not in result}
    for f in spec.fields:
        if f.name in taken:
            continue
        singular = spec.name[:-1] if spec.name != "communities" else "community"
        extra = (f"{singular}_code", f"{singular}_id") if f.name == "code" else ()
        for candidate in (f.name, *extra, *ALIASES.get(f.name, ())):
            col = lower.get(candidate.lower())
            if col is not None and col not in result:
                result[col] = f.name
                taken.add(f.name)
                break
    geometry = {"geometry"}
    unused = [c for c in columns if c not in result and c not in geometry]
    return result, unused


def prepare_layer(
    frame: pd.DataFrame,
    layer: str,
    *,
    source: str | None = None,
    rows: np.ndarray | None = None,
    mapping: Mapping[str, str] | None = None,
    id_columns: Sequence[str] = (),
    generate_ids: str | None = None,
    repair: bool = False,
    timezone: str | None = None,
) -> Prepared:
    """Check a frame read from a file and turn it into the layer's frame.

    Parameters
    ----------
    frame
        What :func:`gridgeo.io.read_file` read (geometry already in EPSG:4326).
    layer
        The target layer.
    source
        File name for messages.
    rows
        Row numbers as the user sees them (defaults to 1, 2, ...).
    mapping
        ``{file column: layer column}`` applied before the usual names are tried.
    id_columns
        Column(s) holding the code; with several, the first non-empty one is used
        (OSM files keep ways and relations in ``osm_way_id`` and ``osm_id``).
    generate_ids
        No code column: number the rows as ``PREFIX1, PREFIX2, ...`` (stable for
        the same file, so re-importing it updates instead of duplicating).
    repair
        Fix invalid polygons with ``make_valid`` instead of refusing them.
    timezone
        Time zone of times without an offset (default: the configured one).

    Returns
    -------
    Prepared

    Raises
    ------
    ValidationError
        With one issue per problem found (all of them, not only the first).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> f = gpd.GeoDataFrame({"id": ["G1"]}, geometry=[shapely.box(0, 0, 1, 1)], crs=4326)
    >>> prepare_layer(f, "grids").frame.columns.tolist()
    ['code', 'name', 'community', 'geometry', '_row']
    """
    spec = get_layer(layer)
    n = len(frame)
    rows = np.arange(1, n + 1) if rows is None else np.asarray(rows)
    columns = [c for c in frame.columns if c != getattr(frame, "_geometry_column_name", None)]
    id_columns = [c.strip() for c in id_columns if c.strip()]
    missing_ids = [c for c in id_columns if c not in columns]
    if missing_ids:
        raise ValidationError(
            Issue(
                f"--id-column names no column of the file: {missing_ids}; its columns are {columns}",
                file=source,
            )
        )
    if generate_ids and id_columns:
        raise ValidationError("give either --id-column or --generate-ids, not both")
    colmap, unused = _map_columns(columns, spec, mapping or {}, id_columns)
    if generate_ids:
        colmap = {src: dst for src, dst in colmap.items() if dst != "code"}
        unused = [c for c in columns if c not in colmap and c != "geometry"]
    out = pd.DataFrame(index=pd.RangeIndex(n))
    for src, dst in colmap.items():
        out[dst] = frame[src].reset_index(drop=True)
    if len(id_columns) > 1:
        code = pd.Series([None] * n, dtype=object)
        for col in id_columns:
            vals = as_text(frame[col].reset_index(drop=True))
            code = code.where(code.notna(), vals)
        out["code"] = code
        unused = [c for c in unused if c not in id_columns]
    if generate_ids:
        out["code"] = [f"{generate_ids}{r}" for r in rows]
    elif "code" not in out:
        raise ValidationError(
            Issue(
                f"no code column found (looked for code, id, 编号 and {spec.name[:-1]}_id)",
                file=source,
                layer=spec.name,
                hint=f"name it with --id-column COL (its columns are {columns}), "
                "or number the rows with --generate-ids PREFIX",
            )
        )
    out["code"] = as_text(out["code"])
    issues = _Issues(source, spec.name, rows, out["code"])

    if spec.name == "assignments" and "kind" not in out:
        out["kind"] = _infer_assignment_kind(out, issues)

    missing = [f.name for f in spec.fields if f.required and f.name not in out]
    if missing:
        raise ValidationError(
            Issue(
                f"required column(s) {missing} not found",
                file=source,
                layer=spec.name,
                hint=f"the file's columns are {columns}; map one with --map FILE_COLUMN={missing[0]}",
            )
        )
    tz = ZoneInfo(timezone or get_settings().timezone)
    for f in spec.fields:
        if f.name in out:
            out[f.name] = _convert(out[f.name], f, issues, tz)
        else:
            out[f.name] = _empty(f, n)
    _check_codes(out["code"], issues)
    if spec.name == "assignments":
        _check_assignment_shape(out, issues)
    if spec.name == "problems":
        _check_problem_lifecycle(out, issues)

    prepared = Prepared(
        out,
        spec.name,
        n,
        ignored_columns=unused,
        mapped_columns={k: v for k, v in colmap.items() if k != v},
    )
    result: pd.DataFrame = out[spec.field_names]
    if spec.geometry:
        geoms, repaired = _check_geometry(frame, spec, issues, repair)
        prepared.repaired = repaired
        if repaired:
            prepared.notes.append(
                f"repaired {repaired} invalid geometr{'y' if repaired == 1 else 'ies'} with make_valid"
            )
        result = gpd.GeoDataFrame(result, geometry=gpd.GeoSeries(geoms, crs=4326), crs=4326)
    elif isinstance(frame, gpd.GeoDataFrame) and frame.geometry.notna().any():
        prepared.notes.append(f"layer {spec.name} has no geometry: the file's geometry is ignored")
    if issues.items:
        raise ValidationError(
            issues.items,
            summary=f"{source or spec.name}: {len(issues.items)} problem(s), nothing was imported:",
        )
    result[ROW_COLUMN] = rows
    prepared.frame = result
    return prepared


def as_text(values: pd.Series) -> pd.Series:
    """Values as trimmed strings; empty → None. Whole floats lose their '.0'."""

    def conv(v: object) -> object:
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT:
            return None
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        text = str(v).strip()
        return text or None

    return pd.Series([conv(v) for v in values], index=values.index, dtype=object)


def _empty(f: Field, n: int) -> pd.Series:
    if f.kind == "int":
        return pd.Series(pd.array([pd.NA] * n, dtype="Int64"))
    if f.kind == "date":
        return pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    if f.kind == "datetime":
        return pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns, UTC]")
    return pd.Series([None] * n, dtype=object)


def _convert(values: pd.Series, f: Field, issues: _Issues, tz: ZoneInfo) -> pd.Series:
    text = as_text(values)
    present = text.notna().to_numpy()
    if f.required:
        issues.each(
            np.flatnonzero(~present),
            "empty value in a required column",
            column=f.name,
            hint="fill it in",
        )
    if f.kind == "int":
        num = pd.to_numeric(text, errors="coerce")
        bad = present & (num.isna() | (num % 1 != 0)).to_numpy()
        issues.each(np.flatnonzero(bad), "not a whole number", column=f.name, values=text)
        neg = present & ~bad & (num < 0).to_numpy()
        issues.each(np.flatnonzero(neg), "must not be negative", column=f.name, values=text)
        return pd.Series(
            pd.array(num.where(~pd.Series(bad)), dtype="Float64").round().astype("Int64")
        )
    if f.kind in ("date", "datetime"):
        return _parse_times(values, text, present, f, issues, tz)
    if f.choices:
        bad = present & ~text.isin(f.choices).to_numpy()
        issues.each(
            np.flatnonzero(bad),
            "unknown value",
            column=f.name,
            values=text,
            hint=f"use one of {', '.join(f.choices)}",
        )
    return text


_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})$"


def _parse_times(
    values: pd.Series, text: pd.Series, present: np.ndarray, f: Field, issues: _Issues, tz: ZoneInfo
) -> pd.Series:
    """Parse dates/times; times without an offset are local time in ``tz``; result in UTC."""
    values = values.reset_index(drop=True)
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        parsed = values.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_any_dtype(values.dtype):
        parsed = values.dt.tz_localize(
            tz, ambiguous="NaT", nonexistent="shift_forward"
        ).dt.tz_convert("UTC")
    else:
        parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
        objs = values.map(lambda v: isinstance(v, dt.date)).to_numpy(dtype=bool)  # Excel cells
        if objs.any():
            parsed[objs] = _localize(pd.to_datetime(values[objs].astype(object)), tz)
        strings = present & ~objs
        if strings.any():
            sub = text[strings]
            aware = sub.str.contains(_OFFSET, regex=True).to_numpy(dtype=bool)
            got = pd.Series(pd.NaT, index=sub.index, dtype="datetime64[ns, UTC]")
            if aware.any():
                got[aware] = pd.to_datetime(sub[aware], errors="coerce", format="ISO8601", utc=True)
            if (~aware).any():
                naive = pd.to_datetime(sub[~aware], errors="coerce", format="ISO8601")
                for fmt in _DATE_FORMATS + _TIME_FORMATS:
                    miss = naive.isna()
                    if not miss.any():
                        break
                    naive[miss] = pd.to_datetime(sub[~aware][miss], errors="coerce", format=fmt)
                got[~aware] = _localize(naive, tz)
            parsed[strings] = got
    bad = present & parsed.isna().to_numpy()
    example = "2026-03-09" if f.kind == "date" else "2026-03-09 14:30 or 2026-03-09T14:30:00+08:00"
    issues.each(
        np.flatnonzero(bad),
        f"unparseable {'date' if f.kind == 'date' else 'time'}",
        column=f.name,
        values=text,
        hint=f"write it like {example}",
    )
    if f.kind == "date":
        return parsed.dt.tz_convert(tz).dt.tz_localize(None).dt.normalize().astype("datetime64[ns]")
    return parsed.astype("datetime64[ns, UTC]")


def _localize(naive: pd.Series, tz: ZoneInfo) -> pd.Series:
    naive = pd.to_datetime(naive)
    if isinstance(naive.dtype, pd.DatetimeTZDtype):
        return naive.dt.tz_convert("UTC")
    return naive.dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward").dt.tz_convert(
        "UTC"
    )


def _check_codes(codes: pd.Series, issues: _Issues) -> None:
    dup = codes.duplicated(keep=False) & codes.notna()
    if not dup.any():
        return
    for code, group in codes[dup].groupby(codes[dup], sort=False):
        where = ", ".join(str(int(issues.rows[p])) for p in group.index[:10])
        more = f" and {len(group) - 10} more" if len(group) > 10 else ""
        issues.add(
            f"duplicate code {code!r} in rows {where}{more}",
            column="code",
            hint="codes must be unique: keep one row per code, or fix the codes",
        )
        if len(issues.items) > _MAX_ISSUES_PER_CHECK * 2:
            break


def _infer_assignment_kind(out: pd.DataFrame, issues: _Issues) -> pd.Series:
    filled = {
        c: out[c].notna() if c in out else pd.Series(False, index=out.index)
        for c in ("member", "organisation", "community", "grid", "building", "household")
    }
    kind = pd.Series([None] * len(out), dtype=object)
    kind[filled["member"] & filled["household"]] = "member_household"
    kind[filled["member"] & filled["building"] & kind.isna()] = "member_building"
    kind[filled["organisation"] & filled["grid"] & kind.isna()] = "organisation_grid"
    kind[filled["member"] & filled["grid"] & kind.isna()] = "worker_grid"
    kind[filled["member"] & filled["community"] & kind.isna()] = "leader_community"
    issues.each(
        np.flatnonzero(kind.isna().to_numpy()),
        "cannot tell what is assigned to whom",
        column="kind",
        hint="give a kind column (" + ", ".join(ASSIGNMENT_KINDS) + ") or fill member and "
        "building/household/grid/community, or organisation and grid",
    )
    return kind


def _check_assignment_shape(out: pd.DataFrame, issues: _Issues) -> None:
    refs = ("member", "organisation", "community", "grid", "building", "household")
    for kind, (subject, target) in ASSIGNMENT_KINDS.items():
        rows = (out["kind"] == kind).to_numpy()
        if not rows.any():
            continue
        need = {subject.removesuffix("_id"), target.removesuffix("_id")}
        for col in refs:
            filled = out[col].notna().to_numpy()
            if col in need:
                issues.each(
                    np.flatnonzero(rows & ~filled), f"a {kind} assignment needs a {col}", column=col
                )
            else:
                issues.each(
                    np.flatnonzero(rows & filled),
                    f"a {kind} assignment must leave {col} empty",
                    column=col,
                    values=out[col],
                    hint="use one row per assignment",
                )
    vf, vt = out["valid_from"], out["valid_to"]
    bad = (vt.notna() & vf.notna() & (vt < vf)).to_numpy()
    issues.each(
        np.flatnonzero(bad),
        "valid_to is before valid_from",
        column="valid_to",
        values=vt.dt.strftime("%Y-%m-%d"),
    )


def _check_problem_lifecycle(out: pd.DataFrame, issues: _Issues) -> None:
    status = out["status"].where(out["status"].notna(), "open")
    out["status"] = status
    need = {"resolved_on_site": "resolved_at", "escalated": "escalated_at", "closed": "closed_at"}
    for state, col in need.items():
        bad = ((status == state) & out[col].isna()).to_numpy()
        issues.each(np.flatnonzero(bad), f"status {state} needs {col}", column=col)
    closed = (status == "closed").to_numpy()
    neither = closed & (out["resolved_at"].isna() & out["escalated_at"].isna()).to_numpy()
    issues.each(
        np.flatnonzero(neither),
        "a closed problem needs resolved_at (solved on the spot) or escalated_at",
        column="status",
    )
    for col in ("closed_at", "feedback_at", "resolved_at", "escalated_at"):
        bad = (
            out[col].notna() & out["reported_at"].notna() & (out[col] < out["reported_at"])
        ).to_numpy()
        issues.each(np.flatnonzero(bad), f"{col} is before reported_at", column=col)


_POLY = {"Polygon", "MultiPolygon"}


def _check_geometry(
    frame: pd.DataFrame, spec: LayerSpec, issues: _Issues, repair: bool
) -> tuple[np.ndarray, int]:
    n = len(frame)
    if not isinstance(frame, gpd.GeoDataFrame):
        if spec.geometry_required:
            issues.add(
                f"no geometry: {spec.name} need {spec.geometry.lower()}s",  # type: ignore[union-attr]
                hint="give a spatial file (GeoPackage, Shapefile, GeoJSON) or a WKT column",
            )
        return np.full(n, None, dtype=object), 0
    geoms = np.asarray(frame.geometry.values, dtype=object)
    geoms = shapely.force_2d(geoms)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if spec.geometry_required:
        issues.each(
            np.flatnonzero(missing),
            "empty geometry",
            column="geometry",
            hint="draw the feature or remove the row",
        )
    geoms = np.where(missing, None, geoms)
    types = shapely.get_type_id(geoms)
    polygonal = spec.geometry == "MultiPolygon"
    if polygonal:
        ok_type = np.isin(types, (3, 6)) | missing
        wrong = np.flatnonzero(~ok_type)
        for pos in wrong[:_MAX_ISSUES_PER_CHECK]:
            issues.add(
                f"wrong geometry type {geoms[pos].geom_type}, expected a polygon",
                pos=int(pos),
                column="geometry",
                hint=f"{spec.name} are polygons; check that the right file or layer was given",
            )
        if len(wrong) > _MAX_ISSUES_PER_CHECK:
            issues.add(
                f"... {len(wrong) - _MAX_ISSUES_PER_CHECK} more rows with the wrong geometry type"
            )
        valid = shapely.is_valid(geoms) | missing | ~ok_type
        invalid = np.flatnonzero(~valid)
        repaired = 0
        if len(invalid) and repair:
            fixed = shapely.make_valid(geoms[invalid])
            fixed = np.array([_polygonal(g) for g in fixed], dtype=object)
            empty = shapely.is_empty(fixed) | shapely.is_missing(fixed)
            for pos in invalid[empty][:_MAX_ISSUES_PER_CHECK]:
                issues.add(
                    "invalid polygon with no area left after repair",
                    pos=int(pos),
                    column="geometry",
                    hint="redraw the feature or remove the row",
                )
            geoms[invalid] = fixed
            repaired = int((~empty).sum())
        elif len(invalid):
            for pos in invalid[:_MAX_ISSUES_PER_CHECK]:
                issues.add(
                    f"invalid polygon: {shapely.is_valid_reason(geoms[pos])}",
                    pos=int(pos),
                    column="geometry",
                    hint="re-run with --repair to fix it with make_valid, or redraw it",
                )
            if len(invalid) > _MAX_ISSUES_PER_CHECK:
                issues.add(
                    f"... {len(invalid) - _MAX_ISSUES_PER_CHECK} more invalid polygons; "
                    "re-run with --repair to fix them with make_valid"
                )
        single = shapely.get_type_id(geoms) == 3
        if single.any():
            k = int(single.sum())
            geoms[single] = shapely.multipolygons(geoms[single], indices=np.arange(k))
        return geoms, repaired
    # points
    multi = np.flatnonzero(types == 4)
    for pos in multi:
        if shapely.get_num_geometries(geoms[pos]) == 1:
            geoms[pos] = shapely.get_geometry(geoms[pos], 0)
    types = shapely.get_type_id(geoms)
    wrong = np.flatnonzero((types != 0) & ~missing)
    for pos in wrong[:_MAX_ISSUES_PER_CHECK]:
        issues.add(
            f"wrong geometry type {geoms[pos].geom_type}, expected a point",
            pos=int(pos),
            column="geometry",
            hint=f"{spec.name} are located by points",
        )
    return geoms, 0


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygonal part of a make_valid result (lines and points dropped)."""
    if geom.geom_type in _POLY:
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in _POLY]
    polys = [p for g in parts for p in shapely.get_parts(g)]
    return shapely.MultiPolygon(polys) if polys else shapely.MultiPolygon()
