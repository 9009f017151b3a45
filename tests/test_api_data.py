"""GeoJSON of layers and findings, and findings downloads, on both stores."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Iterator

import openpyxl
import pandas as pd
import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient

from api.main import create_app
from gridgeo.errors import ValidationError
from gridgeo.settings import Settings
from gridgeo.store import open_store


@pytest.fixture(scope="module")
def client(people: dict) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=people["url"], auth="on"))) as c:
        yield c


@pytest.fixture(scope="module")
def planner(people: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {people['tokens']['planner']}"}


def test_a_layer_is_an_rfc7946_feature_collection(client, planner):
    r = client.get("/layers/grids", headers=planner)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/geo+json")
    body = r.json()
    assert body["type"] == "FeatureCollection"
    assert body["numberMatched"] == body["numberReturned"] == 36
    first = body["features"][0]
    assert first["type"] == "Feature"
    assert first["id"] == first["properties"]["code"]
    assert first["geometry"]["type"] == "MultiPolygon"
    lon, lat = first["geometry"]["coordinates"][0][0][0]
    assert 121 < lon < 122 and 31 < lat < 32  # longitude first, WGS 84
    minx, miny, maxx, maxy = body["bbox"]
    assert minx < maxx and miny < maxy
    assert [link["rel"] for link in body["links"]] == ["self"]


def test_paging_with_links(client, planner):
    body = client.get("/layers/buildings?limit=100&offset=200", headers=planner).json()
    assert body["numberMatched"] == 3017
    assert body["numberReturned"] == 100
    rels = {link["rel"]: link["href"] for link in body["links"]}
    assert "offset=300" in rels["next"] and "offset=100" in rels["prev"]
    nxt = client.get(rels["next"], headers=planner).json()
    assert nxt["features"][0]["id"] != body["features"][0]["id"]
    codes = [f["id"] for f in body["features"]] + [f["id"] for f in nxt["features"]]
    assert len(set(codes)) == 200
    last = client.get("/layers/buildings?limit=100&offset=3000", headers=planner).json()
    assert last["numberReturned"] == 17
    assert "next" not in {link["rel"] for link in last["links"]}


def test_bbox_filter(client, planner, people):
    s = open_store(people["url"])
    try:
        buildings = s.read_layer("buildings")
    finally:
        s.close()
    b = buildings.geometry.iloc[0].bounds
    box = (b[0] - 1e-4, b[1] - 1e-4, b[2] + 1e-4, b[3] + 1e-4)
    expected = int(buildings.intersects(shapely.box(*box)).sum())
    body = client.get(
        "/layers/buildings?bbox=" + ",".join(map(str, box)) + "&limit=10000", headers=planner
    ).json()
    assert body["numberMatched"] == expected >= 1
    assert buildings["code"].iloc[0] in {f["id"] for f in body["features"]}


def test_attribute_filters(client, planner):
    body = client.get("/layers/households?building=B000001", headers=planner).json()
    assert body["numberMatched"] >= 1
    assert {f["properties"]["building"] for f in body["features"]} == {"B000001"}
    body = client.get("/layers/visits?visited_at=2025-03-03&limit=1", headers=planner).json()
    assert body["numberMatched"] > 0
    assert body["features"][0]["properties"]["visited_at"].startswith("2025-03-03")
    body = client.get("/layers/problems?status=closed&category=停车&limit=5", headers=planner)
    for f in body.json()["features"]:
        assert f["properties"]["status"] == "closed" and f["properties"]["category"] == "停车"


def test_a_page_is_read_as_a_page_when_the_store_can_select_it(
    client, planner, people, monkeypatch
):
    """Filters on text and integer columns, the area and the page go to the store:
    the answer is what reading the whole layer and filtering it would give."""
    s = open_store(people["url"])
    try:
        buildings = s.read_layer("buildings")
        visits = s.read_layer("visits")
    finally:
        s.close()
    assert client.get("/layers/grids", headers=planner).status_code == 200  # opens the store
    store = client.app.state.store
    reads: list[dict] = []
    read = store.read_layer

    def spy(layer, **kwargs):  # type: ignore[no-untyped-def]
        reads.append({"layer": layer, **kwargs})
        return read(layer, **kwargs)

    monkeypatch.setattr(store, "read_layer", spy)
    body = client.get("/layers/buildings?units=2&limit=7&offset=3", headers=planner).json()
    expected = buildings[buildings["units"] == 2]
    assert [(r.get("limit"), r.get("offset"), r.get("where")) for r in reads] in (
        [(7, 3, {"units": [2]})],  # a page, not the layer
        [(7, 3, {"units": [2]}), (None, None, {"units": [2]})],  # and the embedded count
    )
    assert body["numberMatched"] == len(expected) > 10
    assert [f["id"] for f in body["features"]] == list(expected["code"].iloc[3:10])
    # an integer written otherwise matches nothing, as the text comparison would
    assert client.get("/layers/buildings?units=02", headers=planner).json()["features"] == []
    # a reference and a time prefix: the store selects the household, then the prefix
    household = visits["household"].dropna().iloc[0]
    day = str(visits.loc[visits["household"] == household, "visited_at"].iloc[0])[:10]
    body = client.get(
        f"/layers/visits?household={household}&visited_at={day}", headers=planner
    ).json()
    assert {"layer": "visits", "where": {"household": [household]}}.items() <= reads[-1].items()
    mine = visits[visits["household"] == household]
    local = mine["visited_at"].map(lambda t: t.isoformat()).str.startswith(day)
    assert body["numberMatched"] == int(local.sum()) >= 1
    # a leader's page is their community's buildings, selected by the store
    leader = {"Authorization": f"Bearer {people['tokens']['leader']}"}
    reads.clear()
    body = client.get("/layers/buildings?limit=5", headers=leader).json()
    (paged,) = [r for r in reads if r.get("limit") == 5]  # the area's codes, one page
    assert len(paged["where"]["code"]) == body["numberMatched"] and len(body["features"]) == 5
    assert 0 < body["numberMatched"] < len(buildings)


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/layers/nowhere", 404, "unknown layer"),
        ("/layers/grids?colour=red", 422, "unknown filter"),
        ("/layers/grids?bbox=1,2,3", 422, "bbox"),
        ("/layers/grids?bbox=5,5,1,1", 422, "minx must not exceed maxx"),
        ("/layers/members?bbox=0,0,1,1", 422, "no geometry"),
        ("/layers/households?phone=1", 422, "unknown filter"),
        ("/findings/nothing", 404, "no finding layer"),
    ],
)
def test_bad_reads_are_refused_with_the_reason(client, planner, path, status, words):
    r = client.get(path, headers=planner)
    assert r.status_code == status, r.text
    assert words in str(r.json()["detail"])


def test_findings_as_geojson(client, planner):
    body = client.get("/findings?as_of=2025-06-01&limit=10000", headers=planner).json()
    layers = {f["properties"]["layer"] for f in body["features"]}
    assert {"gaps", "overlaps", "unassigned_buildings", "multi_assigned_buildings"} <= layers
    assert body["numberMatched"] == len(body["features"])
    gaps = client.get("/findings/gaps?as_of=2025-06-01", headers=planner).json()
    assert gaps["numberMatched"] == 2
    assert {f["properties"]["rule"] for f in gaps["features"]} <= {"R1", "R2"}
    assert gaps["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    one = client.get("/findings/unassigned_buildings?as_of=2025-06-01&limit=1", headers=planner)
    assert one.json()["numberReturned"] == 1
    c01 = client.get(
        "/findings/unassigned_buildings?as_of=2025-06-01&community=C01&limit=10000",
        headers=planner,
    ).json()
    assert 0 < c01["numberMatched"] < one.json()["numberMatched"]
    assert {f["properties"]["community"] for f in c01["features"]} == {"C01"}


def test_findings_filter_on_columns(client, planner):
    body = client.get("/findings?as_of=2025-06-01&rule=R2&limit=10000", headers=planner).json()
    assert body["numberMatched"] > 0
    assert {f["properties"]["rule"] for f in body["features"]} == {"R2"}


def test_findings_downloads(client, planner, tmp_path):
    csv = client.get("/findings.csv?as_of=2025-06-01", headers=planner)
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert "findings-2025-06-01.csv" in csv.headers["content-disposition"]
    text = csv.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("layer,rule,severity,entity,code")
    assert "unassigned_buildings" in text
    xlsx = client.get("/findings.xlsx?as_of=2025-06-01", headers=planner)
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content), read_only=True)
    assert {"汇总", "网格缝隙", "无人负责楼栋"} <= set(book.sheetnames)  # Chinese by default
    xlsx = client.get("/findings.xlsx?as_of=2025-06-01&lang=en", headers=planner)
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content), read_only=True)
    assert {"summary", "gaps", "unassigned_buildings"} <= set(book.sheetnames)
    assert client.get("/findings.xlsx?lang=fr", headers=planner).status_code == 422
    gpkg = client.get("/findings.gpkg?as_of=2025-06-01", headers=planner)
    path = tmp_path / f"{uuid.uuid4().hex}.gpkg"
    path.write_bytes(gpkg.content)
    names = {str(n) for n, _ in pyogrio.list_layers(path)}
    assert {"gaps", "overlaps", "unassigned_buildings"} <= names
    assert len(pyogrio.read_dataframe(path, layer="gaps")) == 2
    assert client.get("/findings.pdf", headers=planner).status_code in (404, 422)


def test_the_openapi_document_lists_every_route(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/layers/{layer}",
        "/findings",
        "/findings/{name}",
        "/findings.{fmt}",
        "/visits",
        "/meetings",
        "/problems",
        "/problems/{code}/resolve",
        "/problems/{code}/escalate",
        "/problems/{code}/close",
        "/me",
    ):
        assert path in paths
    assert client.get("/docs").status_code == 200


# -- date and time filters: ranges selected by the store --------------------------------------

TIMEZONE = "Asia/Shanghai"
#: Layer → (column, filter values): whole periods (selected by the store as ranges)
#: and other prefixes of the ISO text (compared as text, as before).
TIME_FILTERS = {
    "visits": ("visited_at", [
        "2025", "2025-03", "2025-03-04", "2025-03-03", "2025-03-04T00", "2025-03-04T00:30",
        "2025-03-04T00:30:00", "2025-03-03T23:59:59", "2025-03-31", "2025-04",
        "2025-0", "2025-03-04T00:30:00+08:00", "2025-02-30", "2024-13",
    ]),
    "problems": ("reported_at", ["2025", "2025-03", "2025-03-04", "2025-03-04T09", "2025-3"]),
    "meetings": ("held_on", ["2025", "2025-03", "2025-03-09", "2025-03-0", "2025-03-09T00"]),
}  # fmt: skip
PERIODS = re.compile(r"\d{4}(-\d{2}(-\d{2}(T\d{2}(:\d{2}(:\d{2})?)?)?)?)?")


@pytest.fixture(scope="module")
def night_visits(people: dict) -> list[str]:
    """Visits at the edges of local days, where the UTC date is another day."""
    s = open_store(people["url"])
    try:
        rows = s.read_layer("visits").iloc[:5].copy()
        rows["code"] = [f"VN-{uuid.uuid4().hex[:8]}-{i}" for i in range(5)]
        rows["visited_at"] = pd.to_datetime(
            [
                "2025-03-04T00:00:00+08:00",  # 2025-03-03T16:00Z
                "2025-03-04T00:30:00+08:00",
                "2025-03-03T23:59:59.500000+08:00",
                "2025-03-31T23:30:00+08:00",  # 2025-03-31T15:30Z
                "2025-04-01T07:59:00+08:00",  # 2025-03-31T23:59Z
            ],
            utc=True,
            format="ISO8601",
        )
        s.write_layers({"visits": rows})
    finally:
        s.close()
    return list(rows["code"])


def _local_text(values: pd.Series) -> pd.Series:
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert(TIMEZONE).map(lambda t: None if pd.isna(t) else t.isoformat())
    return values.map(lambda t: None if pd.isna(t) else t.date().isoformat())


@pytest.mark.parametrize("layer", list(TIME_FILTERS))
def test_date_and_time_filters_are_ranges_with_the_answers_of_a_text_filter(
    client, planner, people, night_visits, monkeypatch, layer
):
    """Every filter value answers what comparing the local ISO text gives; whole
    periods (a year down to a second) are selected by the store as ranges."""
    column, values = TIME_FILTERS[layer]
    s = open_store(people["url"])
    try:
        frame = s.read_layer(layer, geometry=False)
    finally:
        s.close()
    text = _local_text(frame[column])
    assert client.get("/layers/grids?limit=1", headers=planner).status_code == 200
    store = client.app.state.store
    reads: list[dict] = []
    read = store.read_layer

    def spy(name, **kwargs):  # type: ignore[no-untyped-def]
        reads.append(kwargs)
        return read(name, **kwargs)

    monkeypatch.setattr(store, "read_layer", spy)
    for value in values:
        reads.clear()
        expected = list(frame.loc[text.str.startswith(value).fillna(False), "code"])
        params = {column: value, "limit": "10000"}
        body = client.get(f"/layers/{layer}", params=params, headers=planner).json()
        assert body["numberMatched"] == len(expected), value
        assert [f["id"] for f in body["features"]] == expected[:10000], value
        whole_period = bool(PERIODS.fullmatch(value)) and value not in ("2025-02-30", "2024-13")
        if layer == "meetings" and "T" in value:
            whole_period = False  # a date column has no hours
        if whole_period:  # the store selected the range and the page
            # (SQLite counts by reading the column: a second read, with the same range)
            assert {frozenset(r.get("ranges") or ()) for r in reads} == {frozenset([column])}
            assert reads[0]["limit"] == 10000, (value, reads)
    if layer == "visits":
        days = {v: set(frame.loc[text.str.startswith(v).fillna(False), "code"])
                for v in ("2025-03-04", "2025-03-03", "2025-03-31", "2025-04")}  # fmt: skip
        # local days: the visit at 00:30 in Shanghai is on the 4th, not the UTC 3rd
        assert set(night_visits[:2]) <= days["2025-03-04"]
        assert night_visits[2] in days["2025-03-03"] and night_visits[3] in days["2025-03-31"]
        assert night_visits[4] in days["2025-04"]


def test_a_leaders_time_filter_is_cut_to_their_area(client, people, night_visits):
    leader = {"Authorization": f"Bearer {people['tokens']['leader']}"}
    s = open_store(people["url"])
    try:
        from gridgeo.areas import area_for

        frame = area_for(s, people["principals"]["leader"]).keep("visits", s.read_layer("visits"))
    finally:
        s.close()
    expected = frame.loc[
        _local_text(frame["visited_at"]).str.startswith("2025-03-04").fillna(False)
    ]
    body = client.get("/layers/visits?visited_at=2025-03-04&limit=10000", headers=leader).json()
    assert [f["id"] for f in body["features"]] == list(expected["code"])
    assert body["numberMatched"] == len(expected) > 0


def test_the_store_selects_ranges_on_both_stores(people, night_visits):
    import datetime as dt

    s = open_store(people["url"])
    try:
        low = dt.datetime(2025, 3, 3, 16, tzinfo=dt.UTC)
        high = dt.datetime(2025, 3, 4, 16, tzinfo=dt.UTC)
        visits = s.read_layer("visits", geometry=False)
        inside = visits[(visits["visited_at"] >= low) & (visits["visited_at"] < high)]
        got = s.read_layer("visits", ranges={"visited_at": (low, high)}, geometry=False)
        assert list(got["code"]) == list(inside["code"])
        assert s.count_layer("visits", ranges={"visited_at": (low, high)}) == len(inside)
        page = s.read_layer("visits", ranges={"visited_at": (low, high)}, limit=3, offset=2)
        assert list(page["code"]) == list(inside["code"].iloc[2:5])
        meetings = s.read_layer("meetings")
        march = (dt.date(2025, 3, 1), dt.date(2025, 4, 1))
        held = s.read_layer("meetings", ranges={"held_on": march})
        expected = meetings[
            (meetings["held_on"] >= "2025-03-01") & (meetings["held_on"] < "2025-04-01")
        ]
        assert list(held["code"]) == list(expected["code"]) and len(held) > 0
        with pytest.raises(ValidationError, match="no date, time or integer column"):
            s.read_layer("visits", ranges={"note": ("a", "b")})
    finally:
        s.close()


def test_findings_files_name_members_only_for_roles_entitled_to_them(client, people):
    def sheets(role: str) -> dict[str, pd.DataFrame]:
        headers = {"Authorization": f"Bearer {people['tokens'][role]}"}
        r = client.get("/findings.xlsx?as_of=2025-06-01&lang=en", headers=headers)
        assert r.status_code == 200, r.text
        return pd.read_excel(io.BytesIO(r.content), sheet_name=None, dtype=str)

    planner, worker = sheets("planner"), sheets("grid_worker")
    for book in (planner, worker):  # places are named for every role
        grid_building = book["building_grid"]
        assert grid_building["building_id_name"].notna().all()
        assert grid_building["grid_id_name"].dropna().str.fullmatch(r"第\d+网格").all()
    member_columns = {"member_id_name", "members_names", "fallback_names"}
    assert not any(member_columns & set(frame.columns) for frame in planner.values())
    named = [f for f in worker.values() if member_columns & set(f.columns) and len(f)]
    assert named, "the grid worker's workbook names members"
