"""A hand-made district with one row or two of every layer, for the storage tests."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely


def mp(*boxes: tuple[float, float, float, float]) -> shapely.MultiPolygon:
    return shapely.MultiPolygon([shapely.box(*b) for b in boxes])


def utc(*values: str | None) -> pd.Series:
    return pd.Series(
        pd.to_datetime(list(values), utc=True, format="ISO8601"), dtype="datetime64[ns, UTC]"
    )


def day(*values: str | None) -> pd.Series:
    return pd.Series(pd.to_datetime(list(values)), dtype="datetime64[ns]")


def text(*values: str | None) -> pd.Series:
    return pd.Series(list(values), dtype="str")


def ints(*values: int | None) -> pd.Series:
    return pd.Series(list(values), dtype="Int64")


def district() -> dict[str, pd.DataFrame]:
    """Two grids of 100 m in one community, two buildings, three households..."""
    x0, y0, d = 121.40, 31.20, 0.001
    communities = gpd.GeoDataFrame(
        {"code": text("C1"), "name": text("静安社区"), "district": text("静安区")},
        geometry=[mp((x0, y0, x0 + 2 * d, y0 + d))],
        crs=4326,
    )
    grids = gpd.GeoDataFrame(
        {
            "code": text("C1-G1", "C1-G2"),
            "name": text("第一网格", "第二网格"),
            "community": text("C1", "C1"),
        },
        geometry=[mp((x0, y0, x0 + d, y0 + d)), mp((x0 + d, y0, x0 + 2 * d, y0 + d))],
        crs=4326,
    )
    buildings = gpd.GeoDataFrame(
        {
            "code": text("B1", "B2"),
            "address": text("南京西路1号", None),
            "units": ints(2, None),
            "households": ints(2, 1),
            "floors": ints(6, None),
        },
        geometry=[
            mp((x0 + 0.0002, y0 + 0.0002, x0 + 0.0004, y0 + 0.0004)),
            mp((x0 + 0.0012, y0 + 0.0002, x0 + 0.0014, y0 + 0.0004)),
        ],
        crs=4326,
    )
    households = gpd.GeoDataFrame(
        {
            "code": text("B1-1-101", "B1-2-101", "B2-1-101"),
            "building": text("B1", "B1", "B2"),
            "unit": text("1", "2", "1"),
            "floor": ints(1, 1, 1),
            "room": text("101", "101", "101"),
            "size": ints(3, None, 2),
            "name": text("张三", "李四", None),
            "phone": text("13800000001", None, "13800000003"),
        },
        geometry=[
            shapely.Point(x0 + 0.0003, y0 + 0.0003),
            None,
            shapely.Point(x0 + 0.0013, y0 + 0.0003),
        ],
        crs=4326,
    )
    organisations = pd.DataFrame(
        {
            "code": text("O1", "O2"),
            "name": text("某公司党支部", "社区党委"),
            "kind": text("partner_unit", "community"),
            "community": text(None, "C1"),
        }
    )
    members = pd.DataFrame(
        {
            "code": text("M1", "M2", "L1"),
            "name": text("王五", "赵六", "钱七"),
            "phone": text("13900000001", None, None),
            "role": text("member", "cadre", "leader"),
            "organisation": text("O1", "O2", None),
            "community": text(None, "C1", "C1"),
        }
    )
    assignments = pd.DataFrame(
        {
            "code": text("A1", "A2", "A3", "A4"),
            "kind": text(
                "organisation_grid", "member_building", "member_household", "leader_community"
            ),
            "member": text(None, "M1", "M1", "L1"),
            "organisation": text("O1", None, None, None),
            "community": text(None, None, None, "C1"),
            "grid": text("C1-G1", None, None, None),
            "building": text(None, "B1", None, None),
            "household": text(None, None, "B2-1-101", None),
            "valid_from": day("2026-01-01", "2026-01-01", "2026-02-01", "2026-01-01"),
            "valid_to": day(None, "2026-12-31", None, None),
        }
    )
    visits = gpd.GeoDataFrame(
        {
            "code": text("V1", "V2"),
            "member": text("M1", "M1"),
            "household": text("B1-1-101", None),
            "building": text(None, "B1"),
            "visited_at": utc("2026-03-02T02:30:00Z", "2026-03-09T06:00:00.250Z"),
            "note": text("入户走访", None),
        },
        geometry=[shapely.Point(x0 + 0.0003, y0 + 0.0003), None],
        crs=4326,
    )
    meetings = pd.DataFrame(
        {
            "code": text("MT1"),
            "grid": text("C1-G1"),
            "held_on": day("2026-03-15"),
            "attendance": ints(12),
            "topic": text("停车问题"),
        }
    )
    problems = gpd.GeoDataFrame(
        {
            "code": text("P1", "P2"),
            "category": text("停车", "环境卫生"),
            "description": text("楼下乱停车", None),
            "building": text("B1", "B2"),
            "household": text("B1-1-101", None),
            "visit": text("V1", None),
            "responsible": text("M1", None),
            "reported_at": utc("2026-03-02T02:31:00Z", "2026-03-03T01:00:00Z"),
            "deadline": day("2026-03-31", None),
            "status": text("closed", "open"),
            "resolved_at": utc("2026-03-05T01:00:00Z", None),
            "escalated_at": utc(None, None),
            "closed_at": utc("2026-03-06T01:00:00Z", None),
            "feedback_at": utc("2026-03-07T01:00:00Z", None),
            "feedback": text("已协调车位", None),
        },
        geometry=[shapely.Point(x0 + 0.0003, y0 + 0.0003), shapely.Point(x0 + 0.0013, y0 + 0.0003)],
        crs=4326,
    )
    return {
        "communities": communities,
        "grids": grids,
        "buildings": buildings,
        "households": households,
        "organisations": organisations,
        "members": members,
        "assignments": assignments,
        "visits": visits,
        "meetings": meetings,
        "problems": problems,
    }
