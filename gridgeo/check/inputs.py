"""The check's inputs: from a store, or straight from a planner's files.

Two shapefiles and an Excel sheet are enough. Files are read leniently: a duplicate
code or an invalid polygon is not a reason to refuse the check, it is one of the
things the check reports (:attr:`Inputs.input_findings`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgeo.analysis.findings import findings
from gridgeo.errors import ValidationError
from gridgeo.io import read_file
from gridgeo.layers import LAYERS
from gridgeo.store import Store
from gridgeo.store.base import ROW_COLUMN
from gridgeo.validate import ALIASES, as_text, prepare_layer

__all__ = [
    "CHECK_READS",
    "Inputs",
    "inputs_from_store",
    "members_named_by",
    "organisations_named_by",
    "read_inputs",
    "stand_in_households",
]


@dataclass
class Inputs:
    """The frames a check runs on (only grids and buildings are required)."""

    grids: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    layers: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: findings about the inputs themselves (duplicate codes, repaired geometries)
    input_findings: list[gpd.GeoDataFrame] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)


def _code_column(frame: pd.DataFrame, layer: str) -> str | None:
    """The column holding a layer's codes, by the usual names (``code``, ``id``, ``编号``...)."""
    singular = "community" if layer == "communities" else layer[:-1]
    names = ["code", "id", f"{singular}_id", f"{singular}_code", *ALIASES["code"]]
    lower = {str(c).lower(): c for c in frame.columns}
    return next((lower[n.lower()] for n in names if n.lower() in lower), None)


def _codes(frame: pd.DataFrame, column: str | None, kind: str, path: Path) -> pd.Series:
    if column and column not in frame.columns:
        raise ValidationError(
            f"{path.name}: no column {column!r}; its columns are {list(frame.columns)}"
        )
    col = column or _code_column(frame, f"{kind}s")
    if col is None:
        return pd.Series([f"{kind[0].upper()}{i + 1}" for i in range(len(frame))], dtype=object)
    text = as_text(frame[col].reset_index(drop=True))
    missing = text.isna()
    if missing.any():
        text[missing] = [f"{kind[0].upper()}-row{r + 1}" for r in np.flatnonzero(missing)]
    return text


#: issue -> rule (grids, buildings), severity, Chinese and English text of an input finding
_INPUT_ISSUES = {
    "invalid_geometry": (
        ("R1", "R6"),
        "warning",
        "多边形无效（自相交），已用 make_valid 修复后参与分析",
        "invalid (self-intersecting) polygon, repaired with make_valid for the check",
    ),
    "duplicate_code": (
        ("R2", "R7"),
        "error",
        "编号重复：同一编号出现在多行（{name}未合并）",
        "duplicate {kind} id: the same code is on several rows (not merged)",
    ),
}


def _input_issue(
    issue: str,
    kind: str,
    rows: np.ndarray,
    codes: pd.Series,
    geoms: np.ndarray,
    numbers: np.ndarray,
) -> gpd.GeoDataFrame:
    """Findings about the ``rows`` of a grids or buildings file (``numbers``: their rows in it)."""
    rules, severity, zh, en = _INPUT_ISSUES[issue]
    return findings(
        rules[0] if kind == "grid" else rules[1],
        severity,
        f"{kind}s",
        codes[rows],
        zh.format(name="网格" if kind == "grid" else "楼栋"),
        en.format(kind=kind),
        geometry=geoms[rows],
        extra=pd.DataFrame({"issue": issue, "row": numbers[rows]}),
    )


def _polygons(
    path: Path, kind: str, id_column: str | None, crs: str | None
) -> tuple[gpd.GeoDataFrame, list[gpd.GeoDataFrame]]:
    read = read_file(path, crs=crs, target=f"{kind}s")
    frame = read.frame
    if not isinstance(frame, gpd.GeoDataFrame):
        raise ValidationError(f"{path.name}: no geometry; {kind}s must be polygons")
    codes = _codes(frame, id_column, kind, path)
    geoms = shapely.force_2d(np.asarray(frame.geometry.values, dtype=object))
    notes: list[gpd.GeoDataFrame] = []
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    invalid = ~empty & ~shapely.is_valid(geoms)
    if invalid.any():
        notes.append(_input_issue("invalid_geometry", kind, invalid, codes, geoms, read.rows))
        geoms[invalid] = shapely.make_valid(geoms[invalid])
    dup = codes.duplicated(keep=False).to_numpy()
    if dup.any():
        notes.append(_input_issue("duplicate_code", kind, dup, codes, geoms, read.rows))
    keep = ~empty
    attributes = pd.DataFrame(frame.drop(columns=frame.geometry.name)).loc[keep]
    attributes = attributes.drop(columns=[c for c in ("code", "row") if c in attributes])
    out = gpd.GeoDataFrame(
        {"code": codes[keep].to_numpy(), "row": read.rows[keep]},
        geometry=gpd.GeoSeries(geoms[keep], crs=4326),
        crs=4326,
    )
    for col in attributes.columns:
        out[col] = attributes[col].to_numpy()
    return out, notes


