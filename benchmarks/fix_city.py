"""The two proposals of issue 15 on the benchmark city, timed against the check itself.

For one set of inputs (read from a store, or generated in memory) it measures

1. ``load``: reading the inputs from the store (``inputs_from_store``), the floor;
2. ``check``: ``run_check`` on them (the yardstick);
3. ``fix grids``: ``gridgeo.fix.repair_grids`` with the communities, buildings and
   responsibility, then what it did (edits by kind, area moved, what is left) and
   whether the result is a valid coverage without overlaps or seam slivers;
4. ``fix assignments``: ``gridgeo.fix.propose_assignments`` (computing its own
   building → grid, as a command would), then its quality figures: households moved,
   mean spread per member (mean distance of a member's households to their centre),
   members under the quota, unassigned and doubly held households, before and after;
5. with ``--check-again``: the proposal applied in memory (``apply_proposal``) and the
   check's own ``unassigned_buildings`` and ``member_quota`` run on the result;
6. with ``--cli``: the command-line path on a copy of the inputs in a temporary embedded
   store (``gridgeo check``, ``gridgeo fix grids`` / ``fix assignments`` and ``gridgeo
   apply`` of each, as subprocesses), each command timed; the database given with
   ``--db`` is still only read.

Target: each fix within 2x the check's time (``fix / check``). Timings are one run
each on a shared machine; the script always exits 0 and says which targets were missed.

Run it::

    .venv/bin/python benchmarks/fix_city.py                       # gridgeo_city, read only
    .venv/bin/python benchmarks/fix_city.py --db postgresql://…/other --as-of 2025-03-03
    .venv/bin/python benchmarks/fix_city.py --generate sample --check-again   # no database
    .venv/bin/python benchmarks/fix_city.py --generate sample --cli           # the commands

The database is only read: nothing is written to it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from rich.console import Console
from rich.table import Table

from gridgeo.analysis import grid_gaps, grid_overlaps, member_quota, unassigned_buildings
from gridgeo.check import Inputs, inputs_from_store, run_check
from gridgeo.fix import apply_proposal, propose_assignments, repair_grids
from gridgeo.store import open_store
from gridgeo.synth import generate

DEFAULT_DB = "postgresql://postgres@127.0.0.1:5432/gridgeo_city"
DEFAULT_AS_OF = "2025-03-03"  # the benchmark city's period start
TARGET = 2.0  # fix / check at most
LAYERS = ("communities", "households", "organisations", "members", "assignments", "visits",
          "meetings")  # fmt: skip

console = Console(highlight=False, width=None if sys.stdout.isatty() else 110)


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load(args: argparse.Namespace) -> tuple[Inputs, dt.date, dict[str, Any]]:
    """The inputs, their date, and what they are."""
    if args.generate:
        sizes = ("communities", "grids", "buildings", "households")
        overrides = {k: getattr(args, k) for k in sizes if getattr(args, k)}
        district = generate(args.generate, seed=args.seed, **overrides)
        layers = dict(district.layers)
        inputs = Inputs(layers.pop("grids"), layers.pop("buildings"),
                        layers={k: layers[k] for k in LAYERS})  # fmt: skip
        as_of = args.as_of or district.defects["period"]["start"]
        return inputs, as_of, {"source": f"generate({args.generate!r}, seed={args.seed})",
                               "counts": district.counts}  # fmt: skip
    store = open_store(args.db, create=False)  # read only: never create or upgrade
    try:
        counts = store.counts()
        inputs = inputs_from_store(store)
    finally:
        store.close()
    as_of = args.as_of or dt.date.fromisoformat(DEFAULT_AS_OF)
    return inputs, as_of, {"source": store.url, "counts": counts}


def timed(label: str, seconds: dict[str, float], fn: Any, *args: Any, **kwargs: Any) -> Any:
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    seconds[label] = time.perf_counter() - t
    console.print(f"{label}: {seconds[label]:.1f} s")
    return out


def grid_figures(inputs: Inputs, repair: Any) -> dict[str, Any]:
    """What the repair did and what it leads to."""
    communities = inputs.layers.get("communities")
    crs = repair.grids.estimate_utm_crs()
    metric = np.asarray(repair.grids.geometry.dropna().to_crs(crs).array)
    gaps = grid_gaps(repair.grids, district=communities)
    before = grid_gaps(inputs.grids, district=communities)
    by_kind = repair.changes.groupby("kind")["area_m2"].agg(["size", "sum"])
    return {
        "changes": {
            k: {"edits": int(r["size"]), "area_m2": round(float(r["sum"]), 1)}
            for k, r in by_kind.iterrows()
        },
        "left": repair.left["kind"].value_counts().to_dict(),
        "valid_coverage": bool(shapely.coverage_is_valid(metric)),
        "overlaps_before": len(grid_overlaps(inputs.grids)),
        "overlaps_after": len(grid_overlaps(repair.grids)),
        "slivers_before": int(before["kind"].eq("sliver").sum()),
        "slivers_after": int(gaps["kind"].eq("sliver").sum()),
    }


def check_again(inputs: Inputs, proposal: Any, as_of: dt.date, bg: Any) -> dict[str, Any]:
    """The check's own R6 and R5 findings on the assignments with the proposal applied."""
    layers = inputs.layers
    after = apply_proposal(layers["assignments"], proposal.actions, as_of=as_of)
    left = unassigned_buildings(
        inputs.buildings, layers["households"], after, as_of=as_of,
        members=layers["members"], building_grid=bg, grids=inputs.grids,
    )  # fmt: skip
    short = member_quota(layers["members"], layers["households"], after, as_of=as_of)
    listed = set(proposal.cadres["building"].dropna())
    return {
        "unassigned_buildings_after": len(left),
        "all_listed_for_the_cadres": set(left["building_id"]) <= listed,
        "members_under_quota_after": len(short),
    }


