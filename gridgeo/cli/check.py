"""``gridgeo check``: the coverage and responsibility findings, of a store or of files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from gridgeo.cli.common import (
    AssignmentsOption,
    BuildingIdOption,
    BuildingsOption,
    CommunitiesOption,
    CrsOption,
    DbOption,
    DistrictOption,
    GenerateIdsOption,
    GridIdOption,
    GridsOption,
    HouseholdsOption,
    LayerOption,
    MapOption,
    MaskOption,
    PolicyOption,
    VisitsOption,
    WhereOption,
    date_option,
    fails_cleanly,
    file_options,
    note,
    out,
    progress_bar,
    step,
)

__all__ = ["check"]


@fails_cleanly
def check(
    out_file: Annotated[Path, typer.Option("--out")],
    grids: GridsOption = None,
    buildings: BuildingsOption = None,
    grid_id: GridIdOption = None,
    building_id: BuildingIdOption = None,
    communities: CommunitiesOption = None,
    district: DistrictOption = None,
    assignments: AssignmentsOption = None,
    households: HouseholdsOption = None,
    visits: VisitsOption = None,
    mask: MaskOption = None,
    crs: CrsOption = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of"),
    ] = None,
    layer: LayerOption = None,
    where: WhereOption = None,
    mapping: MapOption = None,
    generate_ids: GenerateIdsOption = None,
    lang: Annotated[str, typer.Option("--lang")] = "zh",
    policy: PolicyOption = None,
    folder: Annotated[Path | None, typer.Option("--folder")] = None,
    engine: Annotated[str, typer.Option("--engine")] = "local",
    scheduler: Annotated[str | None, typer.Option("--scheduler")] = None,
    db: DbOption = None,
) -> None:
    """Find gaps, overlaps, straddling, unassigned and double-assigned buildings, quota shortfalls."""
    from gridgeo.cluster import ENGINES

    day = date_option(as_of, "--as-of")
    if engine not in ENGINES:
        raise typer.BadParameter(f"{engine!r}: give {' or '.join(ENGINES)}", param_hint="--engine")
    if scheduler is not None and engine != "dask":
        raise typer.BadParameter("only with --engine dask", param_hint="--scheduler")
    if engine == "dask" and folder is None:
        raise typer.BadParameter(
            "the Dask check reads a partitioned folder: give --folder DIR "
            "(gridgeo export --format geoparquet DIR writes one)",
            param_hint="--engine",
        )
    if (grids is None) != (buildings is None):
        raise typer.BadParameter("give both --grids and --buildings (or neither, to check a store)")
    extra = {
        "communities": communities,
        "district": district,
        "assignments": assignments,
        "households": households,
        "visits": visits,
        "mask": mask,
    }
    with progress_bar() as progress:
        # the imports are part of reading: on a busy machine they take seconds
        with step(progress, "reading the input files"):
            from gridgeo.check import run_check, write_results
            from gridgeo.check.run import check_inputs
            from gridgeo.policy import load_policy

            rules = load_policy(policy)
            options = file_options(
                ["grids", "buildings", *extra],
                layer=layer,
                where=where,
                mapping=mapping,
                generate_ids=generate_ids,
            )
            inputs = check_inputs(
                db,
                engine=engine,
                grids=grids,
                buildings=buildings,
                grid_id=grid_id,
                building_id=building_id,
                crs=crs,
                extra=extra,
                options=options,
                folder=folder,
            )
        for o in options.values():
            for line in o.notes:
                note(line)
        if engine == "dask":
            from gridgeo.check.partitioned import check_folder
            from gridgeo.cluster import dask_client

            assert folder is not None
            with dask_client(scheduler) as client:
                progress("starting the Dask cluster", 1, 1)
                results = check_folder(folder, client, policy=rules, as_of=day, progress=progress)
        else:
            results = run_check(inputs, policy=rules, as_of=day, progress=progress)
        with step(progress, f"writing {out_file.name}"):
            gpkg, xlsx = write_results(
                results,
                out_file,
                lang=lang,
                names=_names(inputs),
                communities=inputs.layers.get("communities"),
                buildings=inputs.buildings,
            )
    _print_findings(results)
    _print_not_computed(results.not_computed)
    _print_score(results["summary_district"].iloc[0])
    out.print(f"written to {gpkg} and {xlsx}", highlight=False)


def _names(inputs: Any) -> dict[str, dict[str, str]]:
    """Code -> name of what the inputs name; member names too (the operator may see them)."""
    from gridgeo.check.output import result_names

    return result_names({"grids": inputs.grids, "buildings": inputs.buildings, **inputs.layers},
                        members=True)  # fmt: skip


def _print_score(district: Any) -> None:
    """The district's coverage score, or why it was not computed."""
    import pandas as pd

    buildings = f"{int(district['buildings']):,} buildings"
    if pd.isna(district["coverage_score"]):
        reason = district.get("not_computed") or "no buildings"
        out.print(
            f"district coverage score: not computed ({reason}); {buildings}, "
            f"{int(district['outside_grids']):,} outside every grid",
            highlight=False,
        )
        return
    out.print(
        f"district coverage score: {district['coverage_score']:.1f}% of {buildings} "
        "lie in one grid with exactly one responsible member",
        highlight=False,
    )


def _print_findings(results: Any) -> None:
    """Rows and rules per result layer."""
    from gridgeo.check import summary_counts

    table = Table(title="findings")
    for col in ("layer", "rows", "rules"):
        table.add_column(col, justify="right" if col == "rows" else "left")
    for row in summary_counts(results).itertuples(index=False):
        if not row.not_computed:
            table.add_row(str(row.layer), f"{int(row.rows):,}", str(row.rules))
    out.print(table)


def _print_not_computed(not_computed: dict[str, str]) -> None:
    """The result layers the inputs did not allow, one line per reason."""
    by_reason: dict[str, list[str]] = {}
    for layer, reason in not_computed.items():
        by_reason.setdefault(reason, []).append(layer)
    for reason, layers in by_reason.items():
        out.print(f"not computed ({reason}): {', '.join(layers)}", highlight=False)
