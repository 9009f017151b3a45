"""``gridgeo fix grids``, ``gridgeo fix assignments`` and ``gridgeo apply`` through the command line.

Check again: on the sample district and on a generated one, both proposals applied
through the CLI, then ``gridgeo check`` finds no seam sliver or overlap, no unassigned
building but those the proposal listed for the cadres, and no member under quota
where the grid had enough households. And every broken input is a named error, no
traceback, with the store as it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from typer.testing import CliRunner

from gridgeo.check.output import headings
from gridgeo.cli import app
from gridgeo.store import open_store
from gridgeo.synth import generate

SAMPLE = Path(__file__).resolve().parent.parent / "shapes" / "sample_district.gpkg"
AS_OF = "2025-06-01"
runner = CliRunner()


def gridgeo(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def findings(path: Path) -> dict[str, pd.DataFrame]:
    return {
        name: pyogrio.read_dataframe(path, layer=name, read_geometry=False)
        for name, _ in pyogrio.list_layers(path)
    }


def counts(found: dict[str, pd.DataFrame]) -> dict[str, int]:
    gaps = found.get("gaps", pd.DataFrame({"kind": []}))
    return {
        "slivers": int(gaps["kind"].eq("sliver").sum()),
        "overlaps": len(found.get("overlaps", ())),
        "unassigned_buildings": len(found.get("unassigned_buildings", ())),
        "multi_assigned_buildings": len(found.get("multi_assigned_buildings", ())),
        "members_under_quota": len(found.get("member_quota", ())),
    }


def fingerprint(url: str) -> str:
    store = open_store(url)
    try:
        digest = hashlib.sha256()
        for layer in ("grids", "assignments"):
            frame = store.read_layer(layer).sort_values("code")
            digest.update(pd.util.hash_pandas_object(frame.astype(str), index=False).values)
        return digest.hexdigest()
    finally:
        store.close()


def fix_apply_check(db: str, tmp: Path, as_of: str) -> tuple[dict, dict, Path]:
    """check, fix grids && apply, fix assignments && apply, check; the counts before and after."""
    code, out = gridgeo("check", "--db", db, "--as-of", as_of, "--out", tmp / "before.gpkg")
    assert code == 0, out
    code, out = gridgeo("fix", "grids", "--db", db, "--as-of", as_of, "--out", tmp / "g.gpkg")
    assert code == 0, out
    assert "fix grids: edits" in out and "left to decide" in out
    code, out = gridgeo("apply", tmp / "g.gpkg", "--db", db, "--as-of", as_of)
    assert code == 0 and "outline(s) changed" in out, out
    code, out = gridgeo("fix", "assignments", "--db", db, "--as-of", as_of, "--out", tmp / "a.gpkg")
    assert code == 0, out
    assert "members under the quota" in out and "left to the community's cadres" in out
    code, out = gridgeo("apply", tmp / "a.gpkg", "--db", db, "--as-of", as_of)
    assert code == 0 and re.search(r"assignments: \d+ added, \d+ ended", out), out
    code, out = gridgeo("check", "--db", db, "--as-of", as_of, "--out", tmp / "after.gpkg")
    assert code == 0, out
    before, after = findings(tmp / "before.gpkg"), findings(tmp / "after.gpkg")
    print("before:", counts(before))
    print("after: ", counts(after))
    return before, after, tmp / "a.gpkg"


def assert_checked_again(after: dict, proposal: Path, households: pd.DataFrame) -> None:
    assert counts(after)["slivers"] == 0
    assert counts(after)["overlaps"] == 0
    cadres = pyogrio.read_dataframe(proposal, layer="cadres", read_geometry=False)
    left = set(after.get("unassigned_buildings", pd.DataFrame({"building_id": []}))["building_id"])
    assert left <= set(cadres["building"])
    # a member still under quota only where the grid has too few households for its members
    short = after.get("member_quota", pd.DataFrame({"member_id": []}))
    members = pyogrio.read_dataframe(proposal, layer="members", read_geometry=False)
    grid_of = after["building_grid"].set_index("building_id")["grid_id"]
    per_grid = households["building"].map(grid_of).value_counts()
    for member in short["member_id"]:
        grid, community = members.loc[members["member_id"] == member, ["grid", "community"]].iloc[0]
        if pd.isna(grid):  # no grid yet: nothing in the community's grids was left over
            left_over = cadres["community"].eq(community) & cadres["grid"].notna()
            assert not left_over.any(), (member, community)
            continue
        in_grid = int(members["grid"].eq(grid).sum())
        assert per_grid.get(grid, 0) < 10 * in_grid, (member, grid)


def test_check_again_on_the_sample_district(tmp_path: Path, sample_frames: dict) -> None:
    db = f"sqlite:///{tmp_path / 'sample.sqlite'}"
    code, out = gridgeo("load", SAMPLE, "--db", db)
    assert code == 0, out
    before, after, proposal = fix_apply_check(db, tmp_path, AS_OF)
    assert counts(before) == {
        "slivers": 1, "overlaps": 1, "unassigned_buildings": 61,
        "multi_assigned_buildings": 30, "members_under_quota": 9,
    }  # fmt: skip
    assert counts(after) == {
        "slivers": 0, "overlaps": 0, "unassigned_buildings": 1,
        "multi_assigned_buildings": 0, "members_under_quota": 0,
    }  # fmt: skip
    assert_checked_again(after, proposal, sample_frames["households"])


@pytest.mark.parametrize("scale", ["tiny", "sample"])
def test_check_again_on_a_generated_district(tmp_path: Path, scale: str) -> None:
    district = generate(scale, seed=0)
    db = f"sqlite:///{tmp_path / 'gen.sqlite'}"
    store = open_store(db)
    try:
        store.write_layers(district.layers)
    finally:
        store.close()
    # the day after the period's start: assignments planted on the start day can be ended
    as_of = (district.defects["period"]["start"] + dt.timedelta(days=1)).isoformat()
    before, after, proposal = fix_apply_check(db, tmp_path, as_of)
    assert counts(before)["unassigned_buildings"] > counts(after)["unassigned_buildings"]
    assert_checked_again(after, proposal, district.layers["households"])


# -- broken inputs: each a named error, no traceback, the store as it was -------------------


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A store of the sample district and the two proposals made on it (not applied)."""
    tmp = tmp_path_factory.mktemp("broken")
    db = f"sqlite:///{tmp / 'sample.sqlite'}"
    assert gridgeo("load", SAMPLE, "--db", db)[0] == 0
    for kind in ("grids", "assignments"):
        code, out = gridgeo(
            "fix", kind, "--db", db, "--as-of", AS_OF, "--out", tmp / f"{kind}.gpkg"
        )
        assert code == 0, out
    return {"db": db, "tmp": tmp}


