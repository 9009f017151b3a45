"""gridgeo.fix.jobs and gridgeo.fix.apply: a proposal written as files, edited, applied to a store.

On both stores, with the sample district: the assignment proposal applied leaves no
unassigned building but those listed for the cadres; the grid repair applied leaves a
valid coverage; an edited proposal with rows that cannot be applied names every such
row and leaves the store as it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from gridgeo.analysis import grid_overlaps, unassigned_buildings
from gridgeo.check import inputs_from_store, run_check
from gridgeo.check.output import headings
from gridgeo.errors import NotFound, ValidationError
from gridgeo.fix.apply import apply_file, read_proposal
from gridgeo.fix.jobs import (
    fix_assignments,
    fix_grids,
    write_assignment_proposal,
    write_grid_repair,
)
from gridgeo.policy import Policy

AS_OF = dt.date(2025, 6, 1)


@pytest.fixture
def sample_store(store, sample_frames):
    store.write_layers(sample_frames, source="sample")
    return store


def fingerprint(store) -> str:
    digest = hashlib.sha256()
    for layer in ("grids", "assignments"):
        frame = store.read_layer(layer).sort_values("code")
        digest.update(pd.util.hash_pandas_object(frame.astype(str), index=False).values)
    return digest.hexdigest()


def test_an_applied_assignment_proposal_leaves_only_the_cadres_share(sample_store, tmp_path):
    policy = Policy()
    proposal = fix_assignments(inputs_from_store(sample_store), policy=policy, as_of=AS_OF)
    files = write_assignment_proposal(proposal, tmp_path / "proposal.gpkg")
    assert files.xlsx.is_file()
    assert {"actions", "cadres", "members", "figures"} <= {
        n for n, _ in pyogrio.list_layers(files.gpkg)
    }
    before = len(sample_store.read_layer("assignments", geometry=False))
    applied = apply_file(sample_store, files.gpkg, as_of=AS_OF)
    assert applied.kind == "assignments"
    assert applied.added == int(proposal.actions["action"].eq("add").sum()) > 0
    assert applied.ended == int(proposal.actions["action"].eq("end").sum())
    after = sample_store.read_layer("assignments", geometry=False)
    assert len(after) == before + applied.added
    inputs = inputs_from_store(sample_store)
    layers = inputs.layers
    left = unassigned_buildings(
        inputs.buildings, layers["households"], layers["assignments"], as_of=AS_OF,
        members=layers["members"], grids=inputs.grids,
    )  # fmt: skip
    assert set(left["building_id"]) <= set(proposal.cadres["building"])
    # applying the same file again is refused: its codes are used, its ends are done
    with pytest.raises(ValidationError) as refused:
        apply_file(sample_store, files.gpkg, as_of=AS_OF)
    assert "already used" in str(refused.value)


def test_the_workbook_of_a_proposal_applies_as_the_geopackage_does(sample_store, tmp_path):
    proposal = fix_assignments(inputs_from_store(sample_store), policy=Policy(), as_of=AS_OF)
    files = write_assignment_proposal(proposal, tmp_path / "proposal.gpkg")
    kind, actions = read_proposal(files.xlsx)
    assert kind == "assignments" and len(actions) == len(proposal.actions)
    applied = apply_file(sample_store, files.xlsx, as_of=AS_OF)
    assert applied.added == int(proposal.actions["action"].eq("add").sum())


def test_a_proposal_workbook_is_in_chinese_and_applies_after_a_planner_edits_it(
    sample_store, tmp_path
):
    proposal = fix_assignments(inputs_from_store(sample_store), policy=Policy(), as_of=AS_OF)
    files = write_assignment_proposal(proposal, tmp_path / "proposal.gpkg")
    zh = headings("zh")
    with pd.ExcelFile(files.xlsx) as book:
        assert book.sheet_names == ["汇总", "调整清单", "兜底干部", "党员联户变化", "调整指标"]
    actions = pd.read_excel(files.xlsx, sheet_name="调整清单", dtype=object)
    assert list(actions.columns[:4]) == ["动作", "分配编号", "类型", "党员编号"]
    assert len(set(actions.columns)) == len(actions.columns)
    # the GeoPackage keeps the column names (the Chinese are its field titles)
    assert pyogrio.read_info(files.gpkg, layer="actions")["fields"][0] == "action"
    kept = actions[actions["动作"].eq("add")].iloc[:2]  # the planner kept two rows
    edited = tmp_path / "edited.xlsx"
    with pd.ExcelWriter(edited) as writer:
        kept.to_excel(writer, sheet_name=zh["sheets"]["actions"], index=False)
    kind, read = read_proposal(edited)
    assert kind == "assignments" and list(read["assignment"]) == list(kept["分配编号"])
    assert apply_file(sample_store, edited, as_of=AS_OF).added == 2


def test_an_edited_proposal_with_bad_rows_names_each_and_writes_nothing(sample_store, tmp_path):
    proposal = fix_assignments(inputs_from_store(sample_store), policy=Policy(), as_of=AS_OF)
    files = write_assignment_proposal(proposal, tmp_path / "proposal.gpkg", lang="en")
    actions = pd.read_excel(files.xlsx, sheet_name="actions", dtype=object)
    adds = np.flatnonzero(actions["action"].eq("add"))
    actions.loc[adds[0], "action"] = "transfer"
    actions.loc[adds[1], "member"] = "NO-SUCH-MEMBER"
    edited = tmp_path / "edited.xlsx"
    with pd.ExcelWriter(edited) as writer:
        actions.to_excel(writer, sheet_name="actions", index=False)
    before = fingerprint(sample_store)
    with pytest.raises(ValidationError) as refused:
        apply_file(sample_store, edited, as_of=AS_OF)
    text = str(refused.value)
    assert f"row {adds[0] + 2}" in text and "'transfer'" in text
    assert fingerprint(sample_store) == before
    actions.loc[adds[0], "action"] = "add"
    with pd.ExcelWriter(edited) as writer:
        actions.to_excel(writer, sheet_name="actions", index=False)
    with pytest.raises(ValidationError) as refused:
        apply_file(sample_store, edited, as_of=AS_OF)
    assert "NO-SUCH-MEMBER" in str(refused.value)
    assert fingerprint(sample_store) == before
    # rows the planner deleted are not applied
    kept = actions.drop(index=adds[1:])
    with pd.ExcelWriter(edited) as writer:
        kept.to_excel(writer, sheet_name="actions", index=False)
    applied = apply_file(sample_store, edited, as_of=AS_OF)
    assert applied.added == 1


def test_an_applied_grid_repair_is_a_valid_coverage_without_overlaps(sample_store, tmp_path):
    inputs = inputs_from_store(sample_store)
    assert len(grid_overlaps(inputs.grids)) > 0
    repair = fix_grids(inputs, policy=Policy(), as_of=AS_OF)
    files = write_grid_repair(repair, tmp_path / "grids.gpkg")
    applied = apply_file(sample_store, files.gpkg, as_of=AS_OF)
    assert applied.kind == "grids" and applied.changed > 0
    grids = sample_store.read_layer("grids")
    assert len(grid_overlaps(grids)) == 0
    metric = np.asarray(grids.to_crs(grids.estimate_utm_crs()).geometry.array)
    assert shapely.coverage_is_valid(metric)
    results = run_check(inputs_from_store(sample_store), as_of=AS_OF)
    assert not results["gaps"]["kind"].eq("sliver").any()
    # the same file again changes nothing
    assert apply_file(sample_store, files.gpkg, as_of=AS_OF).changed == 0


def test_files_that_are_not_proposals_are_refused_by_name(sample_store, tmp_path, sample_frames):
    with pytest.raises(NotFound):
        apply_file(sample_store, tmp_path / "missing.gpkg", as_of=AS_OF)
    other = tmp_path / "other.gpkg"
    pyogrio.write_dataframe(sample_frames["communities"], other, layer="communities")
    with pytest.raises(ValidationError, match="not a proposal"):
        apply_file(sample_store, other, as_of=AS_OF)
    text = tmp_path / "notes.txt"
    text.write_text("x")
    with pytest.raises(ValidationError, match="cannot apply"):
        apply_file(sample_store, text, as_of=AS_OF)
