"""Every check of input data, done once at the boundary, before anything is stored.

:func:`prepare_layer` maps a file's columns to a layer's, converts types, checks
codes, values (text lengths and integer ranges as the stores hold them), dates and
geometries, and either returns a clean frame or raises one
:class:`~gridgeo.errors.ValidationError` that lists every problem with its file,
row, column and value, and says what to do.

One job per module: :mod:`~gridgeo.validate.columns` (which column is which),
:mod:`~gridgeo.validate.values` (types), :mod:`~gridgeo.validate.bounds` (what the
stores hold, also checked by the stores' writes), :mod:`~gridgeo.validate.rules`
(rules across columns), :mod:`~gridgeo.validate.geometry`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from gridgeo.errors import Issue, ValidationError
from gridgeo.layers import ROW_COLUMN, LayerSpec, get_layer
from gridgeo.settings import get_settings
from gridgeo.validate.bounds import check_frame
from gridgeo.validate.columns import ALIASES, map_columns
from gridgeo.validate.geometry import check_geometry
from gridgeo.validate.issues import Issues
from gridgeo.validate.rules import (
    check_assignment_shape,
    check_codes,
    check_problem_lifecycle,
    infer_assignment_kind,
)
from gridgeo.validate.targets import TARGET_KINDS, Spread, spread_targets
from gridgeo.validate.values import as_text, convert, empty

__all__ = [
    "ALIASES",
    "Issues",
    "Prepared",
    "as_text",
    "check_frame",
    "map_columns",
    "prepare_layer",
]


@dataclass
class Prepared:
    """A layer frame ready for :meth:`Store.write_layers`, and what was done to it.

    ``frame`` has every column of the layer (those the file did not give are
    empty); :attr:`written` only those the file gave, which is what an import
    writes: a column absent from the file keeps the stored values.
    """

    frame: pd.DataFrame
    layer: str
    rows_read: int
    repaired: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    mapped_columns: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: the layer's columns the file gave (``code`` always; ``geometry`` if it had one)
    given: list[str] = field(default_factory=list)

    @property
    def written(self) -> pd.DataFrame:
        """The frame with only the columns the file gave (and the row numbers)."""
        keep = [c for c in self.frame.columns if c in self.given or c == ROW_COLUMN]
        return self.frame[keep]


def _code_column(
    frame: pd.DataFrame,
    spec: LayerSpec,
    out: pd.DataFrame,
    id_columns: Sequence[str],
    generate_ids: str | None,
    rows: np.ndarray,
    source: str | None,
) -> pd.Series:
    n = len(frame)
    if len(id_columns) > 1:
        code = pd.Series([None] * n, dtype=object)
        for col in id_columns:
            code = code.where(code.notna(), as_text(frame[col].reset_index(drop=True)))
        return code
    if generate_ids:
        return pd.Series([f"{generate_ids}{r}" for r in rows], dtype=object)
    if "code" not in out:
        columns = [c for c in frame.columns if c != "geometry"]
        raise ValidationError(
            Issue(
                f"no code column found (looked for code, id, 编号 and {spec.name[:-1]}_id)",
                file=source,
                layer=spec.name,
                hint=f"name it with --id-column COL (its columns are {columns}), "
                "or number the rows with --generate-ids PREFIX",
            )
        )
    return as_text(out["code"])


def _mapped(
    frame: pd.DataFrame,
    spec: LayerSpec,
    mapping: Mapping[str, str] | None,
    id_columns: Sequence[str],
    generate_ids: str | None,
    source: str | None,
) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    columns = [c for c in frame.columns if c != getattr(frame, "_geometry_column_name", None)]
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
    colmap, unused = map_columns(columns, spec, mapping or {}, id_columns)
    if generate_ids:
        colmap = {src: dst for src, dst in colmap.items() if dst != "code"}
        unused = [c for c in columns if c not in colmap and c != "geometry"]
    if len(id_columns) > 1:
        unused = [c for c in unused if c not in id_columns]
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    for src, dst in colmap.items():
        out[dst] = frame[src].reset_index(drop=True)
    return out, colmap, unused


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
    date_format: str | None = None,
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
    date_format
        How days such as ``03/04/2025`` are written (``%d/%m/%Y``); without it such
        days are refused when they could be read both ways.

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
    >>> prepared = prepare_layer(f, "grids")
    >>> prepared.frame.columns.tolist(), prepared.written.columns.tolist()
    (['code', 'name', 'community', 'geometry', '_row'], ['code', 'geometry', '_row'])
    """
    spec = get_layer(layer)
    n = len(frame)
    rows = np.arange(1, n + 1) if rows is None else np.asarray(rows)
    id_columns = [c.strip() for c in id_columns if c.strip()]
    spread = spread_targets(frame, mapping or {}) if spec.name == "assignments" else Spread(frame)
    out, colmap, unused = _mapped(spread.frame, spec, mapping, id_columns, generate_ids, source)
    out["code"] = _code_column(spread.frame, spec, out, id_columns, generate_ids, rows, source)
    issues = Issues(source, spec.name, rows, out["code"])
    _unknown_targets(issues, frame, spread)
    if spec.name == "assignments" and "kind" not in out:
        out["kind"] = infer_assignment_kind(out, issues)
        _whom_is_named(issues, unused, spec, source)
    given = [f.name for f in spec.fields if f.name in out]
    missing = [f.name for f in spec.fields if f.required and f.name not in out]
    if missing:
        columns = [c for c in frame.columns if c != "geometry"]
        raise ValidationError(
            Issue(
                f"required column(s) {missing} not found",
                file=source,
                layer=spec.name,
                hint=f"the file's columns are {columns}; map one with --map FILE_COLUMN={missing[0]}",
            )
        )
    _convert_all(out, spec, issues, timezone or get_settings().timezone, date_format)
    prepared = Prepared(
        out,
        spec.name,
        n,
        ignored_columns=unused,
        mapped_columns={k: v for k, v in colmap.items() if k != v},
        given=given,
    )
    if spread.note:
        prepared.notes.append(spread.note)
    if prepared.mapped_columns:
        prepared.notes.append(
            "columns read as " + ", ".join(f"{s} → {d}" for s, d in prepared.mapped_columns.items())
        )
    prepared.frame = _with_geometry(frame, out[spec.field_names], spec, issues, repair, prepared)
    _drop_followups(issues, spread)
    if issues.items:
        raise ValidationError(
            issues.items,
            summary=f"{source or spec.name}: {len(issues.items)} problem(s), nothing was imported:",
        )
    prepared.frame[ROW_COLUMN] = rows
    return prepared