def _edited_actions(made: dict, name: str, edit) -> Path:
    """The workbook's actions edited as a planner would, in the Chinese it was written in."""
    zh = headings("zh")
    actions = pd.read_excel(
        made["tmp"] / "assignments.xlsx", sheet_name=zh["sheets"]["actions"], dtype=object
    )
    english = {title: column for column, title in zh["columns"].items() if title in actions}
    actions = edit(actions.rename(columns=english)).rename(columns=zh["columns"])
    path = made["tmp"] / name
    with pd.ExcelWriter(path) as writer:
        actions.to_excel(writer, sheet_name=zh["sheets"]["actions"], index=False)
    return path


def _first(action: str):
    def at(actions: pd.DataFrame) -> int:
        return int(actions.index[actions["action"].eq(action)][0])

    return at


def _set(action: str, column: str, value: object):
    def edit(actions: pd.DataFrame) -> pd.DataFrame:
        actions.loc[_first(action)(actions), column] = value
        return actions

    return edit


def _edited_grids(made: dict, name: str, edit) -> Path:
    grids = pyogrio.read_dataframe(made["tmp"] / "grids.gpkg", layer="grids")
    path = made["tmp"] / name
    for layer, frame in (("grids", edit(grids)), ("changes", None)):
        if frame is None:
            frame = pyogrio.read_dataframe(made["tmp"] / "grids.gpkg", layer=layer)
        pyogrio.write_dataframe(frame, path, layer=layer)
    return path


def _bowtie(grids):
    import shapely

    grids.loc[0, "geometry"] = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    return grids


def _stranger_grid(grids):
    grids.loc[0, "code"] = "NO-SUCH-GRID"
    return grids


def _a_household_elsewhere(actions: pd.DataFrame) -> pd.DataFrame:
    rows = actions.index[actions["household"].notna() & actions["action"].eq("add")]
    actions.loc[rows[0], "building"] = actions.loc[actions["building"].notna(), "building"].iloc[-1]
    return actions


