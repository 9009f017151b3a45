"""The check's inputs read straight from a planner's files, as ``gridgeo import`` reads them.

Every file goes through the same column mapping (:func:`gridgeo.validate.map_columns`:
``--map``, then the usual names in Chinese and English such as ``网格编号``, ``名称``,
``社区``) and the same input selection (``--layer``, ``--where``, ``--generate-ids``) as
an import. Grids and buildings are then read leniently: a duplicate code or an invalid
polygon is one of the things the check reports. Every problem of every file is
collected before anything is computed and raised as one
:class:`~gridgeo.errors.ValidationError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgeo.check.inputs import Inputs, input_issue
from gridgeo.errors import GridGeoError, Issue, ValidationError
from gridgeo.io import read_file
from gridgeo.layers import LAYERS, get_layer
from gridgeo.store.base import ROW_COLUMN
from gridgeo.validate import as_text, map_columns, prepare_layer

__all__ = ["FileOptions", "read_inputs"]


@dataclass
class FileOptions:
    """How one input file is selected and mapped (the options ``gridgeo import`` takes)."""

    layer: str | None = None
    where: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    id_columns: list[str] = field(default_factory=list)
    generate_ids: str | None = None
    #: ``--map`` without an input: applied to this file when it has the column
    shared_mapping: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    used: set[str] = field(default_factory=set)

    def mapping_for(self, columns: list[str]) -> dict[str, str]:
        """The mapping for a file with ``columns``: its own, and the shared ones it can use."""
        shared = {s: d for s, d in self.shared_mapping.items() if s in columns}
        self.used |= set(shared)
        return {**shared, **self.mapping}


def _collect(problems: list[Issue], name: str, call: Callable[[], Any]) -> Any:
    """``call()``, or None with its problems added to ``problems`` (told which input)."""
    found: list[Issue] = []
    try:
        return call()
    except ValidationError as exc:
        if exc.summary:
            found.append(Issue(exc.summary.rstrip(":")))
        found.extend(exc.issues)
    except GridGeoError as exc:
        found.append(Issue(str(exc)))
    for issue in found:
        problems.append(replace(issue, message=f"(--{name}) {issue.message}"))
    return None


def _polygons(
    path: Path, kind: str, opts: FileOptions, crs: str | None
) -> tuple[gpd.GeoDataFrame, list[gpd.GeoDataFrame]]:
    """A grids or buildings file as the check's frame: its codes, names and other columns."""
    layer = f"{kind}s"
    read = read_file(path, crs=crs, target=layer, layer=opts.layer, where=opts.where)
    opts.notes.extend(read.notes)
    frame = read.frame
    if not isinstance(frame, gpd.GeoDataFrame):
        raise ValidationError(
            Issue(f"no geometry; {layer} must be polygons", file=read.name, hint="give a "
                  "GeoPackage, Shapefile or GeoJSON, or a table with a WKT column (--wkt)")
        )  # fmt: skip
    columns = [c for c in frame.columns if c != frame.geometry.name]
    if opts.generate_ids and opts.id_columns:
        raise ValidationError("give either the id column or --generate-ids, not both")
    colmap, unused = map_columns(
        columns, get_layer(layer), opts.mapping_for(columns), opts.id_columns[:1]
    )
    if opts.generate_ids:
        colmap = {s: d for s, d in colmap.items() if d != "code"}
    renamed = {s: d for s, d in colmap.items() if s != d}
    if renamed:
        opts.notes.append(
            f"{read.name}: columns read as " + ", ".join(f"{s} → {d}" for s, d in renamed.items())
        )
    attributes = pd.DataFrame(frame.drop(columns=frame.geometry.name)).reset_index(drop=True)
    attributes = attributes.rename(columns=colmap)
    codes = _codes(attributes, kind, opts, read.rows)
    if "code" not in colmap.values() and not opts.generate_ids and len(opts.id_columns) < 2:
        opts.notes.append(
            f"{read.name}: no code column (looked for code, id, 编号, {kind}_id); "
            f"{layer} numbered {kind[0].upper()}1, {kind[0].upper()}2... "
            "(name it with --map COLUMN=code, or --generate-ids PREFIX)"
        )
    if layer == "grids" and "community" not in attributes:
        opts.notes.append(
            f"{read.name}: no community column (looked for community, 社区, 社区编号); "
            "grids are in no community (map one with --map COLUMN=community)"
        )
        attributes["community"] = None
    geoms = shapely.force_2d(np.asarray(frame.geometry.values, dtype=object))
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if empty.any():
        rows = ", ".join(map(str, read.rows[empty][:10])) + (" ..." if empty.sum() > 10 else "")
        opts.notes.append(
            f"{read.name}: {int(empty.sum())} row(s) without a geometry left out of the check "
            f"(row {rows})"
        )
    notes: list[gpd.GeoDataFrame] = []
    invalid = ~empty & ~shapely.is_valid(geoms)
    if invalid.any():
        notes.append(input_issue("invalid_geometry", kind, invalid, codes, geoms, read.rows))
        geoms[invalid] = shapely.make_valid(geoms[invalid])
    dup = codes.duplicated(keep=False).to_numpy()
    if dup.any():
        notes.append(input_issue("duplicate_code", kind, dup, codes, geoms, read.rows))
    keep = ~empty
    attributes = attributes.drop(columns=[c for c in ("code", "row") if c in attributes]).loc[keep]
    out = gpd.GeoDataFrame(
        {"code": codes[keep].to_numpy(), "row": read.rows[keep]},
        geometry=gpd.GeoSeries(geoms[keep], crs=4326),
        crs=4326,
    )
    for col in attributes.columns:
        if col not in out:
            out[col] = attributes[col].to_numpy()
    if unused:
        opts.notes.append(f"{read.name}: columns kept as they are: {', '.join(map(str, unused))}")
    return out, notes