def print_figures(grids: dict[str, Any], proposal: Any, again: dict[str, Any] | None) -> None:
    table = Table(title="fix grids: edits and result")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for kind, v in grids["changes"].items():
        table.add_row(f"edits: {kind}", f"{v['edits']:,} ({v['area_m2']:,.1f} m²)")
    for key in ("left", "valid_coverage", "overlaps_before", "overlaps_after",
                "slivers_before", "slivers_after"):  # fmt: skip
        table.add_row(key.replace("_", " "), str(grids[key]))
    console.print(table)
    table = Table(title="fix assignments: quality figures")
    for col in ("figure", "before", "after"):
        table.add_column(col, justify="left" if col == "figure" else "right")
    for row in proposal.figures.itertuples():
        table.add_row(row.label_en, str(row.before), str(row.after))
    actions = proposal.actions
    table.add_row("assignments proposed / ended", "", f"{(actions['action'] == 'add').sum():,}"
                  f" / {(actions['action'] == 'end').sum():,}")  # fmt: skip
    for tier, n in actions["tier"].value_counts().items():
        table.add_row(f"  added, {tier}", "", f"{n:,}")
    table.add_row("households left to the cadres", "", f"{proposal.cadres['households'].sum():,}")
    for key, value in (again or {}).items():
        table.add_row(f"check again: {key.replace('_', ' ')}", "", str(value))
    console.print(table)