def read_inputs(
    *,
    grids: Path,
    buildings: Path,
    grid_id: str | None = None,
    building_id: str | None = None,
    crs: str | None = None,
    extra: Mapping[str, Path | None] | None = None,
) -> Inputs:
    """Read a check's inputs from files.

    Grids and buildings may have duplicate codes and invalid polygons: both are
    reported as findings (invalid polygons are repaired for the analysis), never
    merged or silently dropped. Further layers (communities, district, assignments,
    visits, mask) are read as they are.
    """
    grid_frame, notes = _polygons(Path(grids), "grid", grid_id, crs)
    building_frame, more = _polygons(Path(buildings), "building", building_id, crs)
    inputs = Inputs(grid_frame, building_frame, input_findings=notes + more)
    inputs.sources = {"grids": str(grids), "buildings": str(buildings)}
    for name, path in (extra or {}).items():
        if path is None:
            continue
        read = read_file(path, crs=crs, target=name)
        frame = read.frame
        if name in LAYERS:
            frame = prepare_layer(
                frame,
                name,
                source=read.name,
                rows=read.rows,
                generate_ids=None if _code_column(frame, name) else f"{name[0].upper()}-",
            ).frame.drop(columns=ROW_COLUMN)
        inputs.layers[name] = frame
        inputs.sources[name] = str(path)
    return inputs


#: What the check reads of each layer: ``(columns, geometry)``; None = every column.
CHECK_READS: dict[str, tuple[list[str] | None, bool]] = {
    "communities": (None, True),
    "grids": (None, True),
    "buildings": (None, True),
    "households": (["building"], False),
    "organisations": (None, False),
    "members": (None, False),
    "assignments": (None, False),
    "visits": (["member", "household", "building", "visited_at"], False),
    "meetings": (None, False),
}


def inputs_from_store(store: Store) -> Inputs:
    """The layers of a store that the check uses, as its inputs.

    Only the columns the analyses use are read (:data:`CHECK_READS`): no visit
    notes, no household or visit points and no problems, which on a city's
    10,000,000 visits is most of the reading time and memory.
    """
    layers = {
        name: store.read_layer(name, columns=columns, geometry=geometry)
        for name, (columns, geometry) in CHECK_READS.items()
    }
    inputs = Inputs(layers.pop("grids"), layers.pop("buildings"), layers=layers)
    inputs.sources = {"store": store.url}
    return inputs


# ------------------------------------------------------------ stand-ins for missing layers --


def stand_in_households(buildings: pd.DataFrame) -> pd.DataFrame | None:
    """Households from each building's ``households`` count, when no households are given.

    Returns
    -------
    pandas.DataFrame or None
        ``code`` (``<building>#<n>``) and ``building``; None when the buildings have
        no ``households`` (``户数``) column.

    Examples
    --------
    >>> stand_in_households(pd.DataFrame({"code": ["B1", "B2"], "households": [2, 0]}))
       code building
    0  B1#1       B1
    1  B1#2       B1
    """
    col = next((c for c in ("households", "户数") if c in buildings.columns), None)
    if col is None:
        return None
    counts = pd.to_numeric(buildings[col], errors="coerce").fillna(0).clip(lower=0).astype(int)
    codes = np.repeat(buildings["code"].to_numpy(dtype=object), counts.to_numpy())
    numbers = np.concatenate([np.arange(1, n + 1) for n in counts.to_numpy()] or [np.zeros(0, int)])
    return pd.DataFrame(
        {"code": [f"{b}#{i}" for b, i in zip(codes, numbers, strict=True)], "building": codes}
    )


#: the role a member has by the kind of their assignments
_ROLE_OF_KIND = {
    "member_building": "member",
    "member_household": "member",
    "worker_grid": "grid_worker",
    "cadre_community": "cadre",
    "leader_community": "leader",
}


def members_named_by(assignments: pd.DataFrame) -> pd.DataFrame:
    """The members the assignments name, with the role their assignments give them.

    A member responsible for buildings or households is a party member (R5 applies to
    them), whatever else they are assigned to.

    Examples
    --------
    >>> a = pd.DataFrame({"member": ["K1", "M1", "K1"],
    ...                   "kind": ["cadre_community", "member_building", "member_household"]})
    >>> sorted(members_named_by(a).values.tolist())
    [['K1', 'member'], ['M1', 'member']]
    """
    named = assignments.dropna(subset=["member"])
    roles = named.assign(role=named["kind"].map(_ROLE_OF_KIND))
    roles = roles.sort_values("role", key=lambda r: r.ne("member")).drop_duplicates("member")
    return pd.DataFrame({"code": roles["member"].to_numpy(), "role": roles["role"].to_numpy()})


def organisations_named_by(assignments: pd.DataFrame) -> pd.DataFrame:
    """The organisations the assignments name, as partner units.

    Examples
    --------
    >>> a = pd.DataFrame({"organisation": ["O1", None, "O1"]})
    >>> organisations_named_by(a).values.tolist()
    [['O1', 'partner_unit']]
    """
    named = assignments.dropna(subset=["organisation"])
    return pd.DataFrame({"code": pd.unique(named["organisation"]), "kind": "partner_unit"})
