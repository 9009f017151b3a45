"""The check's inputs: what they are, from a store or a folder, and the stand-ins for missing layers.

Files are read by :mod:`gridgeo.check.files`; a duplicate code or an invalid polygon
there is not a reason to refuse the check, it is one of the things the check
reports (:attr:`Inputs.input_findings`, built with :func:`input_issue`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from gridgeo.analysis.findings import findings
from gridgeo.errors import Issue, ValidationError
from gridgeo.progress import Progress
from gridgeo.store import Store

__all__ = [
    "CHECK_READS",
    "Inputs",
    "NAMED_LAYERS",
    "check_columns",
    "inputs_from_folder",
    "inputs_from_store",
    "members_named_by",
    "organisations_named_by",
    "input_issue",
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


def input_issue(
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


def check_columns(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The columns of layer ``name`` that the check reads (:data:`CHECK_READS`), of a folder's frame."""
    columns, geometry = CHECK_READS[name]
    if columns is not None:
        keep = ["code", *[c for c in columns if c in frame.columns and c != "code"]]
        frame = frame[keep + (["geometry"] if geometry and "geometry" in frame else [])]
    if not geometry and isinstance(frame, gpd.GeoDataFrame):
        frame = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    return frame


#: the layers the outputs of a check take names and geometries from
NAMED_LAYERS = ("communities", "grids", "buildings", "organisations", "members")


def inputs_from_folder(
    folder: Path, *, progress: Progress | None = None, names_only: bool = False
) -> Inputs:
    """The layers of a partitioned exchange folder that the check uses, as its inputs.

    The folder of ``gridgeo export --format geoparquet`` (or ``gridgeo synth --scale
    province``) holds the layers as ``Store.read_layer`` gives them, so the check reads
    the same columns as from a store (:data:`CHECK_READS`) and finds what it finds in
    the store the folder was exported from. A layer without rows has no files and is
    left out, as a store's empty layer is.

    With ``names_only``, only the layers the outputs take names and geometries from
    (:data:`NAMED_LAYERS`) are read: the Dask check reads the rest in its tasks.

    Raises
    ------
    FileFormatError
        A broken folder (:func:`gridgeo.io.geoparquet.read_geoparquet`).
    ValidationError
        The folder has no grids or no buildings.
    """
    from gridgeo.io.geoparquet import read_geoparquet

    wanted = NAMED_LAYERS if names_only else tuple(CHECK_READS)
    read = read_geoparquet(folder, layers=wanted, progress=progress)
    layers = {
        name: check_columns(name, read.frames[name]) for name in CHECK_READS if name in read.frames
    }
    missing = [name for name in ("grids", "buildings") if name not in layers]
    if missing:
        raise ValidationError(
            Issue(
                f"the folder has no {' and no '.join(missing)}: nothing to check",
                file=str(folder),
            )
        )
    inputs = Inputs(layers.pop("grids"), layers.pop("buildings"), layers=layers)
    inputs.sources = {"folder": str(folder)}
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
    # stable: of a member with no member role, the role of their first assignment
    roles = roles.sort_values("role", key=lambda r: r.ne("member"), kind="stable")
    roles = roles.drop_duplicates("member")
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
