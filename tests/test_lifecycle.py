"""The problem list's lifecycle (R10, R11) on hand-made problems with hand-computed answers."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from gridgeo.analysis.coverage import building_grid
from gridgeo.analysis.findings import FINDING_COLUMNS
from gridgeo.analysis.lifecycle import (
    lifecycle_findings,
    lifecycle_results,
    lifecycle_table,
    overdue_problems,
    problem_areas,
    problem_lifecycle,
    problems_without_feedback,
    repeat_problems,
    unowned_problems,
)
from gridgeo.check.output import headings
from gridgeo.cli import app
from gridgeo.policy import Policy
from gridgeo.store import open_store
from gridgeo.synth import generate

SAMPLE = Path(__file__).resolve().parent.parent / "shapes" / "sample_district.gpkg"
TZ = "Asia/Shanghai"  # UTC+8, no daylight saving
COLUMNS = ["code", "category", "building", "responsible", "deadline", "reported_at",
           "resolved_at", "escalated_at", "closed_at", "feedback_at", "feedback"]  # fmt: skip


def problems(*rows: dict) -> gpd.GeoDataFrame:
    """Problems from partial rows (times as UTC strings); every problem at (0.5, 0.5)."""
    frame = pd.DataFrame([{c: row.get(c) for c in COLUMNS} for row in rows])
    frame["category"] = frame["category"].fillna("停车")
    frame["responsible"] = [row.get("responsible", "M1") for row in rows]
    frame["deadline"] = pd.to_datetime([row.get("deadline", "2026-12-31") for row in rows]).astype(
        "datetime64[ns]"
    )
    for col in ("reported_at", "resolved_at", "escalated_at", "closed_at", "feedback_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True, format="ISO8601")
    points = [row.get("at", (0.5, 0.5)) for row in rows]
    return gpd.GeoDataFrame(frame, geometry=shapely.points(points), crs=4326)


def codes(frame: pd.DataFrame) -> list[str]:
    return sorted(frame["code"])


# ----------------------------------------------------------------- the review meeting ---


def test_the_review_meeting_is_the_first_9th_after_the_local_report_day() -> None:
    p = problems(
        {"code": "P03", "reported_at": "2026-03-03T02:00Z"},  # 3 March 10:00 local
        {"code": "P08", "reported_at": "2026-03-08T15:30Z"},  # 8 March 23:30 local
        {"code": "P09", "reported_at": "2026-03-08T16:30Z"},  # 9 March 00:30 local
        {"code": "P09b", "reported_at": "2026-03-09T06:00Z"},  # 9 March 14:00 local
        {"code": "P31", "reported_at": "2026-03-31T12:00Z"},  # 31 March 20:00 local
    )
    life = problem_lifecycle(p, as_of="2026-05-01", timezone=TZ).set_index("problem_id")
    assert life["reported_on"].dt.strftime("%m-%d").to_dict() == {
        "P03": "03-03", "P08": "03-08", "P09": "03-09", "P09b": "03-09", "P31": "03-31",
    }  # fmt: skip
    assert life["review_meeting"].dt.strftime("%m-%d").to_dict() == {
        "P03": "03-09", "P08": "03-09", "P09": "04-09", "P09b": "04-09", "P31": "04-09",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("as_of", "overdue"),
    [
        ("2026-03-08", []),
        ("2026-03-09", []),  # the meeting day: a resolution that day is still in time
        ("2026-03-10", ["P03", "P08"]),
        ("2026-04-09", ["P03", "P08"]),
        ("2026-04-10", ["P03", "P08", "P09", "P09b"]),
    ],
)
def test_open_problems_are_overdue_from_the_day_after_their_meeting(
    as_of: str, overdue: list[str]
) -> None:
    p = problems(
        {"code": "P03", "reported_at": "2026-03-03T02:00Z"},
        {"code": "P08", "reported_at": "2026-03-08T15:30Z"},
        {"code": "P09", "reported_at": "2026-03-08T16:30Z"},
        {"code": "P09b", "reported_at": "2026-03-09T06:00Z"},
    )
    found = overdue_problems(p, as_of=as_of, timezone=TZ)
    assert codes(found) == overdue
    assert set(found["rule"]) <= {"R11"}
    assert list(found.columns[: len(FINDING_COLUMNS)]) == list(FINDING_COLUMNS)


def test_a_problem_reported_on_the_9th_and_overdue_a_month_later() -> None:
    p = problems({"code": "P09", "reported_at": "2026-03-09T01:00Z"})
    found = overdue_problems(p, as_of="2026-04-10", timezone=TZ)
    row = found.iloc[0]
    assert (row["code"], row["rule"], row["days_open"]) == ("P09", "R11", 32)
    assert row["review_meeting"] == pd.Timestamp("2026-04-09")
    assert (
        row["explanation_en"]
        == "reported 2026-03-09, still unresolved after the joint meeting of 2026-04-09"
    )
    assert row.geometry.equals(shapely.Point(0.5, 0.5))


def test_resolution_on_the_meeting_day_is_in_time_and_an_escalation_is_not_a_resolution() -> None:
    p = problems(
        # resolved at 23:00 local on the 9th: in time
        {"code": "A", "reported_at": "2026-03-03T02:00Z", "resolved_at": "2026-03-09T15:00Z"},
        # resolved at 00:30 local on the 10th: missed the meeting, no longer open later
        {"code": "B", "reported_at": "2026-03-03T02:00Z", "resolved_at": "2026-03-09T16:30Z"},
        # escalated before the meeting, still unsolved
        {"code": "C", "reported_at": "2026-03-03T02:00Z", "escalated_at": "2026-03-04T02:00Z"},
        # escalated, unsolvable, closed with an explanation at the meeting
        {"code": "D", "reported_at": "2026-03-03T02:00Z", "escalated_at": "2026-03-04T02:00Z",
         "closed_at": "2026-03-09T07:00Z", "feedback_at": "2026-03-09T08:00Z"},
    )  # fmt: skip
    life = problem_lifecycle(p, as_of="2026-03-20", timezone=TZ).set_index("problem_id")
    assert life["missed_meeting"].to_dict() == {"A": False, "B": True, "C": True, "D": False}
    assert life["state"].astype(str).to_dict() == {
        "A": "resolved_on_site", "B": "resolved_on_site", "C": "escalated", "D": "closed",
    }  # fmt: skip
    assert codes(overdue_problems(p, as_of="2026-03-20", timezone=TZ)) == ["C"]
    # replayed at the end of 9 March, B was still open but not yet overdue
    assert codes(overdue_problems(p, as_of="2026-03-09", timezone=TZ)) == []
    assert not life.loc["B", "unresolved"]
    on_the_9th = problem_lifecycle(p, as_of="2026-03-09", timezone=TZ).set_index("problem_id")
    assert on_the_9th["unresolved"].to_dict() == {"A": False, "B": True, "C": True, "D": False}


def test_a_problem_past_its_deadline_is_overdue_before_its_meeting() -> None:
    p = problems(
        {"code": "P1", "reported_at": "2026-03-10T02:00Z", "deadline": "2026-03-15"},
        {"code": "P2", "reported_at": "2026-03-10T02:00Z", "deadline": "2026-03-20"},
        {"code": "P3", "reported_at": "2026-03-10T02:00Z", "deadline": "2026-03-15",
         "resolved_at": "2026-03-15T10:00Z"},
    )  # fmt: skip
    found = overdue_problems(p, as_of="2026-03-20", timezone=TZ)
    assert found[["code", "rule", "missed_meeting", "missed_deadline"]].values.tolist() == [
        ["P1", "R10", False, True]
    ]
    assert found["explanation_en"].iloc[0].endswith("after its deadline 2026-03-15")
    later = overdue_problems(p, as_of="2026-04-10", timezone=TZ)
    assert later[["code", "rule"]].values.tolist() == [["P1", "R11"], ["P2", "R11"]]


def test_the_meeting_day_follows_the_policy() -> None:
    p = problems({"code": "P1", "reported_at": "2026-03-03T02:00Z"})
    policy = Policy(joint_meeting_day=15)
    life = problem_lifecycle(p, as_of="2026-03-10", timezone=TZ, policy=policy)
    assert life["review_meeting"].iloc[0] == pd.Timestamp("2026-03-15")
    assert overdue_problems(p, as_of="2026-03-10", timezone=TZ, policy=policy).empty
    assert len(overdue_problems(p, as_of="2026-03-16", timezone=TZ, policy=policy)) == 1


def test_problems_reported_after_as_of_are_left_out() -> None:
    p = problems(
        {"code": "P1", "reported_at": "2026-03-03T02:00Z"},
        {"code": "P2", "reported_at": "2026-03-10T16:30Z"},  # 11 March 00:30 local
    )
    assert problem_lifecycle(p, as_of="2026-03-10", timezone=TZ)["problem_id"].tolist() == ["P1"]


# ------------------------------------------------- feedback, ownership and repeats ---


def test_closed_problems_without_feedback() -> None:
    closed = {"reported_at": "2026-03-01T02:00Z", "resolved_at": "2026-03-01T04:00Z",
              "closed_at": "2026-03-09T07:00Z"}  # fmt: skip
    p = problems(
        {"code": "none", **closed},
        {"code": "dated", **closed, "feedback_at": "2026-03-10T02:00Z", "feedback": "已反馈"},
        {"code": "text only", **closed, "feedback": "已电话反馈"},
        {"code": "late", **closed, "feedback_at": "2026-03-25T02:00Z", "feedback": "已反馈"},
        {"code": "not closed", "reported_at": "2026-03-01T02:00Z"},
    )
    found = problems_without_feedback(p, as_of="2026-03-20", timezone=TZ)
    assert codes(found) == ["late", "none"]
    assert set(found["rule"]) == {"R11"}
    assert found["closed_on"].tolist() == [pd.Timestamp("2026-03-09")] * 2
    assert found["days_since_closed"].tolist() == [11, 11]
    assert codes(problems_without_feedback(p, as_of="2026-03-25", timezone=TZ)) == ["none"]


def test_problems_without_a_responsible_person_or_deadline() -> None:
    p = problems(
        {"code": "ok", "reported_at": "2026-03-01T02:00Z"},
        {"code": "nobody", "reported_at": "2026-03-01T02:00Z", "responsible": None},
        {"code": "blank", "reported_at": "2026-03-01T02:00Z", "responsible": "  "},
        {"code": "undated", "reported_at": "2026-03-01T02:00Z", "deadline": None},
        {"code": "both", "reported_at": "2026-03-01T02:00Z", "responsible": None,
         "deadline": None},
    )  # fmt: skip
    found = unowned_problems(p, as_of="2026-03-10", timezone=TZ)
    assert dict(zip(found["code"], found["missing"], strict=True)) == {
        "nobody": "responsible", "blank": "responsible", "undated": "deadline",
        "both": "responsible,deadline",
    }  # fmt: skip
    assert set(found["rule"]) == {"R10"}
    assert found.loc[found["code"] == "both", "explanation_zh"].item() == "未定责任人和办理时限"


def test_repeat_problems_at_one_building() -> None:
    p = problems(
        {"code": "P1", "building": "B1", "reported_at": "2026-01-01T02:00Z"},
        {"code": "P2", "building": "B1", "reported_at": "2026-02-20T02:00Z"},  # 50 days later
        {"code": "P3", "building": "B1", "reported_at": "2026-07-20T02:00Z"},  # 150 days later
        {"code": "P4", "building": "B1", "reported_at": "2026-02-21T02:00Z", "category": "卫生"},
        {"code": "P5", "building": "B2", "reported_at": "2026-02-21T02:00Z"},
        {"code": "P6", "building": None, "reported_at": "2026-02-21T02:00Z"},
    )
    found = repeat_problems(p, as_of="2026-08-01", timezone=TZ)
    assert found[["code", "previous", "days_between"]].values.tolist() == [["P2", "P1", 50]]
    assert set(found["severity"]) == {"info"}
    wide = repeat_problems(
        p, as_of="2026-08-01", timezone=TZ, policy=Policy(repeat_window_days=200)
    )
    assert wide[["code", "previous"]].values.tolist() == [["P2", "P1"], ["P3", "P2"]]
    # as of February, P2 has not been reported yet
    assert repeat_problems(p, as_of="2026-02-01", timezone=TZ).empty


def test_the_four_findings_at_once() -> None:
    p = problems(
        {"code": "P1", "building": "B1", "reported_at": "2026-03-03T02:00Z", "responsible": None},
        {"code": "P2", "building": "B1", "reported_at": "2026-03-04T02:00Z",
         "resolved_at": "2026-03-04T03:00Z", "closed_at": "2026-03-09T07:00Z"},
    )  # fmt: skip
    found = lifecycle_findings(p, as_of="2026-03-10", timezone=TZ)
    assert {k: codes(v) for k, v in found.items()} == {
        "overdue_problems": ["P1"],
        "problems_without_feedback": ["P2"],
        "unowned_problems": ["P1"],
        "repeat_problems": ["P2"],
    }
    assert all(f.crs.to_epsg() == 4326 for f in found.values())


# --------------------------------------------------------------------- the tables ---


@pytest.fixture
def area() -> dict:
    """Grids G1, G2 (community C1) and G3 (C2), side by side; B1 in G1, B2 in G2."""
    grids = gpd.GeoDataFrame(
        {"code": ["G1", "G2", "G3"], "community": ["C1", "C1", "C2"]},
        geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1), shapely.box(2, 0, 3, 1)],
        crs=4326,
    )
    placement = pd.DataFrame({"building_id": ["B1", "B2", "B9"], "grid_id": ["G1", "G2", None]})
    return {"grids": grids, "building_grid": placement}


def closing(code: str, building: str, days: float, **more: object) -> dict:
    start = pd.Timestamp("2026-03-02T02:00Z")
    end = start + pd.Timedelta(days=days)
    return {"code": code, "building": building, "reported_at": str(start),
            "resolved_at": str(start + pd.Timedelta(hours=1)), "closed_at": str(end),
            "feedback_at": str(end), **more}  # fmt: skip


def test_problems_are_placed_by_building_then_by_point(area: dict) -> None:
    p = problems(
        {"code": "P1", "building": "B2", "reported_at": "2026-03-02T02:00Z", "at": (0.5, 0.5)},
        {"code": "P2", "building": None, "reported_at": "2026-03-02T02:00Z", "at": (2.5, 0.5)},
        {"code": "P3", "building": "B9", "reported_at": "2026-03-02T02:00Z", "at": (1.5, 0.5)},
        {"code": "P4", "building": "B9", "reported_at": "2026-03-02T02:00Z", "at": (9.0, 9.0)},
    )
    placed = problem_areas(p, area["grids"], building_grid=area["building_grid"])
    assert placed[["grid", "community", "located_by"]].astype(object).values.tolist() == [
        ["G2", "C1", "building"],
        ["G3", "C2", "point"],
        ["G2", "C1", "point"],
        [pd.NA, pd.NA, pd.NA],
    ]


def test_close_time_median_and_90th_percentile(area: dict) -> None:
    p = problems(
        closing("P1", "B1", 1), closing("P2", "B1", 2), closing("P3", "B1", 3),
        closing("P4", "B1", 4), closing("P5", "B1", 10),
        {"code": "P6", "building": "B1", "reported_at": "2026-03-02T02:00Z"},
    )  # fmt: skip
    t = lifecycle_table(p, level="grid", as_of="2026-03-31", timezone=TZ, **area)
    g1 = t[t["grid"] == "G1"].iloc[0]
    assert (g1["month"], g1["reported"], g1["closed"], g1["still_open"]) == ("2026-03", 6, 5, 1)
    assert g1["close_days_median"] == pytest.approx(3.0)
    # linear interpolation: position 0.9 * (5 - 1) = 3.6 between 4 and 10 days
    assert g1["close_days_p90"] == pytest.approx(7.6)
    assert g1["resolved_on_site_share"] == pytest.approx(5 / 6)
    assert g1["escalated_share"] == 0.0
    g2 = t[t["grid"] == "G2"].iloc[0]
    assert g2["reported"] == 0 and pd.isna(g2["close_days_median"])
    assert pd.isna(g2["resolved_on_site_share"])


def test_per_community_and_district_tables(area: dict) -> None:
    p = problems(
        # G1 (C1), March: on site, closed in 7 days, no feedback, no responsible person
        closing("P1", "B1", 7, feedback_at=None, responsible=None),
        # G2 (C1), March: escalated, still open after 9 March and 9 April
        {"code": "P2", "building": "B2", "reported_at": "2026-03-05T02:00Z",
         "escalated_at": "2026-03-06T02:00Z"},
        # G2 (C1): 1 April 00:30 local is April, a repeat of P2 (same building and category)
        {"code": "P3", "building": "B2", "reported_at": "2026-03-31T16:30Z", "deadline": None},
        # G3 (C2), April
        {"code": "P4", "building": None, "reported_at": "2026-04-02T02:00Z", "at": (2.5, 0.5),
         "resolved_at": "2026-04-02T03:00Z"},
    )  # fmt: skip
    kw = {"as_of": "2026-04-20", "timezone": TZ, **area}
    cols = ["reported", "resolved_on_site_share", "escalated_share", "closed",
            "close_days_median", "still_open", "overdue", "past_deadline",
            "closed_without_feedback", "no_responsible", "no_deadline", "repeats"]  # fmt: skip
    t = lifecycle_table(p, level="community", **kw).set_index(["community", "month"])
    assert t.index.tolist() == [("C1", "2026-03"), ("C1", "2026-04"),
                                ("C2", "2026-03"), ("C2", "2026-04")]  # fmt: skip
    assert t.loc[("C1", "2026-03"), cols].tolist() == [2, 0.5, 0.5, 1, 7.0, 1, 1, 0, 1, 1, 0, 0]
    april = t.loc[("C1", "2026-04"), cols].fillna(-1).tolist()  # P3 missed its 9 April meeting
    assert april == [1, 0.0, 0.0, 0, -1, 1, 1, 0, 0, 0, 1, 1]
    assert t.loc[("C2", "2026-03"), "reported"] == 0
    c2_april = t.loc[("C2", "2026-04"), ["reported", "resolved_on_site_share", "still_open"]]
    assert c2_april.tolist() == [
        1, 1.0, 0
    ]  # fmt: skip
    d = lifecycle_table(p, level="district", **kw).set_index("month")
    assert d["district"].unique().tolist() == ["district"]
    summed = t.groupby(level="month")[["reported", "closed", "overdue", "repeats"]].sum()
    assert (d[["reported", "closed", "overdue", "repeats"]] == summed).all().all()
    g = lifecycle_table(p, level="grid", **kw)
    assert g.groupby("month")["reported"].sum().tolist() == d["reported"].tolist()
    assert len(g) == 3 * 2
    q = lifecycle_table(p, level="district", freq="Q", **kw)
    assert q[["quarter", "reported"]].values.tolist() == [["2026-Q1", 2], ["2026-Q2", 2]]


def test_problems_in_no_grid_keep_a_row(area: dict) -> None:
    p = problems({"code": "P1", "building": None, "reported_at": "2026-03-02T02:00Z",
                  "at": (9.0, 9.0)})  # fmt: skip
    t = lifecycle_table(p, level="grid", as_of="2026-03-31", timezone=TZ, **area)
    assert t["grid"].isna().sum() == 1
    assert t.loc[t["grid"].isna(), "reported"].item() == 1


def test_table_arguments_are_checked(area: dict) -> None:
    p = problems({"code": "P1", "reported_at": "2026-03-02T02:00Z"})
    with pytest.raises(ValueError, match="level 'street'"):
        lifecycle_table(p, level="street", as_of="2026-03-31")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs grids"):
        lifecycle_table(p, level="grid", as_of="2026-03-31")
    with pytest.raises(ValueError, match="freq 'D'"):
        lifecycle_table(p, level="district", freq="D", as_of="2026-03-31")


# ------------------------------------------------------------- the sample district ---


@pytest.fixture(scope="module")
def sample() -> tuple:
    district = generate("sample", seed=42)
    layers = district.layers
    placement = building_grid(layers["buildings"], layers["grids"])
    results = lifecycle_results(
        layers["problems"],
        grids=layers["grids"],
        building_grid=placement,
        as_of=district.defects["period"]["end"],
        timezone=TZ,
    )
    return district, results


def test_the_sample_districts_planted_lifecycle_defects_are_all_found(sample: tuple) -> None:
    district, results = sample
    planted = district.defects
    overdue = results["overdue_problems"]
    # the generator plants problems unresolved past their deadline
    assert set(overdue.loc[overdue["missed_deadline"], "code"]) == set(planted["overdue_problems"])
    assert set(results["problems_without_feedback"]["code"]) == set(
        planted["closed_without_feedback"]
    )
    unowned = results["unowned_problems"]
    assert set(unowned.loc[unowned["missing"].str.contains("responsible"), "code"]) == set(
        planted["problems_without_responsible"]
    )
    assert set(unowned.loc[unowned["missing"].str.contains("deadline"), "code"]) == set(
        planted["problems_without_deadline"]
    )
    # every problem lies in a grid, so the levels add up
    grid, community, whole = (results[f"lifecycle_{k}"] for k in ("grid", "community", "district"))
    n = len(district.layers["problems"])
    assert grid["reported"].sum() == community["reported"].sum() == whole["reported"].sum() == n
    assert whole["overdue"].sum() == community["overdue"].sum()
    assert set(grid["grid"]) == set(district.layers["grids"]["code"])


# -------------------------------------------------------------------- command line ---

runner = CliRunner()


def test_cli_writes_the_sample_districts_lifecycle_to_xlsx(tmp_path: Path, sample: tuple) -> None:
    district, results = sample
    out = tmp_path / "lifecycle.xlsx"
    result = runner.invoke(
        app,
        ["lifecycle", "--problems", str(SAMPLE), "--grids", str(SAMPLE), "--buildings",
         str(SAMPLE), "--as-of", str(district.defects["period"]["end"]), "--level",
         "community", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "per community" in result.output and "C01" in result.output
    assert f"{len(results['overdue_problems'])} overdue problems" in result.output
    zh = headings("zh")
    sheets = pd.read_excel(out, sheet_name=None)
    assert list(sheets) == [zh["sheets"][name] for name in results]  # in Chinese by default
    for name, frame in results.items():
        table = sheets[zh["sheets"][name]]
        assert len(table) == len(frame), name
        assert len(set(table.columns)) == len(table.columns), name  # headings stay distinct
    overdue = sheets[zh["sheets"]["overdue_problems"]]
    assert set(overdue["编号"]) == set(results["overdue_problems"]["code"])
    assert {"经度", "纬度"} <= set(overdue.columns)
    district_table = sheets[zh["sheets"]["lifecycle_district"]]
    assert district_table["上报数"].sum() == len(district.layers["problems"])
    english = runner.invoke(
        app,
        [
            "lifecycle",
            "--problems",
            str(SAMPLE),
            "--grids",
            str(SAMPLE),
            "--buildings",
            str(SAMPLE),
            "--lang",
            "en",
            "--out",
            str(out),
        ],
    )
    assert english.exit_code == 0, english.output
    assert list(pd.read_excel(out, sheet_name=None)) == list(results)


def test_cli_reads_a_store_and_writes_csv(tmp_path: Path) -> None:
    district = generate("tiny", seed=1)
    url = f"sqlite:///{tmp_path / 'tiny.sqlite'}"
    store = open_store(url)
    try:
        store.write_layers(district.layers)
    finally:
        store.close()
    as_of = str(district.defects["period"]["end"])
    out = tmp_path / "grids.csv"
    result = runner.invoke(
        app, ["lifecycle", "--db", url, "--as-of", as_of, "--level", "grid", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, encoding="utf-8-sig")
    assert set(table["grid"]) == set(district.layers["grids"]["code"])
    assert table["reported"].sum() == len(district.layers["problems"])


def test_cli_refuses_bad_arguments(tmp_path: Path) -> None:
    result = runner.invoke(app, ["lifecycle", "--problems", str(tmp_path / "none.gpkg")])
    assert result.exit_code == 1 and "no such file" in result.output
    result = runner.invoke(
        app, ["lifecycle", "--problems", str(SAMPLE), "--level", "grid", "--as-of", "2025-05-26"]
    )
    assert result.exit_code == 1 and "needs --grids and --buildings" in result.output
    result = runner.invoke(app, ["lifecycle", "--problems", str(SAMPLE), "--as-of", "26/05/2025"])
    assert result.exit_code != 0 and "YYYY-MM-DD" in result.output
