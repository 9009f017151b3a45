"""``gridgeo check --engine dask`` finds on a cluster what one process finds.

The sample district (4 communities) is given defects on the border of C01 and C02:
grids of the two overlap on one stretch of it and leave a gap on another, a building
lies across it, another in the gap, a member is responsible for buildings in both
communities and visits in both, and a leader is linked to both. Exported as
partitioned GeoParquet, the folder is checked in one process and on a Dask cluster of
2 worker processes: every result layer is equal (rows, order, values, geometries), and
so are the steps that ran and why the others did not. The CLI writes the same
workbook both ways. Options that cannot work together, a scheduler that does not
answer and a folder whose buildings are not in their grid's partition are named errors.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from roundtrip_helpers import gridgeo, two_workers
from shapely import ops

from gridgeo.analysis.coverage import metric_crs
from gridgeo.check import run_check
from gridgeo.check.inputs import inputs_from_folder
from gridgeo.io.geoparquet import write_geoparquet
from gridgeo.synth import generate

distributed = pytest.importorskip("distributed")

TZ = "Asia/Shanghai"
AS_OF = dt.date(2025, 6, 1)


def _border(grids: gpd.GeoDataFrame, crs: object) -> tuple[int, int, shapely.LineString]:
    """The C01 and C02 grids sharing the longest border, and that border (metric)."""
    metric = grids.to_crs(crs)
    pairs = [
        (i, j, shapely.line_merge(shared))
        for i in metric.index[metric["community"] == "C01"]
        for j in metric.index[metric["community"] == "C02"]
        if (
            shared := metric.geometry[i].boundary.intersection(metric.geometry[j].boundary)
        ).geom_type
        in ("LineString", "MultiLineString")
    ]
    i, j, line = max(pairs, key=lambda p: p[2].length)
    assert line.geom_type == "LineString" and line.length > 150, "the sample's border moved"
    return i, j, line


def _piece(line: shapely.LineString, start: float, end: float) -> shapely.LineString:
    return ops.substring(line, start, end, normalized=True)


def _planted(root: Path) -> tuple[dict[str, pd.DataFrame], dict[str, object]]:
    frames = {name: frame.copy() for name, frame in generate("sample", seed=42).layers.items()}
    grids = frames["grids"]
    crs = metric_crs(grids)
    i, j, line = _border(grids, crs)
    metric = grids.to_crs(crs)
    a, b = metric.geometry[i], metric.geometry[j]
    # an overlap on the first stretch of the border, a gap on the last
    a = a.union(_piece(line, 0.05, 0.3).buffer(4, cap_style="flat").intersection(b))
    strip = _piece(line, 0.7, 0.95).buffer(4, cap_style="flat")
    b = b.difference(strip)
    metric.loc[[i, j], "geometry"] = gpd.GeoSeries([a, b], index=[i, j], crs=crs)
    # a community of one grid and no buildings: a partition of grids alone
    _, miny, maxx, _ = metric.total_bounds
    lone = gpd.GeoDataFrame(
        {"code": ["C05-G001"], "name": ["孤网格"], "community": ["C05"]},
        geometry=[shapely.box(maxx + 500, miny, maxx + 900, miny + 400)], crs=crs,
    )  # fmt: skip
    frames["grids"] = pd.concat([metric, lone], ignore_index=True).to_crs(4326)
    communities = frames["communities"]
    frames["communities"] = pd.concat(
        [communities, gpd.GeoDataFrame({"code": ["C05"], "name": ["新社区"]},
                                       geometry=lone.geometry.to_crs(4326).to_numpy(),
                                       crs=4326)],
        ignore_index=True,
    )  # fmt: skip
    # a building across the border (70 % in C01), another in the gap
    middle = line.interpolate(0.5, normalized=True)
    normal = np.array(shapely.get_coordinates(_piece(line, 0.49, 0.51)))
    direction = normal[-1] - normal[0]
    across = np.array([-direction[1], direction[0]]) / np.hypot(*direction)
    into_a = (
        across if a.contains(shapely.Point(*(np.array(middle.coords[0]) + across))) else -across
    )
    centre = shapely.Point(*(np.array(middle.coords[0]) + 4 * into_a))
    gap_point = strip.difference(a).representative_point()
    new = gpd.GeoDataFrame(
        {"code": ["BX1", "BX2"], "address": ["边界路1号", "边界路2号"], "households": [3, 1]},
        geometry=[centre.buffer(10, cap_style="square"), gap_point.buffer(0.5, cap_style="square")],
        crs=crs,
    ).to_crs(4326)
    frames["buildings"] = pd.concat([frames["buildings"], new], ignore_index=True)
    households = frames["households"]
    extra = pd.DataFrame({"code": ["HX1", "HX2", "HX3", "HX4"],
                          "building": ["BX1", "BX1", "BX1", "BX2"]})  # fmt: skip
    frames["households"] = pd.concat([households, extra], ignore_index=True)
    # a member with a building in each community, visiting both; a leader of both
    bg = run_check(inputs_from_folder(_folder(frames, root / "probe")), as_of=AS_OF, timezone=TZ)[
        "building_grid"
    ]
    community = bg.set_index("building_id")["grid_id"].str[:3]
    counts = households.groupby("building").size()
    one, two = (
        next(b for b in counts.index if community.get(b) == c and 1 <= counts[b] <= 4)
        for c in ("C01", "C02")
    )
    members = frames["members"]
    frames["members"] = pd.concat(
        [members, pd.DataFrame({"code": ["MX", "LX"], "name": ["边界党员", "边界领导"],
                                "role": ["member", "leader"]})],
        ignore_index=True,
    )  # fmt: skip
    day = pd.Timestamp("2025-01-01")
    a_rows = pd.DataFrame(
        {
            "code": ["AX1", "AX2", "AX3", "AX4"],
            "kind": ["member_building", "member_building", "leader_community", "leader_community"],
            "member": ["MX", "MX", "LX", "LX"],
            "community": [None, None, "C01", "C02"],
            "building": [one, two, None, None],
            "valid_from": [day] * 4,
        }
    )
    frames["assignments"] = pd.concat([frames["assignments"], a_rows], ignore_index=True)
    hh = households.drop_duplicates("building").set_index("building")["code"]
    when = pd.to_datetime(["2025-04-08T02:00Z", "2025-04-15T02:00Z", "2025-05-06T02:00Z"])
    visits = pd.DataFrame(
        {
            "code": ["VX1", "VX2", "VX3"],
            "member": ["MX", "MX", "LX"],
            "household": [hh[one], hh[two], None],
            "building": [one, two, two],
            "visited_at": when,
        }
    )
    frames["visits"] = pd.concat([frames["visits"], visits], ignore_index=True)
    planted = {"grids": (grids["code"][i], grids["code"][j]), "buildings": (one, two),
               "households": int(counts[one] + counts[two])}  # fmt: skip
    return frames, planted


def _folder(frames: dict[str, pd.DataFrame], out: Path) -> Path:
    write_geoparquet(frames, out)
    return out


@pytest.fixture(scope="module")
def planted_frames(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict[str, object]]:
    return _planted(tmp_path_factory.mktemp("check-dask-probe"))


@pytest.fixture(scope="module")
def planted(
    planted_frames: tuple[dict, dict], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, object]]:
    frames, facts = planted_frames
    return _folder(frames, tmp_path_factory.mktemp("check-dask") / "district"), facts


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A cluster of 2 worker processes, one thread each, for the module."""
    with two_workers() as address:
        yield address


