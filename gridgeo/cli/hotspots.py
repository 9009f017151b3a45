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
    fails_cleanly,
    note,
    out,
    progress_bar,
)

__all__ = ["hotspots"]

#: how to read a problems file (`gridgeo.hotspot_inputs.read_problems`)
ProblemsFile = Annotated[
    Path | None,
    typer.Option("--problems"),
]
ProblemsLayer = Annotated[str | None, typer.Option("--layer")]
XColumn = Annotated[str | None, typer.Option("--x")]
YColumn = Annotated[str | None, typer.Option("--y")]
TimeColumn = Annotated[str | None, typer.Option("--time-column")]
CategoryColumn = Annotated[str | None, typer.Option("--category-column")]

#: which problems are counted (`gridgeo.analysis.hotspots.select_problems`)
Categories = Annotated[list[str] | None, typer.Option("--category")]
Statuses = Annotated[list[str] | None, typer.Option("--status")]
FirstDay = Annotated[str | None, typer.Option("--from")]
LastDay = Annotated[str | None, typer.Option("--to")]


@fails_cleanly
def hotspots(
    out_file: Annotated[Path, typer.Option("--out")],
    problems: ProblemsFile = None,
    layer: ProblemsLayer = None,
    area: Annotated[Path | None, typer.Option("--area")] = None,
    cells: Annotated[
        str,
        typer.Option(
            "--cells",
        ),
    ] = "auto",
    weights: Annotated[str, typer.Option("--weights")] = "queen",
    category: Categories = None,
    status: Statuses = None,
    date_from: FirstDay = None,
    date_to: LastDay = None,
    x: XColumn = None,
    y: YColumn = None,
    time_column: TimeColumn = None,
    category_column: CategoryColumn = None,
    crs: CrsOption = None,
    permutations: Annotated[int, typer.Option("--permutations")] = 999,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    interval: Annotated[str, typer.Option("--interval")] = "month",
    bandwidth: Annotated[
        str,
        typer.Option("--bandwidth"),
    ] = "silverman",
    engine: Annotated[str, typer.Option("--engine")] = "local",
    scheduler: Annotated[str | None, typer.Option("--scheduler")] = None,
    db: DbOption = None,
) -> None:
    """Problem hotspots: Gi* hot and cold spots, LISA clusters, density and emerging hot spots."""
    from gridgeo.hotspot_run import HotspotSource, run_hotspots

    for name, value in (("--from", date_from), ("--to", date_to)):
        date_option(value, name)
    from gridgeo.cluster import ENGINES
    from gridgeo.hotspot_partitions import is_exchange_folder

    if cells.lower() == "grids" and problems is not None and not is_exchange_folder(problems):
        raise typer.BadParameter("give grids:FILE with --problems", param_hint="--cells")
    if engine not in ENGINES:
        raise typer.BadParameter(f"{engine!r}: give {' or '.join(ENGINES)}", param_hint="--engine")
    if scheduler is not None and engine != "dask":
        raise typer.BadParameter("only with --engine dask", param_hint="--scheduler")
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
            engine=engine,
            scheduler=scheduler,
            progress=progress,
        )
    for line in [*run.notes, *_cells_note(run.layers["cells"])]:
        note(line)
    _print_summary(run.layers)
    if run.outside:
        out.print(
            f"{run.outside:,} problems outside the study area were not counted", highlight=False
        )
    counted = problems is not None and not is_exchange_folder(problems)
    names = "cells, lisa, density, emerging" + (", problems" if counted else "")
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
