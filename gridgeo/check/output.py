"""What the check found, as files: a GeoPackage layer and a workbook sheet per result."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd

from gridgeo.analysis.summary import finding_count
from gridgeo.errors import ValidationError
from gridgeo.layers import names_by_code
from gridgeo.sheets import write_sheets

__all__ = [
    "GROUPED_LAYERS",
    "LISTED_COLUMNS",
    "NAMED_COLUMNS",
    "PLACED_LAYERS",
    "headings",
    "result_names",
    "summary_counts",
    "with_geometries",
    "with_names",
    "write_results",
]

#: code column -> the layer whose names go beside it (as ``<column>_name``)
NAMED_COLUMNS = {
    "grid_id": "grids",
    "grid_a": "grids",
    "grid_b": "grids",
    "community": "communities",
    "community_id": "communities",
    "member_id": "members",
    "organisation_id": "organisations",
    "building_id": "buildings",
}
#: column of comma-separated codes -> the layer whose names go beside it (``<column>_names``)
LISTED_COLUMNS = {
    "grids": "grids",
    "grid_ids": "grids",
    "members": "members",
    "fallback": "members",
    "organisations": "organisations",
}
#: result layer without geometry -> (its key column, the layer whose shape it takes)
PLACED_LAYERS = {
    "summary_communities": ("community", "communities"),
    "visit_share_communities": ("group", "communities"),
    "visit_share_grids": ("group", "grids"),
    "weekly_visit_share": ("group", "grids"),
    "grid_communities": ("code", "grids"),
    "building_grid": ("building_id", "buildings"),
}
#: result layers about places: map layers in the GeoPackage even on a day without rows
MAP_LAYERS = frozenset(
    {
        "gaps",
        "overlaps",
        "straddling_buildings",
        "buildings_outside",
        "unassigned_buildings",
        "multi_assigned_buildings",
        "summary_grids",
        "summary_district",
        *PLACED_LAYERS,
    }
)
#: result layer -> the layer its ``group`` column holds codes of
GROUPED_LAYERS = {
    "visit_share_grids": "grids",
    "visit_share_communities": "communities",
    "weekly_visit_share": "grids",
}


def result_names(
    frames: Mapping[str, pd.DataFrame | None], *, members: bool
) -> dict[str, dict[str, str]]:
    """Code -> name of the grids, communities, organisations, buildings and members.

    Grids, communities and organisations by their display name
    (:func:`gridgeo.layers.names_by_code`); buildings by their address; members by
    their names only when ``members`` (the caller is entitled to personal data).

    Examples
    --------
    >>> frames = {"grids": pd.DataFrame({"code": ["G1"], "name": ["第1网格"]}),
    ...           "buildings": pd.DataFrame({"code": ["B1"], "address": ["龙华北路13号"]}),
    ...           "members": pd.DataFrame({"code": ["M1"], "name": ["郭慧"]})}
    >>> result_names(frames, members=False)
    {'grids': {'G1': '第1网格'}, 'buildings': {'B1': '龙华北路13号'}}
    """
    names = {}
    for layer in ("grids", "communities", "organisations"):
        if (found := names_by_code(frames.get(layer))) and layer in frames:
            names[layer] = found
    for layer, column in (("buildings", "address"), ("members", "name")):
        frame = frames.get(layer)
        if frame is None or column not in frame.columns or (layer == "members" and not members):
            continue
        known = frame.dropna(subset=[column])
        names[layer] = dict(zip(known["code"].astype(str), known[column].astype(str), strict=True))
    return {k: v for k, v in names.items() if v}


def summary_counts(results: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per result layer: how many findings it has, and of which rules.

    The count is :func:`gridgeo.analysis.summary.finding_count`: the district's figure
    for the layers it counts (each building once), else the layer's rows.

    Examples
    --------
    >>> r = {"gaps": pd.DataFrame({"rule": ["R1", "R2", "R1"]}), "building_grid": pd.DataFrame()}
    >>> summary_counts(r).values.tolist()
    [['gaps', 3, 'R1, R2', ''], ['building_grid', 0, '', '']]

    Layers the inputs did not allow (``results.not_computed``) follow, with no count
    and why (e.g. ``no assignments in the inputs``), never a 0.
    """
    rows = []
    for name, frame in results.items():
        rule = ""
        if "rule" in frame.columns and len(frame):
            rule = ", ".join(sorted(set(frame["rule"].dropna().astype(str))))
        count = int(finding_count(results, name))
        rows.append({"layer": name, "rows": count, "rules": rule, "not_computed": ""})
    for name, reason in getattr(results, "not_computed", {}).items():
        rows.append({"layer": name, "rows": None, "rules": "", "not_computed": reason})
    return pd.DataFrame(rows)