@pytest.fixture(scope="module")
def both(planted: tuple[Path, dict], scheduler: str) -> tuple[dict, dict]:
    from gridgeo.check.partitioned import check_folder

    folder, _ = planted
    one = run_check(inputs_from_folder(folder), as_of=AS_OF, timezone=TZ)
    with distributed.Client(scheduler) as client:
        # a task per partition: every border between communities is one between tasks
        dask = check_folder(folder, client, as_of=AS_OF, timezone=TZ, task_buildings=1)
    return one, dask


def _partition_of(folder: Path, layer: str, code: str) -> str:
    for path in (folder / layer).glob("part=*/*.parquet"):
        if code in set(pd.read_parquet(path, columns=["code"])["code"]):
            return path.parent.name
    raise AssertionError(f"{code} is in no partition of {layer}")


def test_the_defects_lie_on_the_border_of_two_partitions(planted: tuple, both: tuple) -> None:
    folder, facts = planted
    one, _ = both
    a, b = facts["grids"]
    overlaps = one["overlaps"]
    assert {(a, b), (b, a)} & set(zip(overlaps["grid_a"], overlaps["grid_b"], strict=True))
    assert any({a, b} <= set(g.split(",")) for g in one["gaps"]["grids"].astype(str))
    straddling = one["straddling_buildings"]
    assert "BX1" in set(straddling["building_id"])
    assert _partition_of(folder, "buildings", "BX1") == "part=C01"
    assert "BX2" in set(one["buildings_outside"]["building_id"])
    mx = one["member_quota"].set_index("member_id").loc["MX"]
    assert int(mx["households"]) == facts["households"]
    first, second = facts["buildings"]
    assert {_partition_of(folder, "buildings", first), _partition_of(folder, "buildings", second)} \
        == {"part=C01", "part=C02"}  # fmt: skip
    assert set(one["leader_quarters"]["member_id"]) >= {"LX"}
    assert (folder / "grids" / "part=C05").is_dir() and not (
        folder / "buildings" / "part=C05"
    ).exists()
    assert "C05-G001" in set(one["meeting_months"]["grid_id"])
    assert "MX" in set(one["visit_weeks"]["member_id"])