def _codes(attributes: pd.DataFrame, kind: str, opts: FileOptions, rows: np.ndarray) -> pd.Series:
    """Each row's code: the mapped code column(s), the generated codes, or G1, G2..."""
    if opts.generate_ids:
        return pd.Series([f"{opts.generate_ids}{r}" for r in rows], dtype=object)
    text = pd.Series([None] * len(attributes), dtype=object)
    sources = ["code"] + [c for c in opts.id_columns[1:] if c in attributes]
    for col in sources:
        if col in attributes:
            text = text.where(text.notna(), as_text(attributes[col]))
    if "code" not in attributes and len(sources) == 1:
        return pd.Series(
            [f"{kind[0].upper()}{i + 1}" for i in range(len(attributes))], dtype=object
        )
    missing = text.isna()
    if missing.any():
        text[missing] = [f"{kind[0].upper()}-row{r}" for r in rows[missing.to_numpy()]]
    return text


def _other_layer(name: str, path: Path, opts: FileOptions, crs: str | None) -> pd.DataFrame:
    """Communities, assignments, visits... checked as an import checks them."""
    read = read_file(path, crs=crs, target=name, layer=opts.layer, where=opts.where)
    opts.notes.extend(read.notes)
    frame = read.frame
    if name not in LAYERS:
        return frame
    generate = opts.generate_ids
    columns = [str(c) for c in frame.columns if c != "geometry"]
    mapping = opts.mapping_for(columns)
    if generate is None and not opts.id_columns:
        colmap, _ = map_columns(columns, get_layer(name), mapping, ())
        if "code" not in colmap.values():
            generate = f"{name[0].upper()}-"
    prepared = prepare_layer(
        frame,
        name,
        source=read.name,
        rows=read.rows,
        mapping=mapping,
        id_columns=opts.id_columns,
        generate_ids=generate,
    )
    opts.notes.extend(f"{read.name}: {n}" for n in prepared.notes)
    return prepared.frame.drop(columns=ROW_COLUMN)


def read_inputs(
    *,
    grids: Path,
    buildings: Path,
    grid_id: str | None = None,
    building_id: str | None = None,
    crs: str | None = None,
    extra: Mapping[str, Path | None] | None = None,
    options: Mapping[str, FileOptions] | None = None,
) -> Inputs:
    """Read a check's inputs from files.

    Grids and buildings may have duplicate codes and invalid polygons: both are
    reported as findings (invalid polygons are repaired for the analysis), never
    merged or silently dropped; rows without a geometry are left out with a note.
    Further layers (communities, district, assignments, visits, mask) are checked as
    ``gridgeo import`` checks them.

    Parameters
    ----------
    options
        Per input (``"grids"``, ``"assignments"``...): the layer, filter, column
        mapping and codes to use; its ``notes`` receive what was done. ``grid_id`` and
        ``building_id`` are the grids' and buildings' id columns (comma-separated:
        the first non-empty).

    Raises
    ------
    ValidationError
        Every problem of every file (missing CRS, several layers, unknown columns,
        rows a layer refuses), once all the files were read.
    """
    opts = {k: v for k, v in (options or {}).items()}
    for name, id_col in (("grids", grid_id), ("buildings", building_id)):
        o = opts.setdefault(name, FileOptions())
        if id_col:
            o.id_columns = [c.strip() for c in id_col.split(",") if c.strip()]
    problems: list[Issue] = []
    polys = {
        name: _collect(
            problems, name, lambda n=name, p=path: _polygons(Path(p), n[:-1], opts[n], crs)
        )
        for name, path in (("grids", grids), ("buildings", buildings))
    }
    layers: dict[str, pd.DataFrame] = {}
    sources = {"grids": str(grids), "buildings": str(buildings)}
    for name, path in (extra or {}).items():
        if path is None:
            continue
        o = opts.setdefault(name, FileOptions())
        frame = _collect(
            problems, name, lambda n=name, p=path, o=o: _other_layer(n, Path(p), o, crs)
        )
        if frame is not None:
            layers[name] = frame
        sources[name] = str(path)
    shared = {s for o in opts.values() for s in o.shared_mapping}
    unmatched = shared - {s for o in opts.values() for s in o.used}
    for src in sorted(unmatched) if not problems else ():
        problems.append(Issue(f"--map {src}=...: no input file has a column {src!r}"))
    if problems:
        raise ValidationError(
            problems, summary=f"{len(problems)} problem(s) in the input files, nothing was checked:"
        )
    (grid_frame, notes), (building_frame, more) = polys["grids"], polys["buildings"]
    inputs = Inputs(grid_frame, building_frame, layers=layers, input_findings=notes + more)
    inputs.sources = sources
    return inputs