def _broken_files(made: dict, tmp: Path) -> dict[str, tuple[Path, str]]:
    """name → (file given to gridgeo apply, what the error says)."""
    (tmp / "notes.txt").write_text("not a proposal")
    (tmp / "garbage.gpkg").write_bytes(b"this is not a GeoPackage" * 40)
    (tmp / "garbage.xlsx").write_bytes(b"PK\x03\x04 not a workbook")
    other = tmp / "communities.gpkg"
    pyogrio.write_dataframe(pyogrio.read_dataframe(SAMPLE, layer="communities"), other,
                            layer="communities")  # fmt: skip
    return {
        "missing file": (tmp / "missing.gpkg", "no such file"),
        "not a proposal (text)": (tmp / "notes.txt", "cannot apply a .txt"),
        "not a proposal (layers)": (other, "not a proposal"),
        "findings of check": (made["tmp"] / "findings.gpkg", "not a proposal"),
        "broken GeoPackage": (tmp / "garbage.gpkg", "cannot be read as a GeoPackage"),
        "broken workbook": (tmp / "garbage.xlsx", "cannot be read as a workbook"),
        "grid repair as workbook": (made["tmp"] / "grids.xlsx", "applied from its GeoPackage"),
        "unknown action": (_edited_actions(made, "a1.xlsx", _set("add", "action", "transfer")),
                           "unknown action 'transfer'"),
        "unknown kind": (_edited_actions(made, "a2.xlsx", _set("add", "kind", "member_street")),
                         "unknown kind 'member_street'"),
        "unknown member": (_edited_actions(made, "a3.xlsx", _set("add", "member", "NO-SUCH-M")),
                           "NO-SUCH-M"),
        "no code": (_edited_actions(made, "a4.xlsx", _set("add", "assignment", None)),
                    "no assignment code"),
        "end of an unknown row": (_edited_actions(made, "a5.xlsx",
                                                  _set("end", "assignment", "NO-SUCH-A")),
                                  "no stored assignment 'NO-SUCH-A'"),
        "column deleted": (_edited_actions(made, "a6.xlsx", lambda a: a.drop(columns="action")),
                           "column 'action' is missing"),
        "household elsewhere": (_edited_actions(made, "a7.xlsx", _a_household_elsewhere),
                                "is in building"),
        "invalid grid outline": (_edited_grids(made, "g1.gpkg", _bowtie), "not a valid polygon"),
        "unknown grid": (_edited_grids(made, "g2.gpkg", _stranger_grid), "no stored grid"),
    }  # fmt: skip


def _refused(args: list, expected: str) -> None:
    result = runner.invoke(app, [str(a) for a in args])
    output = result.output
    assert result.exit_code != 0, output
    assert result.exception is None or isinstance(result.exception, SystemExit), output
    assert "Traceback" not in output, output
    assert expected in output, output


def test_apply_names_every_broken_input_and_writes_nothing(made: dict, tmp_path: Path) -> None:
    db = made["db"]
    code, out = gridgeo(
        "check", "--db", db, "--as-of", AS_OF, "--out", made["tmp"] / "findings.gpkg"
    )
    assert code == 0, out
    before = fingerprint(db)
    for name, (path, expected) in _broken_files(made, tmp_path).items():
        try:
            _refused(["apply", path, "--db", db, "--as-of", AS_OF], expected)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from None
        assert fingerprint(db) == before, name
    _refused(["apply", made["tmp"] / "grids.gpkg", "--db", db, "--as-of", "2025-13-01"],
             "YYYY-MM-DD")  # fmt: skip
    _refused(["apply", made["tmp"] / "grids.gpkg", "--db", "mysql://nobody@nowhere/x"], "error")
    assert fingerprint(db) == before


def test_fix_names_every_broken_input(made: dict, tmp_path: Path) -> None:
    db, out = made["db"], tmp_path / "p.gpkg"
    (tmp_path / "bad.toml").write_text("min_member_households = 'ten'\n")
    (tmp_path / "broken.toml").write_text("this is = not toml [\n")
    cases = [
        (["fix", "grids", "--grids", tmp_path / "none.gpkg", "--buildings", tmp_path / "no.gpkg"],
         "none.gpkg"),
        (["fix", "grids", "--grids", SAMPLE], "--buildings"),
        (["fix", "assignments", "--grids", f"{SAMPLE}", "--buildings", f"{SAMPLE}"],
         "needs the households"),
        (["fix", "grids", "--db", db, "--policy", tmp_path / "bad.toml"], "min_member_households"),
        (["fix", "grids", "--db", db, "--policy", tmp_path / "broken.toml"], "broken.toml"),
        (["fix", "grids", "--db", db, "--policy", tmp_path / "absent.toml"], "absent.toml"),
        (["fix", "assignments", "--db", db, "--as-of", "June"], "YYYY-MM-DD"),
    ]  # fmt: skip
    before = fingerprint(db)
    for args, expected in cases:
        _refused([*args, "--out", out], expected)
    assert fingerprint(db) == before