def with_names(
    results: Mapping[str, pd.DataFrame], names: Mapping[str, Mapping[str, str]]
) -> dict[str, pd.DataFrame]:
    """Each result with the names of the grids, communities, buildings and members it refers to.

    ``names`` is layer -> code -> name (:func:`result_names`); a ``<column>_name``
    column goes right after each code column of :data:`NAMED_COLUMNS` (and after the
    ``group`` of :data:`GROUPED_LAYERS`), a ``<column>_names`` after each list of codes
    of :data:`LISTED_COLUMNS`, and a ``name`` after the code of ``summary_grids``. A
    column none of whose codes has a name is not added.

    Examples
    --------
    >>> r = {"overlaps": pd.DataFrame({"grid_a": ["G1"], "grid_b": ["G2"]}),
    ...      "gaps": pd.DataFrame({"grids": ["G1,G2"]})}
    >>> named = with_names(r, {"grids": {"G1": "第1网格", "G2": "第2网格"}})
    >>> named["overlaps"].columns.tolist()
    ['grid_a', 'grid_a_name', 'grid_b', 'grid_b_name']
    >>> named["gaps"]["grids_names"].tolist()
    ['第1网格,第2网格']
    """
    out = {}
    for layer, frame in results.items():
        frame = frame.copy()
        for col, (kind, label, listed) in _name_columns(layer, frame).items():
            by_code = names.get(kind)
            if not by_code or label in frame.columns:
                continue
            values = frame[col].astype("string")
            if listed:
                named = values.map(lambda v, b=by_code: _listed(v, b)).astype(object)
            else:
                named = values.map(dict(by_code)).astype(object)
            if frame.empty or named.notna().any():
                frame.insert(list(frame.columns).index(col) + 1, label, named)
        out[layer] = frame
    return out


def _name_columns(layer: str, frame: pd.DataFrame) -> dict[str, tuple[str, str, bool]]:
    """Code column -> (the layer it refers to, its name column, whether it lists codes)."""
    columns = {c: (k, f"{c}_name", False) for c, k in NAMED_COLUMNS.items() if c in frame}
    columns |= {c: (k, f"{c}_names", True) for c, k in LISTED_COLUMNS.items() if c in frame}
    if layer in GROUPED_LAYERS and "group" in frame.columns:
        columns["group"] = (GROUPED_LAYERS[layer], "group_name", False)
    if layer == "summary_grids" and "code" in frame.columns:
        columns["code"] = ("grids", "name", False)
    return columns


def _listed(value: object, by_code: Mapping[str, str]) -> str | None:
    """The names of a comma-separated list of codes (None: none known)."""
    if not isinstance(value, str) or not value:
        return None
    codes = [c.strip() for c in value.split(",")]
    if not any(c in by_code for c in codes):
        return None
    return ",".join(by_code.get(c, c) for c in codes)


def with_geometries(
    results: Mapping[str, pd.DataFrame],
    communities: pd.DataFrame | None = None,
    buildings: pd.DataFrame | None = None,
) -> dict[str, pd.DataFrame]:
    """Each result without geometry that is about a place, with that place's shape.

    ``summary_communities`` and ``visit_share_communities`` take the ``communities``
    polygons by code, or else the union of each community's grids; ``summary_district``
    the union of all grids; the layers of :data:`PLACED_LAYERS` the polygon of the grid
    or building their key column names (buildings from ``buildings``). Layers about
    members or organisations stay attribute tables.
    """
    out = dict(results)
    grids = results.get("summary_grids")
    if not isinstance(grids, gpd.GeoDataFrame):
        return out
    shapes = {"grids": grids.set_index(grids["code"].astype(str)).geometry}
    if isinstance(communities, gpd.GeoDataFrame) and "code" in communities:
        shapes["communities"] = communities.set_index(communities["code"].astype(str)).geometry
    else:
        shapes["communities"] = grids.dissolve(
            by=grids["community"].astype(object).fillna("")
        ).geometry
    if isinstance(buildings, gpd.GeoDataFrame) and "code" in buildings:
        shapes["buildings"] = buildings.set_index(buildings["code"].astype(str)).geometry
    for layer, (key, kind) in PLACED_LAYERS.items():
        frame = out.get(layer)
        if frame is None or isinstance(frame, gpd.GeoDataFrame) or key not in frame.columns:
            continue
        if kind in shapes:
            # a code given twice (reported as an input issue) takes its first shape
            by_code = shapes[kind][~shapes[kind].index.duplicated()]
            keys = frame[key].astype(object).fillna("").astype(str)
            geometry = [by_code.get(k) for k in keys]
            out[layer] = gpd.GeoDataFrame(frame, geometry=geometry, crs=grids.crs)
    district = results.get("summary_district")
    if district is not None and not isinstance(district, gpd.GeoDataFrame):
        outline = grids.geometry.union_all() if len(grids) else None
        out["summary_district"] = gpd.GeoDataFrame(
            district, geometry=[outline] * len(district), crs=grids.crs
        )
    return out


