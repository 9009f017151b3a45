"""``gridgeo hotspots``: problem hot and cold spots, clusters, density and emerging patterns."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from gridgeo.cli.common import (
    CrsOption,
    DbOption,
    date_option,
    err,
    fails_cleanly,
    out,
    progress_bar,
)

__all__ = ["hotspots"]

#: how to read a problems file (`gridgeo.hotspot_inputs.read_problems`)
ProblemsFile = Annotated[
    Path | None,
    typer.Option("--problems", help="Problem points: GeoPackage, GeoJSON, or CSV with lon/lat."),
]
ProblemsLayer = Annotated[
    str | None, typer.Option("--layer", help="Layer (or sheet) of the problems file.")
]
XColumn = Annotated[str | None, typer.Option("--x", help="Longitude/x column of a CSV.")]
YColumn = Annotated[str | None, typer.Option("--y", help="Latitude/y column of a CSV.")]
TimeColumn = Annotated[
    str | None, typer.Option("--time-column", help="Column with the report time.")
]
CategoryColumn = Annotated[
    str | None, typer.Option("--category-column", help="Column with the category.")
]

#: which problems are counted (`gridgeo.analysis.hotspots.select_problems`)
Categories = Annotated[
    list[str] | None, typer.Option("--category", help="Only this category (repeatable).")
]
Statuses = Annotated[
    list[str] | None, typer.Option("--status", help="Only this status (repeatable).")
]
FirstDay = Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD (local time).")]
LastDay = Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD (included).")]


@fails_cleanly
def hotspots(
    out_file: Annotated[
        Path,
        typer.Option(
            "--out",
            help="GeoPackage to write; with --problems also a layer problems: their codes "
            "and WGS-84 points, as counted.",
        ),
    ],
    problems: ProblemsFile = None,
    layer: ProblemsLayer = None,
    area: Annotated[
        Path | None, typer.Option("--area", help="Study area polygons (district boundary).")
    ] = None,
    cells: Annotated[
        str,
        typer.Option(
            "--cells",
            help="auto, h3:RES, square:METRES, grids (store) or grids:FILE. auto (default): "
            "the coarsest H3 resolution 7–11 at which the selected problems occupy at least "
            "30 cells and the median occupied cell holds at most 10 of them.",
        ),
    ] = "auto",
    weights: Annotated[
        str, typer.Option("--weights", help="queen, knn:K or distance:METRES.")
    ] = "queen",
    category: Categories = None,
    status: Statuses = None,
    date_from: FirstDay = None,
    date_to: LastDay = None,
    x: XColumn = None,
    y: YColumn = None,
    time_column: TimeColumn = None,
    category_column: CategoryColumn = None,
    crs: CrsOption = None,
    permutations: Annotated[
        int, typer.Option("--permutations", help="Permutations for the pseudo p-values.")
    ] = 999,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the permutations.")] = 0,
    interval: Annotated[
        str, typer.Option("--interval", help="Time slice of emerging hot spots: month, week, day.")
    ] = "month",
    bandwidth: Annotated[
        str,
        typer.Option("--bandwidth", help="Kernel density bandwidth: metres, silverman or scott."),
    ] = "silverman",
    db: DbOption = None,
) -> None:
    """Problem hotspots: Gi* hot and cold spots, LISA clusters, density and emerging hot spots."""
    from gridgeo.hotspot_run import HotspotSource, run_hotspots

    for name, value in (("--from", date_from), ("--to", date_to)):
        date_option(value, name)
    if cells.lower() == "grids" and problems is not None:
        raise typer.BadParameter("give grids:FILE with --problems", param_hint="--cells")
    source = HotspotSource(
        db=db,
        problems=problems,
        layer=layer,
        area=area,
        cells=cells,
        x=x,
        y=y,
        time_column=time_column,
        category_column=category_column,
        crs=crs,
    )
    with progress_bar() as progress:
        run = run_hotspots(
            source,
            out_file,
            category=category,
            status=status,
            start=date_from,
            end=date_to,
            permutations=permutations,
            seed=seed,
            weights=weights,
            bandwidth=_bandwidth(bandwidth),
            interval=interval,
            progress=progress,
        )
    for note in [*run.notes, *_cells_note(run.layers["cells"])]:
        err.print(f"note: {note}", highlight=False)
    _print_summary(run.layers)
    if run.outside:
        out.print(
            f"{run.outside:,} problems outside the study area were not counted", highlight=False
        )
    names = "cells, lisa, density, emerging" + (", problems" if problems is not None else "")
    out.print(f"written to {out_file} (layers {names})", highlight=False)


def _cells_note(cells: Any) -> list[str]:
    """Which cells were chosen from the data, and how large they are."""
    if not cells.attrs.get("cells_chosen"):
        return []
    from gridgeo.analysis.hotspots.resolution import MIN_OCCUPIED, TARGET_PER_CELL, cell_size_m

    spec = str(cells.attrs.get("cells"))
    x0, y0, x1, y1 = cells.total_bounds
    side = cell_size_m(spec, (x0 + x1) / 2, (y0 + y1) / 2)
    size = f", hexagons with a side of about {side:,.0f} m" if side else ""
    return [
        f"cells {spec}{size}: the coarsest at which the problems occupy at least "
        f"{MIN_OCCUPIED} cells and the median one holds at most {TARGET_PER_CELL} "
        "(give --cells to choose)"
    ]


def _bandwidth(value: str) -> float | str:
    """``--bandwidth``: metres (a number), or the name of a rule (silverman, scott)."""
    try:
        return float(value)
    except ValueError:
        return value


def _print_summary(layers: dict) -> None:
    """What the layers found, as :func:`~gridgeo.hotspot_run.hotspot_summary` counts it."""
    from gridgeo.hotspot_run import hotspot_summary

    table = Table(title="problem hotspots")
    table.add_column("layer")
    table.add_column("result")
    table.add_column("cells", justify="right")
    for layer_name, result, count in hotspot_summary(layers):
        table.add_row(layer_name, result, f"{count:,}")
    out.print(table)
