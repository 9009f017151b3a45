"""The ``crs`` field of the writes that carry a point, on both stores.

A point sent in GCJ-02 or BD-09 (shifted from a known WGS-84 point with the library's
forward functions) is stored in WGS-84 within 1e-6 degrees of that point; sent without
``crs`` the same coordinates are stored as they are, hundreds of metres away. An unknown
name is a 422 naming ``crs``; a retry of the same body replays.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.main import create_app
from gridgeo.chinacrs import convert_xy
from gridgeo.settings import Settings
from gridgeo.store import open_store

#: a WGS-84 point in the sample district (Shanghai)
PLACE = (121.4400123, 31.2200456)
SAME = 1e-6
OFF = 0.001  # degrees: about 100 m


@pytest.fixture(scope="module")
def client(people: dict) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=people["url"], auth="on"))) as c:
        yield c


def _h(people: dict, key: str | None = None) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {people['tokens']['member']}",
        "Idempotency-Key": key or uuid.uuid4().hex,
    }


def _point(crs: str) -> dict:
    lon, lat = convert_xy(*PLACE, source="wgs84", target=crs)
    return {"type": "Point", "coordinates": [float(lon), float(lat)]}


def _stored(url: str, layer: str, code: str) -> tuple[float, float]:
    """The stored point of a row, read from the store itself."""
    s = open_store(url)
    try:
        frame = s.read_layer(layer, where={"code": [code]})
    finally:
        s.close()
    assert len(frame) == 1
    point = frame.geometry.iloc[0]
    return point.x, point.y


def _off(got: tuple[float, float]) -> float:
    return max(abs(got[0] - PLACE[0]), abs(got[1] - PLACE[1]))


def _count(url: str, layer: str, column: str, value: str) -> int:
    s = open_store(url)
    try:
        with s.engine.connect() as conn:
            sql = sa.text(f"SELECT count(*) FROM {layer} WHERE {column} = :v")
            return int(conn.execute(sql, {"v": value}).scalar_one())
    finally:
        s.close()


@pytest.mark.parametrize("crs", ["gcj02", "bd09", "GCJ-02", "EPSG:4490", "wgs84"])
def test_a_visit_point_is_stored_in_wgs84(client, people, crs) -> None:
    system = {"GCJ-02": "gcj02", "EPSG:4490": "wgs84"}.get(crs, crs)
    body = {"household": people["own"]["member"], "note": f"crs {uuid.uuid4().hex}",
            "geometry": _point(system), "crs": crs}  # fmt: skip
    r = client.post("/visits", json=body, headers=_h(people))
    assert r.status_code == 201, r.text
    assert _off(tuple(r.json()["geometry"]["coordinates"])) < SAME
    assert _off(_stored(people["url"], "visits", r.json()["id"])) < SAME


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_a_problem_point_is_stored_in_wgs84_and_off_without_crs(client, people, crs) -> None:
    codes = {}
    for given in (crs, None):
        body = {"category": "停车", "household": people["own"]["member"], "geometry": _point(crs)}
        if given:
            body["crs"] = given
        r = client.post("/problems", json=body, headers=_h(people))
        assert r.status_code == 201, r.text
        codes[given] = r.json()["id"]
    assert _off(_stored(people["url"], "problems", codes[crs])) < SAME
    assert _off(_stored(people["url"], "problems", codes[None])) > OFF


def test_an_unknown_crs_is_a_named_422_and_nothing_is_stored(client, people) -> None:
    note = f"mars {uuid.uuid4().hex}"
    body = {"household": people["own"]["member"], "note": note, "geometry": _point("gcj02"),
            "crs": "mars"}  # fmt: skip
    r = client.post("/visits", json=body, headers=_h(people))
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert "crs" in detail and "unknown coordinate system" in detail and "gcj02" in detail
    assert "Traceback" not in r.text
    assert _count(people["url"], "visits", "note", note) == 0
    r = client.post("/problems", json={"category": "停车", "crs": 4547}, headers=_h(people))
    assert r.status_code == 422 and "crs" in r.json()["detail"]


def test_a_retry_with_the_same_crs_replays_and_another_crs_is_another_body(client, people):
    note = f"retry crs {uuid.uuid4().hex}"
    key = uuid.uuid4().hex
    body = {"household": people["own"]["member"], "note": note, "geometry": _point("bd09"),
            "crs": "bd09"}  # fmt: skip
    first = client.post("/visits", json=body, headers=_h(people, key))
    second = client.post("/visits", json=body, headers=_h(people, key))
    assert first.status_code == second.status_code == 201, second.text
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    other = client.post("/visits", json={**body, "crs": "gcj02"}, headers=_h(people, key))
    assert other.status_code == 422 and "Idempotency-Key" in other.json()["detail"]
    assert _count(people["url"], "visits", "note", note) == 1


def test_a_batch_item_takes_crs_like_its_route(client, people) -> None:
    run = uuid.uuid4().hex
    items = [
        {"op": "visit", "key": f"{run}-1", "body": {"household": people["own"]["member"],
         "note": f"batch crs {run}", "geometry": _point("gcj02"), "crs": "gcj02"}},
        {"op": "problem", "key": f"{run}-2", "body": {"category": "停车",
         "geometry": _point("bd09"), "crs": "bd09", "household": people["own"]["member"]}},
        {"op": "visit", "key": f"{run}-3", "body": {"household": people["own"]["member"],
         "geometry": _point("gcj02"), "crs": "mars"}},
    ]  # fmt: skip
    for _ in range(2):  # the second time: every item replays
        r = client.post("/batch", json={"items": items},
                        headers={"Authorization": f"Bearer {people['tokens']['member']}"})  # fmt: skip
        assert r.status_code == 200, r.text
        out = r.json()["items"]
        assert [o["status"] for o in out] == [201, 201, 422]
        assert "crs" in out[2]["body"]["detail"]
    assert out[0]["replayed"] and out[1]["replayed"]
    for item, layer in zip(out[:2], ("visits", "problems"), strict=True):
        assert _off(_stored(people["url"], layer, item["body"]["id"])) < SAME