def _unknown_targets(issues: Issues, frame: pd.DataFrame, spread: Spread) -> None:
    """Rows of a long-form assignments sheet whose kind of object is not one gridgeo knows."""
    if spread.columns is None or not spread.unknown.size:
        return
    words = ", ".join(f"{w[1]} ({w[0]})" for w in TARGET_KINDS.values())
    issues.each(
        spread.unknown,
        "not a kind of object that can be assigned",
        column=spread.columns[0],
        values=frame[spread.columns[0]].reset_index(drop=True),
        hint=f"use one of {words}",
    )


def _drop_followups(issues: Issues, spread: Spread) -> None:
    """A row whose kind of object is unknown has no kind either: say the first only."""
    if spread.columns is None or not spread.unknown.size:
        return
    rows = {int(issues.rows[p]) for p in spread.unknown}
    issues.items = [i for i in issues.items if not (i.column == "kind" and i.row in rows)]


def _whom_is_named(
    issues: Issues, unused: Sequence[str], spec: LayerSpec, source: str | None
) -> None:
    """Assignments of unknown kind beside columns nobody recognised: say so once, naming them."""
    unknown = [i for i in issues.items if i.column == "kind"]
    if not unknown or not unused:
        return
    raise ValidationError(
        Issue(
            f"{len(unknown)} row(s): cannot tell what is assigned to whom; "
            f"columns not recognised: {list(unused)}",
            file=source,
            layer=spec.name,
            hint=f"the known columns are {spec.field_names}; rename the column, or map it "
            "with --map FILE_COLUMN=LAYER_COLUMN",
        )
    )


def _convert_all(
    out: pd.DataFrame, spec: LayerSpec, issues: Issues, tz: str, date_format: str | None
) -> None:
    """Every column as its field's type (missing ones empty), then the rules across them."""
    for f in spec.fields:
        if f.name in out:
            out[f.name] = convert(
                spec, out[f.name], f, issues, timezone=tz, date_format=date_format
            )
        else:
            out[f.name] = empty(f, len(out))
    check_codes(out["code"], issues)
    if spec.name == "assignments":
        check_assignment_shape(out, issues)
    if spec.name == "problems":
        check_problem_lifecycle(out, issues)


def _with_geometry(
    frame: pd.DataFrame,
    result: pd.DataFrame,
    spec: LayerSpec,
    issues: Issues,
    repair: bool,
    prepared: Prepared,
) -> pd.DataFrame:
    has_geometry = isinstance(frame, gpd.GeoDataFrame)
    if spec.geometry:
        geoms, repaired = check_geometry(frame, spec, issues, repair)
        prepared.repaired = repaired
        if repaired:
            prepared.notes.append(
                f"repaired {repaired} invalid geometr{'y' if repaired == 1 else 'ies'} with make_valid"
            )
        if has_geometry:
            prepared.given.append("geometry")
        return gpd.GeoDataFrame(result, geometry=gpd.GeoSeries(geoms, crs=4326), crs=4326)
    if has_geometry and frame.geometry.notna().any():
        prepared.notes.append(f"layer {spec.name} has no geometry: the file's geometry is ignored")
    return result.copy()
