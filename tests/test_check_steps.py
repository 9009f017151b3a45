"""The check as declared steps: order from the declarations, what did not run and why."""

from __future__ import annotations

import datetime as dt
import inspect
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from gridgeo.check import STEPS, Inputs, Step, run_check
from gridgeo.check.engine import order_steps, run_steps
from gridgeo.cli import app
from gridgeo.layers import LAYERS
from gridgeo.policy import Policy

AS_OF = dt.date(2026, 3, 9)
#: layers the check is given that are not stored layers
CHECK_INPUTS = {"district", "mask", "input_findings"}


def _run(steps: list[Step], layers: dict) -> object:
    return run_steps(steps, layers, policy=Policy(), as_of=AS_OF, timezone="Asia/Shanghai")


def _two_grids() -> Inputs:
    grids = gpd.GeoDataFrame(
        {"code": ["G1", "G2"], "community": ["C1", "C1"]},
        geometry=[
            shapely.box(121.40, 31.20, 121.41, 31.21),
            shapely.box(121.41, 31.20, 121.42, 31.21),
        ],
        crs=4326,
    )
    buildings = gpd.GeoDataFrame(
        {"code": ["B1"]}, geometry=[shapely.box(121.401, 31.201, 121.402, 31.202)], crs=4326
    )
    return Inputs(grids, buildings)


def test_the_order_comes_from_what_the_steps_need_and_use() -> None:
    calls: list[str] = []

    def record(name: str, value: int):
        def run(c):
            calls.append(name)
            return value

        return run

    late = Step("late", record("late", 1), needs=("early",), uses=("optional",))
    early = Step("early", record("early", 2), needs=("given",))
    optional = Step("optional", record("optional", 3), needs=("given",))
    results = _run([late, early, optional], {"given": 0})
    assert calls == ["early", "optional", "late"]
    assert results.ran == ("early", "optional", "late")
    assert list(results) == ["late", "early", "optional"]  # the declared order


def test_steps_in_a_circle_or_writing_the_same_layer_are_refused() -> None:
    a = Step("a", lambda c: 1, needs=("b",))
    b = Step("b", lambda c: 2, needs=("a",))
    with pytest.raises(ValueError, match="depend on each other"):
        order_steps([a, b])
    with pytest.raises(ValueError, match="written by"):
        order_steps([Step("a", lambda c: 1), Step("b", lambda c: 2, writes=("a",))])


def test_a_step_sees_only_the_layers_it_declared() -> None:
    sneaky = Step("sneaky", lambda c: c["hidden"], needs=("given",))
    with pytest.raises(KeyError, match="sneaky did not declare the layer 'hidden'"):
        _run([sneaky], {"given": 1, "hidden": 2})
    peeking = Step("peeking", lambda c: c.get("hidden"), needs=("given",))
    with pytest.raises(KeyError, match="peeking did not declare"):
        _run([peeking], {"given": 1, "hidden": 2})


def test_every_declared_layer_is_an_input_or_written_by_a_step() -> None:
    written = {name for step in STEPS for name in step.outputs}
    known = written | set(LAYERS) | CHECK_INPUTS
    for step in STEPS:
        unknown = set(step.needs) | set(step.uses)
        assert unknown <= known, (step.name, unknown - known)
        assert step.run.__doc__, f"step {step.name} says what it does"
        assert list(inspect.signature(step.run).parameters) == ["c"]
    assert not written & set(LAYERS), "a step writes over an input layer"
    order_steps(STEPS)  # no circle, each layer written once


def test_run_check_says_which_results_were_not_computed_and_why() -> None:
    results = run_check(_two_grids(), as_of=AS_OF, timezone="Asia/Shanghai")
    assert list(results) == [
        "gaps", "overlaps", "building_grid", "straddling_buildings", "buildings_outside",
        "summary_grids", "summary_communities", "summary_district",
    ]  # fmt: skip
    missing = results.not_computed
    assert missing["unassigned_buildings"] == "no assignments in the inputs"
    assert missing["visit_weeks"] == "no visits or assignments in the inputs"
    assert missing["leader_quarters"] == "no visits, assignments or communities in the inputs"
    assert missing["meeting_months"] == "no meetings in the inputs"
    assert "input_issues" not in missing  # it ran: the inputs had no problems of their own
    assert results.skipped["input_issues"] == "the input files had no problems of their own"
    assert set(missing) | set(results) | {"input_issues"} == {
        name for step in STEPS if not step.internal for name in step.outputs
    }
    assert "household_links" in results.skipped and "household_links" not in missing


def test_a_step_that_writes_nothing_is_said_of_the_steps_after_it() -> None:
    inputs = _two_grids()
    inputs.layers["assignments"] = pd.DataFrame(
        {
            "code": ["A1"], "kind": ["member_building"], "member": ["M1"], "building": ["B1"],
            "household": [None], "grid": [None], "community": [None], "organisation": [None],
            "valid_from": pd.to_datetime(["2026-01-01"]), "valid_to": pd.NaT,
        }
    )  # fmt: skip
    results = run_check(inputs, as_of=AS_OF, timezone="Asia/Shanghai")
    assert len(results["unassigned_buildings"]) == 0
    assert results.not_computed["member_quota"] == (
        "no households, and the buildings have no households count"
    )


def test_progress_is_told_each_step_by_name() -> None:
    seen: list[tuple[str, int, int]] = []
    run_check(_two_grids(), as_of=AS_OF, timezone="Asia/Shanghai",
              progress=lambda *args: seen.append(args))  # fmt: skip
    names = [d.removeprefix("checking: ") for d, _, _ in seen[:-1]]
    assert set(names) <= {step.name for step in STEPS}
    assert names.index("gaps") < names.index("overlaps") < names.index("building_grid")
    assert "unassigned_buildings" not in names  # not run, so not announced
    assert seen[-1] == (f"checking: {len(STEPS)} steps done", len(STEPS), len(STEPS))
    assert all(total == len(STEPS) for _, _, total in seen)


def test_the_cli_prints_what_it_did_not_compute(tmp_path: Path) -> None:
    inputs = _two_grids()
    inputs.grids.to_file(tmp_path / "g.gpkg")
    inputs.buildings.to_file(tmp_path / "b.gpkg")
    result = CliRunner().invoke(
        app,
        ["check", "--grids", str(tmp_path / "g.gpkg"), "--buildings", str(tmp_path / "b.gpkg"),
         "--out", str(tmp_path / "out.gpkg")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "not computed (no visits in the inputs): last_visits" in result.output
    assert "not computed (no assignments in the inputs): unassigned_buildings" in result.output