def _same(one: dict, dask: dict) -> None:
    assert list(one) == list(dask)
    assert len(one) >= 20
    for name in one:
        a, b = one[name], dask[name]
        assert list(a.columns) == list(b.columns), name
        if isinstance(a, gpd.GeoDataFrame):
            assert_geodataframe_equal(a, b, check_less_precise=False)
        else:
            pd.testing.assert_frame_equal(a, b, obj=name)
    assert one.ran == dask.ran
    assert one.skipped == dask.skipped
    assert one.not_computed == dask.not_computed


def test_dask_equals_one_process_on_every_layer(both: tuple) -> None:
    _same(*both)


def test_without_members_and_organisations_the_assignments_name_them_alike(
    planted_frames: tuple[dict, dict], scheduler: str, tmp_path: Path
) -> None:
    from gridgeo.check.partitioned import check_folder

    frames = {k: v for k, v in planted_frames[0].items() if k not in ("members", "organisations")}
    folder = _folder(frames, tmp_path / "unnamed")
    one = run_check(inputs_from_folder(folder), as_of=AS_OF, timezone=TZ)
    with distributed.Client(scheduler) as client:
        dask = check_folder(folder, client, as_of=AS_OF, timezone=TZ, task_buildings=1000)
    _same(one, dask)
    assert len(one["member_quota"]) > 0 and "organisation_quota" in one


def test_what_one_process_refuses_the_cluster_refuses_alike(
    planted_frames: tuple[dict, dict], scheduler: str, tmp_path: Path
) -> None:
    from gridgeo.check.partitioned import check_folder
    from gridgeo.errors import ValidationError

    # assignments of members to households, and no households: the check cannot count them
    frames = {k: v for k, v in planted_frames[0].items() if k != "households"}
    folder = _folder(frames, tmp_path / "no-households")
    with pytest.raises(ValidationError) as local:
        run_check(inputs_from_folder(folder), as_of=AS_OF, timezone=TZ)
    with distributed.Client(scheduler) as client, pytest.raises(ValidationError) as dask:
        check_folder(folder, client, as_of=AS_OF, timezone=TZ)
    assert str(dask.value) == str(local.value) and "--households" in str(local.value)


def test_the_cli_writes_the_same_workbook_on_dask(planted: tuple, tmp_path: Path) -> None:
    folder, _ = planted
    args = ["check", "--folder", folder, "--as-of", AS_OF.isoformat(), "--lang", "en"]
    code, local = gridgeo(*args, "--out", tmp_path / "local.gpkg")
    assert code == 0, local
    code, text = gridgeo(*args, "--engine", "dask", "--out", tmp_path / "dask.gpkg")
    assert code == 0, text
    score = [line for line in text.splitlines() if "coverage score" in line]
    assert score and score == [line for line in local.splitlines() if "coverage score" in line]
    a = pd.read_excel(tmp_path / "local.xlsx", sheet_name=None)
    b = pd.read_excel(tmp_path / "dask.xlsx", sheet_name=None)
    assert a.keys() == b.keys() and len(a) > 10
    for sheet in a:
        pd.testing.assert_frame_equal(a[sheet], b[sheet], obj=sheet)


@pytest.mark.parametrize(
    ("extra", "exit_code", "said"),
    [
        (["--engine", "spark"], 2, "give local or dask"),
        (["--scheduler", "tcp://127.0.0.1:9"], 2, "only with --engine dask"),
        (["--engine", "dask", "--scheduler", "tcp://127.0.0.1:9"], 1, "cannot reach the Dask"),
    ],
)
def test_options_that_cannot_work_are_named(
    planted: tuple, tmp_path: Path, extra: list[str], exit_code: int, said: str
) -> None:
    folder, _ = planted
    code, text = gridgeo("check", "--folder", folder, *extra, "--out", tmp_path / "x.gpkg")
    assert code == exit_code and said in " ".join(text.split()), text
    assert not (tmp_path / "x.gpkg").exists()


def test_dask_without_a_folder_is_a_usage_error(tmp_path: Path) -> None:
    code, text = gridgeo("check", "--engine", "dask", "--out", tmp_path / "x.gpkg")
    assert code == 2 and "--folder" in text, text


def test_a_building_outside_its_grids_partition_is_refused(
    planted: tuple, tmp_path: Path, scheduler: str
) -> None:
    from gridgeo.check.partitioned import check_folder
    from gridgeo.errors import ValidationError

    folder, _ = planted
    moved = tmp_path / "moved"
    shutil.copytree(folder, moved)
    source = moved / "buildings" / "part=C01" / "part-0.parquet"
    target = moved / "buildings" / "part=C02" / "part-0.parquet"
    a, b = pq.read_table(source), pq.read_table(target)
    row = a.slice(0, 1)
    code = row.column("code")[0].as_py()
    pq.write_table(a.slice(1), source)
    pq.write_table(pa.concat_tables([b, row.cast(b.schema)]), target)
    with distributed.Client(scheduler) as client, pytest.raises(ValidationError) as raised:
        check_folder(moved, client, as_of=AS_OF, timezone=TZ, task_buildings=1)
    text = str(raised.value)
    assert repr(code) in text and "export the folder again" in text, text