def write_results(
    results: Mapping[str, pd.DataFrame],
    out: Path,
    *,
    lang: str = "en",
    names: Mapping[str, Mapping[str, str]] | None = None,
    communities: pd.DataFrame | None = None,
    buildings: pd.DataFrame | None = None,
) -> tuple[Path, Path]:
    """Write every result as a layer of a GeoPackage and a sheet of an XLSX beside it.

    Results about places take the places' shapes (:func:`with_geometries`: the area
    summaries, visit shares by grid or community, building-grid pairs); the others
    (about members and organisations) become GeoPackage attribute tables. The workbook has a
    ``summary`` sheet (:func:`summary_counts`) and a sheet per result, without
    geometries (the GeoPackage has them) and with times in UTC without their offset
    (Excel has no time zones).

    Parameters
    ----------
    results
        Result layers by name, as :func:`~gridgeo.check.run_check` returns them.
    out
        The ``.gpkg`` to write (replaced if it exists); the ``.xlsx`` goes beside it.
    lang
        ``en`` or ``zh``: the workbook's sheet names and column headings
        (``headings.toml``) and the GeoPackage's field titles and descriptions
        (:func:`gridgeo.io.columns.describe_geopackage`, which QGIS shows as aliases
        and comments); the GeoPackage keeps the layer and column names.
    names
        Layer -> code -> name, put beside the codes (:func:`with_names`).
    communities, buildings
        The community and building polygons, for the results about them
        (:func:`with_geometries`).

    Returns
    -------
    tuple of Path
        The GeoPackage and the workbook.

    Raises
    ------
    ValidationError
        ``out`` is not a ``.gpkg`` path, or ``lang`` is not ``en`` or ``zh``.
    """
    import pyogrio

    from gridgeo.io.columns import describe_geopackage

    out = Path(out)
    if out.suffix.lower() != ".gpkg":
        raise ValidationError(f"--out {out}: give a .gpkg path (the .xlsx is written beside it)")
    if lang not in ("en", "zh"):
        raise ValidationError(f"--lang {lang}: use zh or en")
    words = headings(lang)
    counts = summary_counts(results)
    layers = with_geometries(with_names(results, names or {}), communities, buildings)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    xlsx = out.with_suffix(".xlsx")
    for name, frame in layers.items():
        if isinstance(frame, gpd.GeoDataFrame) and (
            frame.geometry.notna().any() or (frame.empty and name in MAP_LAYERS)
        ):
            pyogrio.write_dataframe(frame, out, layer=name, driver="GPKG", **_geometry_type(frame))
        else:
            table = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
            pyogrio.write_dataframe(table, out, layer=name, driver="GPKG")
    describe_geopackage(out, lang, words.get("columns"))
    values = words.get("values", {})
    sheets = {"summary": counts, **layers}
    if values:
        sheets = {n: _translated(f, values) for n, f in sheets.items()}
    write_sheets(
        sheets,
        xlsx,
        geometry="omit",
        headings=words.get("columns"),
        sheet_names=words.get("sheets"),
    )
    return out, xlsx


def headings(lang: str) -> dict[str, dict[str, str]]:
    """The words of the files gridgeo writes, in ``lang``.

    ``sheets`` (sheet names), ``columns`` (column headings and field titles) and
    ``values`` (explanations); none for ``en``, whose files keep the names.
    """
    from gridgeo.render.templates import messages

    return messages("gridgeo.check", "headings.toml").get(lang, {})


def _geometry_type(frame: gpd.GeoDataFrame) -> dict[str, object]:
    """How a layer's geometry type is declared, so that QGIS opens it as one map layer.

    Polygons mixed with multipolygons are written as multipolygons (a GeoPackage could
    hold both, but QGIS then splits the layer in two); a layer without rows keeps its
    geometry column (``Unknown`` type), so it is a map layer whatever the day's findings.
    """
    kinds = {t.removeprefix("Multi") for t in frame.geom_type.dropna().unique()}
    if not kinds:
        return {"geometry_type": "Unknown"}
    return {"promote_to_multi": len(kinds) == 1 and frame.geom_type.nunique() > 1}


def _translated(frame: pd.DataFrame, values: Mapping[str, str]) -> pd.DataFrame:
    """The frame with the explanations it carries (``attribution``, ``not_computed``) translated."""
    cols = [c for c in ("attribution", "not_computed") if c in frame.columns]
    if not cols:
        return frame
    frame = frame.copy()
    for col in cols:
        frame[col] = frame[col].map(lambda v: values.get(v, v) if isinstance(v, str) else v)
    return frame
