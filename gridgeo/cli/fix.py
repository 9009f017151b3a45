"""``gridgeo fix grids`` and ``gridgeo fix assignments``: proposals a planner reviews, then applies.

Both read what ``gridgeo check`` reads (a store with ``--db``, or files), take the
thresholds from the policy, write a proposal GeoPackage with a workbook beside it
(:mod:`gridgeo.fix.jobs`) and print what the proposal does
(:mod:`gridgeo.fix.summary`). ``gridgeo apply`` applies the file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
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
    GridIdOption,
    GridsOption,
    HouseholdsOption,
    LangOption,
    MaskOption,
    PolicyOption,
    date_option,
    fails_cleanly,
    out,
    progress_bar,
)

__all__ = ["fix_app", "fix_assignments", "fix_grids"]

fix_app = typer.Typer(
    no_args_is_help=True,
)

OutOption = Annotated[
    Path,
    typer.Option("--out"),
]
AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of"),
]
MembersOption = Annotated[
    Path | None,
    typer.Option("--members"),
]
#: the steps a fix goes through, for the progress bar
_STEPS = ("reading the inputs", "computing the proposal", "writing the proposal")


def _run(
    title: str,
    files: dict[str, Any],
    db: str | None,
    compute: Callable[[Any], Any],
    write: Callable[[Any], Any],
) -> tuple[Any, Any]:
    """Read the inputs, compute and write a proposal, with a progress bar of the steps."""
    from gridgeo.check.inputs import members_named_by
    from gridgeo.check.run import check_inputs

    grids, buildings = files.pop("grids"), files.pop("buildings")
    if (grids is None) != (buildings is None):
        raise typer.BadParameter("give both --grids and --buildings (or neither, to read a store)")
    grid_id, building_id, crs = files.pop("grid_id"), files.pop("building_id"), files.pop("crs")
    with progress_bar() as progress:
        progress(f"{title}: {_STEPS[0]}", 0, len(_STEPS))
        inputs = check_inputs(
            db, grids=grids, buildings=buildings, grid_id=grid_id, building_id=building_id,
            crs=crs, extra=files,
        )  # fmt: skip
        layers = inputs.layers
        if layers.get("members") is None and layers.get("assignments") is not None:
            layers["members"] = members_named_by(layers["assignments"])
        progress(f"{title}: {_STEPS[1]}", 1, len(_STEPS))
        result = compute(inputs)
        progress(f"{title}: {_STEPS[2]}", 2, len(_STEPS))
        written = write(result)
        progress(f"{title}: done", len(_STEPS), len(_STEPS))
    return result, written


def _day(as_of: str | None) -> dt.date:
    return date_option(as_of, "--as-of") or dt.date.today()


@fix_app.command("grids")
@fails_cleanly
def fix_grids(
    out_file: OutOption,
    grids: GridsOption = None,
    buildings: BuildingsOption = None,
    grid_id: GridIdOption = None,
    building_id: BuildingIdOption = None,
    communities: CommunitiesOption = None,
    district: DistrictOption = None,
    assignments: AssignmentsOption = None,
    households: HouseholdsOption = None,
    members: MembersOption = None,
    mask: MaskOption = None,
    crs: CrsOption = None,
    as_of: AsOfOption = None,
    lang: LangOption = "zh",
    policy: PolicyOption = None,
    db: DbOption = None,
) -> None:
    """Repair the grid coverage: close seams and slivers, settle overlaps, keep grids in their community."""
    from gridgeo.fix import jobs
    from gridgeo.fix.summary import repair_summary
    from gridgeo.policy import load_policy

    rules, day = load_policy(policy), _day(as_of)
    files = dict(grids=grids, buildings=buildings, grid_id=grid_id, building_id=building_id,
                 crs=crs, communities=communities, district=district, assignments=assignments,
                 households=households, members=members, mask=mask)  # fmt: skip
    repair, written = _run(
        "fix grids",
        files,
        db,
        lambda inputs: jobs.fix_grids(inputs, policy=rules, as_of=day),
        lambda result: jobs.write_grid_repair(result, out_file, lang=lang),
    )
    print_repair(repair_summary(repair))
    out.print(f"written to {written.gpkg} and {written.xlsx}", highlight=False)
    out.print(f"review it, then: gridgeo apply {written.gpkg}", highlight=False)


@fix_app.command("assignments")
@fails_cleanly
def fix_assignments(
    out_file: OutOption,
    grids: GridsOption = None,
    buildings: BuildingsOption = None,
    grid_id: GridIdOption = None,
    building_id: BuildingIdOption = None,
    communities: CommunitiesOption = None,
    assignments: AssignmentsOption = None,
    households: HouseholdsOption = None,
    members: MembersOption = None,
    crs: CrsOption = None,
    as_of: AsOfOption = None,
    lang: LangOption = "zh",
    policy: PolicyOption = None,
    db: DbOption = None,
) -> None:
    """Propose a member for every unassigned household, the quota met, double responsibility settled."""
    from gridgeo.fix import jobs
    from gridgeo.fix.summary import assignment_summary
    from gridgeo.policy import load_policy

    rules, day = load_policy(policy), _day(as_of)
    files = dict(grids=grids, buildings=buildings, grid_id=grid_id, building_id=building_id,
                 crs=crs, communities=communities, assignments=assignments,
                 households=households, members=members)  # fmt: skip
    proposal, written = _run(
        "fix assignments",
        files,
        db,
        lambda inputs: jobs.fix_assignments(inputs, policy=rules, as_of=day),
        lambda result: jobs.write_assignment_proposal(result, out_file, lang=lang),
    )
    print_assignments(assignment_summary(proposal))
    out.print(f"written to {written.gpkg} and {written.xlsx}", highlight=False)
    out.print(f"review it, then: gridgeo apply {written.gpkg} --as-of {day}", highlight=False)


def print_repair(summary: dict[str, Any]) -> None:
    """The edits by kind and area moved, and what is left to decide."""
    table = Table(title="fix grids: edits")
    for col in ("kind", "edits", "area moved (m²)"):
        table.add_column(col, justify="left" if col == "kind" else "right")
    for kind, row in summary["changes"].items():
        table.add_row(kind, f"{row['edits']:,}", f"{row['area_m2']:,.1f}")
    table.add_row("all", f"{summary['edits']:,}", f"{summary['area_moved_m2']:,.1f}")
    out.print(table)
    out.print(
        f"{summary['grids_edited']:,} of {summary['grids']:,} grids have edits (the others move "
        "by snapping only, if at all)",
        highlight=False,
    )
    if not summary["left"]:
        out.print("left to decide: nothing", highlight=False)
    for kind, row in summary["left"].items():
        out.print(
            f"left to decide: {row['areas']:,} {kind} area(s), {row['area_m2']:,.1f} m² "
            "(wider than the tolerance: they need a decision)",
            highlight=False,
        )


def print_assignments(summary: dict[str, Any]) -> None:
    """The quality figures before and after, the assignments proposed, the cadres' share."""
    table = Table(title="fix assignments: quality figures")
    for col in ("figure", "before", "after"):
        table.add_column(col, justify="left" if col == "figure" else "right")
    for row in summary["figures"]:
        before = "–" if row["before"] is None else f"{row['before']:,}"
        after = "–" if row["after"] is None else f"{row['after']:,}"
        table.add_row(row["label_en"], before, after)
    out.print(table)
    tiers = ", ".join(f"{n:,} {tier}" for tier, n in summary["added_by_tier"].items())
    out.print(
        f"assignments to add: {summary['added']:,}" + (f" ({tiers})" if tiers else "")
        + f"; to end: {summary['ended']:,}",
        highlight=False,
    )  # fmt: skip
    cadres = summary["cadres"]
    out.print(
        f"households left to the community's cadres: {cadres['households']:,} "
        f"in {cadres['buildings']:,} building(s)",
        highlight=False,
    )