def cli_path(inputs: Inputs, as_of: dt.date, seconds: dict[str, float]) -> None:
    """The commands on a temporary embedded store holding the inputs, each one timed."""
    import subprocess
    import tempfile

    gridgeo = [sys.executable, "-m", "gridgeo"]
    with tempfile.TemporaryDirectory(prefix="fix-city-") as tmp:
        db = f"sqlite:///{Path(tmp) / 'city.sqlite'}"
        store = open_store(db)
        try:
            layers = {"grids": inputs.grids, "buildings": inputs.buildings, **inputs.layers}
            store.write_layers({k: v for k, v in layers.items() if v is not None})
        finally:
            store.close()
        day = ["--db", db, "--as-of", as_of.isoformat()]
        steps = [
            ("cli: check", ["check", *day, "--out", f"{tmp}/before.gpkg"]),
            ("cli: fix grids", ["fix", "grids", *day, "--out", f"{tmp}/grids.gpkg"]),
            ("cli: apply grids", ["apply", f"{tmp}/grids.gpkg", *day]),
            ("cli: fix assignments", ["fix", "assignments", *day, "--out", f"{tmp}/a.gpkg"]),
            ("cli: apply assignments", ["apply", f"{tmp}/a.gpkg", *day]),
            ("cli: check again", ["check", *day, "--out", f"{tmp}/after.gpkg"]),
        ]
        for label, args in steps:
            t = time.perf_counter()
            proc = subprocess.run([*gridgeo, *args], capture_output=True, text=True)
            seconds[label] = time.perf_counter() - t
            status = "" if proc.returncode == 0 else f"  FAILED: {proc.stderr.strip()[-300:]}"
            console.print(f"{label}: {seconds[label]:.1f} s{status}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=DEFAULT_DB, help="store URL (only read)")
    parser.add_argument("--generate", metavar="SCALE", help="generate the inputs instead")
    parser.add_argument("--seed", type=int, default=0)
    for size in ("communities", "grids", "buildings", "households"):
        parser.add_argument(f"--{size}", type=int, help=f"with --generate: number of {size}")
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=None)
    parser.add_argument("--cap", type=int, default=30, help="households per member at most")
    parser.add_argument("--check-again", action="store_true", help="apply and check R5, R6")
    parser.add_argument("--cli", action="store_true", help="also time the commands")
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    args = parser.parse_args(argv)

    seconds: dict[str, float] = {}
    inputs, as_of, about = timed("load", seconds, load, args)
    console.print(f"inputs: {about['source']}, as of {as_of}")
    console.print(", ".join(f"{n:,} {k}" for k, n in about["counts"].items() if n))
    layers = inputs.layers
    results = timed("check", seconds, run_check, inputs, as_of=as_of)
    repair = timed(
        "fix grids", seconds, repair_grids, inputs.grids,
        communities=layers.get("communities"), buildings=inputs.buildings,
        households=layers.get("households"), members=layers.get("members"),
        assignments=layers.get("assignments"), as_of=as_of,
    )  # fmt: skip
    proposal = timed(
        "fix assignments", seconds, propose_assignments, layers["households"],
        inputs.buildings, inputs.grids, layers["members"], layers["assignments"],
        as_of=as_of, cap=args.cap,
    )  # fmt: skip
    grids = grid_figures(inputs, repair)
    again = (
        check_again(inputs, proposal, as_of, results["building_grid"]) if args.check_again else None
    )
    print_figures(grids, proposal, again)
    if args.cli:
        cli_path(inputs, as_of, seconds)
    missed = []
    ratios = {}
    for name in ("fix grids", "fix assignments"):
        ratios[name] = seconds[name] / seconds["check"]
        ok = ratios[name] <= TARGET
        console.print(f"ratio {name} / check: {ratios[name]:.2f}x (target: <= {TARGET:g}x)"
                      + ("" if ok else "  MISSED"))  # fmt: skip
        if not ok:
            missed.append(f"{name} / check is {ratios[name]:.2f}x")
    console.print(f"peak RSS: {peak_rss_mb():,.0f} MiB")
    console.print("targets missed: " + "; ".join(missed) if missed else "all targets met")
    if args.json:
        figures = {
            "inputs": about, "as_of": as_of.isoformat(), "seconds": seconds, "ratios": ratios,
            "grids": grids, "assignments": proposal.figures.to_dict("records"),
            "check_again": again, "peak_rss_mb": peak_rss_mb(), "targets_missed": missed,
        }  # fmt: skip
        args.json.write_text(json.dumps(figures, indent=2, default=str))
        console.print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
