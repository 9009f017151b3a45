"""The problem list over time as one job: read the inputs, run the analysis, write the tables.

What ``gridgeo lifecycle`` does, as library functions. The problems come from a store
or from a file; grids and buildings (from the same place) place them in their grid and
community. :func:`gridgeo.analysis.lifecycle.lifecycle_results` does the analysis,
without reading anything itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from gridgeo.errors import ValidationError
from gridgeo.policy import Policy
from gridgeo.store.base import Progress

__all__ = [
    "FREQUENCIES",
    "LIFECYCLE_OUTPUTS",
    "PROBLEM_COLUMNS",
    "LifecycleInputs",
    "check_lifecycle_out",
    "lifecycle_inputs",
    "run_lifecycle",
    "write_lifecycle",
]

#: the time slices of the tables: months, quarters, ISO weeks
FREQUENCIES = ("M", "Q", "W")
#: the files the results can be written to
LIFECYCLE_OUTPUTS = (".xlsx", ".gpkg", ".csv")
#: the problem columns read from a store (no descriptions)
PROBLEM_COLUMNS = ["category", "building", "responsible", "reported_at", "deadline", "status",
                   "resolved_at", "escalated_at", "closed_at", "feedback_at", "feedback"]  # fmt: skip


@dataclass
class LifecycleInputs:
    """The frames the problem list is drawn from (grids and buildings: both or neither)."""

    problems: pd.DataFrame
    grids: gpd.GeoDataFrame | None = None
    buildings: gpd.GeoDataFrame | None = None
    communities: gpd.GeoDataFrame | None = None


def lifecycle_inputs(
    db: str | None = None,
    *,
    problems: Path | None = None,
    grids: Path | None = None,
    buildings: Path | None = None,
    communities: Path | None = None,
    crs: str | None = None,
) -> LifecycleInputs:
    """The problems, grids and buildings of the files given, else of the store at ``db``.

    With files: a problems file alone gives the district level only; with grids and
    buildings (and communities for grids without one), every level. They are read as
    :func:`~gridgeo.check.read_inputs` reads them. From a store: its problems (without
    descriptions), grids and buildings.

    Raises
    ------
    ValidationError
        Grids without buildings or the reverse, or files without a problems file.
    """
    if grids is None and buildings is None and problems is None:
        from gridgeo.store import open_store

        store = open_store(db)
        try:
            return LifecycleInputs(
                problems=store.read_layer("problems", columns=PROBLEM_COLUMNS),
                grids=store.read_layer("grids", columns=["community"]),
                buildings=store.read_layer("buildings", columns=[]),
            )
        finally:
            store.close()
    if (grids is None) != (buildings is None):
        raise ValidationError("give both --grids and --buildings, or neither")
    if problems is None:
        raise ValidationError("give --problems with --grids and --buildings")
    if grids is None or buildings is None:
        return LifecycleInputs(problems=_read_problems(problems, crs))
    from gridgeo.check import read_inputs

    inputs = read_inputs(
        grids=grids,
        buildings=buildings,
        crs=crs,
        extra={"communities": communities, "problems": problems},
    )
    return LifecycleInputs(
        problems=inputs.layers["problems"],
        grids=inputs.grids,
        buildings=inputs.buildings,
        communities=inputs.layers.get("communities"),
    )


def _read_problems(problems: Path, crs: str | None) -> pd.DataFrame:
    """A problems file, read and checked as ``gridgeo import`` does."""
    from gridgeo.io import read_file
    from gridgeo.store.base import ROW_COLUMN
    from gridgeo.validate import prepare_layer

    read = read_file(problems, crs=crs, target="problems")
    frame = prepare_layer(read.frame, "problems", source=read.name, rows=read.rows).frame
    return frame.drop(columns=ROW_COLUMN)


def run_lifecycle(
    db: str | None = None,
    *,
    problems: Path | None = None,
    grids: Path | None = None,
    buildings: Path | None = None,
    communities: Path | None = None,
    crs: str | None = None,
    freq: str = "M",
    as_of: dt.date | None = None,
    policy: Policy | None = None,
    timezone: str | None = None,
    progress: Progress | None = None,
) -> dict[str, pd.DataFrame]:
    """Read the inputs (:func:`lifecycle_inputs`) and draw up the problem list over time.

    Parameters
    ----------
    db, problems, grids, buildings, communities, crs
        Where the inputs come from, as :func:`lifecycle_inputs` takes them.
    freq, as_of, policy
        As :func:`~gridgeo.analysis.lifecycle.lifecycle_results` takes them.
    timezone
        The district's time zone; default the ``GRIDGEO_TIMEZONE`` setting.
    progress
        ``progress(description, done, total)``.

    Returns
    -------
    dict of str to DataFrame
        ``lifecycle_grid`` and ``lifecycle_community`` (with grids),
        ``lifecycle_district``, then the findings.
    """
    from gridgeo.analysis.coverage import building_grid
    from gridgeo.analysis.lifecycle import lifecycle_results

    if timezone is None:
        from gridgeo.settings import get_settings

        timezone = get_settings().timezone
    report = progress or _quiet
    report("reading", 0, 1)
    inputs = lifecycle_inputs(
        db, problems=problems, grids=grids, buildings=buildings, communities=communities, crs=crs
    )
    report("reading", 1, 1)
    report("analysing", 0, 1)
    placement = (
        building_grid(inputs.buildings, inputs.grids, policy=policy)
        if inputs.grids is not None and inputs.buildings is not None
        else None
    )
    results = lifecycle_results(
        inputs.problems,
        grids=inputs.grids,
        building_grid=placement,
        communities=inputs.communities,
        freq=freq,
        as_of=as_of,
        policy=policy,
        timezone=timezone,
    )
    report("analysing", 1, 1)
    return results


def check_lifecycle_out(path: Path) -> None:
    """Refuse an output path that is not a ``.xlsx``, ``.gpkg`` or ``.csv``.

    Raises
    ------
    ValidationError
        Another extension.
    """
    if Path(path).suffix.lower() not in LIFECYCLE_OUTPUTS:
        raise ValidationError(f"--out {path}: give a .xlsx, .gpkg or .csv path")


def write_lifecycle(
    results: Mapping[str, pd.DataFrame], path: Path, *, level: str = "district", lang: str = "zh"
) -> tuple[Path, ...]:
    """Write the problem list: every table and finding, or the table of one level.

    Parameters
    ----------
    results
        What :func:`run_lifecycle` returned.
    path
        A ``.xlsx`` (a sheet per level and per finding, points as lon/lat), a ``.gpkg``
        (a layer each, with the ``.xlsx`` of :func:`~gridgeo.check.write_results`
        beside) or a ``.csv`` (the table ``lifecycle_{level}``, UTF-8 with a BOM for Excel).
    level
        The table a ``.csv`` holds: ``grid``, ``community`` or ``district``.
    lang
        ``zh`` or ``en``: the sheet names and headings of a workbook and the field titles
        of a GeoPackage (a ``.csv`` keeps the column names, for programs that read it).

    Returns
    -------
    tuple of Path
        The files written.

    Raises
    ------
    ValidationError
        Another extension.
    """
    from gridgeo.check import write_results
    from gridgeo.check.output import headings
    from gridgeo.sheets import write_sheets

    path = Path(path)
    check_lifecycle_out(path)
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".gpkg":
        return write_results(results, path, lang=lang)
    if suffix == ".csv":
        results[f"lifecycle_{level}"].to_csv(path, index=False, encoding="utf-8-sig")
    else:
        words = headings(lang)
        write_sheets(
            results,
            path,
            geometry="lonlat",
            headings=words.get("columns"),
            sheet_names=words.get("sheets"),
        )
    return (path,)


def _quiet(description: str, done: int, total: int) -> None:
    """A progress callback that shows nothing."""
