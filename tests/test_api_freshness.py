"""Freshness the leader can see, on both stores: which data version an answer reflects.

Every write answers with ``X-Data-Version``, the change counter it made; ``/findings``
with the version its findings were computed at and ``X-Data-Time``; after a write,
``/findings`` carries the new version at once and equals a batch check of the store.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator

import httpx
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from gridgeo.settings import Settings
from gridgeo.store import Store, open_store

AS_OF = dt.date.today().isoformat()


@pytest.fixture(scope="module")
def client(people: dict) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=people["url"], auth="on"))) as c:
        yield c


@pytest.fixture(scope="module")
def store(people: dict) -> Iterator[Store]:
    s = open_store(people["url"])
    yield s
    s.close()


def _h(people: dict, role: str, key: str | None = None) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {people['tokens'][role]}",
        "Idempotency-Key": key or uuid.uuid4().hex,
    }


def _written(store: Store, send: Callable[[], httpx.Response], status: int) -> httpx.Response:
    """Send a write; check its X-Data-Version is the store's version now, and new."""
    before = store.data_version()
    r = send()
    assert r.status_code == status, r.text
    after = store.data_version()
    assert int(r.headers["X-Data-Version"]) == after
    assert after > before
    return r


def _problem(client: TestClient, store: Store, people: dict) -> str:
    body = {"category": "停车", "description": "freshness", "household": people["own"]["member"]}
    r = _written(
        store, lambda: client.post("/problems", json=body, headers=_h(people, "member")), 201
    )
    return str(r.json()["id"])


def test_every_field_write_answers_with_the_version_it_made(client, store, people):
    member, worker = _h(people, "member"), _h(people, "grid_worker")
    visit = {"household": people["own"]["member"], "note": f"fresh {uuid.uuid4().hex}"}
    _written(store, lambda: client.post("/visits", json=visit, headers=member), 201)
    meeting = {"grid": people["grid"], "attendance": 9, "topic": "议事"}
    _written(store, lambda: client.post("/meetings", json=meeting, headers=worker), 201)
    code = _problem(client, store, people)
    post = client.post
    _written(
        store, lambda: post(f"/problems/{code}/resolve", json={}, headers=_h(people, "member")), 200
    )
    closing = {"feedback": "已修复"}
    _written(
        store,
        lambda: post(f"/problems/{code}/close", json=closing, headers=_h(people, "member")),
        200,
    )
    code = _problem(client, store, people)
    _written(
        store,
        lambda: post(f"/problems/{code}/escalate", json={}, headers=_h(people, "member")),
        200,
    )


def test_a_replayed_write_answers_with_the_version_now(client, store, people):
    headers = _h(people, "member")
    visit = {"household": people["own"]["member"], "note": f"replay {uuid.uuid4().hex}"}
    first = _written(store, lambda: client.post("/visits", json=visit, headers=headers), 201)
    _problem(client, store, people)  # another write in between
    again = client.post("/visits", json=visit, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert int(again.headers["X-Data-Version"]) == store.data_version()
    assert int(again.headers["X-Data-Version"]) > int(first.headers["X-Data-Version"])


def test_a_batch_answers_with_the_version_after_its_last_write(client, store, people):
    items = [
        {"op": "visit", "key": uuid.uuid4().hex, "body": {"household": people["own"]["member"]}}
        for _ in range(3)
    ]
    before = store.data_version()
    auth = {"Authorization": f"Bearer {people['tokens']['member']}"}
    r = _written(store, lambda: client.post("/batch", json={"items": items}, headers=auth), 200)
    assert int(r.headers["X-Data-Version"]) == before + 3
    refused = [{"op": "visit", "key": uuid.uuid4().hex, "body": {"household": people["stranger"]}}]
    r = client.post("/batch", json={"items": refused}, headers=auth)
    assert r.json()["refused"] == 1
    assert int(r.headers["X-Data-Version"]) == store.data_version() == before + 3


def test_a_refused_write_changes_no_version(client, store, people):
    before = store.data_version()
    body = {"household": people["stranger"]}
    r = client.post("/visits", json=body, headers=_h(people, "member"))
    assert r.status_code == 422
    assert store.data_version() == before


def _finding_rows(frames: dict[str, pd.DataFrame]) -> list[tuple[str, ...]]:
    """(layer, rule, severity, entity, code, explanation) of every finding row of a check."""
    rows = []
    for name, frame in frames.items():
        if "rule" not in frame.columns:
            continue
        columns = ["rule", "severity", "entity", "code", "explanation_en"]
        for values in frame[columns].astype(str).itertuples(False):
            rows.append((name, *values))
    return sorted(rows)


def _served_rows(body: dict) -> list[tuple[str, ...]]:
    keys = ("layer", "rule", "severity", "entity", "code", "explanation_en")
    return sorted(tuple(str(f["properties"][k]) for k in keys) for f in body["features"])


def _batch_check(store: Store, day: str) -> dict[str, pd.DataFrame]:
    from gridgeo.check import inputs_from_store, run_check

    return run_check(inputs_from_store(store), as_of=dt.date.fromisoformat(day))


def test_findings_after_a_write_carry_its_version_and_time_at_once(client, store, people):
    planner = {"Authorization": f"Bearer {people['tokens']['planner']}"}
    client.get(f"/findings?as_of={AS_OF}&limit=1", headers=planner)  # the old version cached
    visit = {"household": people["own"]["member"]}
    r = _written(
        store, lambda: client.post("/visits", json=visit, headers=_h(people, "member")), 201
    )
    written = int(r.headers["X-Data-Version"])
    found = client.get(f"/findings?as_of={AS_OF}&limit=10000", headers=planner)
    assert found.status_code == 200
    assert int(found.headers["X-Data-Version"]) == written  # the first read after it
    at = dt.datetime.fromisoformat(found.headers["X-Data-Time"])
    assert at.utcoffset() == dt.timedelta(hours=8)  # GRIDGEO_TIMEZONE, Asia/Shanghai
    assert at == store.data_stamp().changed_at.replace(microsecond=0)
    assert abs((dt.datetime.now(dt.UTC) - at).total_seconds()) < 60
    assert _served_rows(found.json()) == _finding_rows(_batch_check(store, AS_OF))
    for path in ("/findings/unassigned_buildings", "/findings.csv"):
        other = client.get(f"{path}?as_of={AS_OF}", headers=planner)
        assert other.status_code == 200
        assert int(other.headers["X-Data-Version"]) == written
        assert other.headers["X-Data-Time"] == found.headers["X-Data-Time"]


def test_findings_equal_gridgeo_check_of_the_same_store(client, store, people, tmp_path):
    """``/findings`` at a version equals ``gridgeo check --db … --as-of …`` at it."""
    import subprocess
    import sys

    import pyogrio

    planner = {"Authorization": f"Bearer {people['tokens']['planner']}"}
    earlier = client.get(f"/findings?as_of={AS_OF}&limit=10000", headers=planner).json()
    last_month = dt.date.today().replace(day=1) - dt.timedelta(days=1)  # a month it missed
    meeting = {"grid": people["grid"], "held_on": last_month.isoformat(), "topic": "补开议事会"}
    worker = _h(people, "grid_worker")
    _written(store, lambda: client.post("/meetings", json=meeting, headers=worker), 201)
    found = client.get(f"/findings?as_of={AS_OF}&limit=10000", headers=planner)
    assert int(found.headers["X-Data-Version"]) == store.data_version()
    assert _served_rows(found.json()) != _served_rows(earlier)
    out = tmp_path / "check.gpkg"
    cmd = [sys.executable, "-m", "gridgeo", "check", "--db", people["url"], "--as-of", AS_OF]
    done = subprocess.run([*cmd, "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1), done.stderr  # 1: findings were made
    assert store.data_version() == int(found.headers["X-Data-Version"])  # nothing wrote since
    frames = {
        name: pyogrio.read_dataframe(out, layer=name, read_geometry=False)
        for name, _ in pyogrio.list_layers(out)
    }
    assert _served_rows(found.json()) == _finding_rows(frames)


def _as_of_line(store: Store, lang: str) -> str:
    stamp = store.data_stamp()
    at = stamp.changed_at.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M")
    if lang == "zh":
        return f"数据截至 {at}（版本 {stamp.version}）"
    return f"Data as of {at} (version {stamp.version})"


@pytest.mark.parametrize("path", ["/maps/coverage", "/maps/hotspots", "/reports/coverage"])
def test_maps_and_the_report_say_which_data_they_show(client, store, people, path):
    leader = {"Authorization": f"Bearer {people['tokens']['leader']}"}
    for lang in ("zh", "en"):
        page = client.get(f"{path}?lang={lang}", headers=leader)
        assert page.status_code == 200, page.text
        assert _as_of_line(store, lang) in page.text
    visit = {"household": people["own"]["member"]}
    _written(store, lambda: client.post("/visits", json=visit, headers=_h(people, "member")), 201)
    page = client.get(path, headers=leader)  # Chinese by default, made anew for the write
    assert _as_of_line(store, "zh") in page.text


@pytest.mark.parametrize("ext", ["mvt", "png"])
def test_finding_tiles_carry_the_version_and_time_after_a_write(client, store, people, ext):
    planner = {"Authorization": f"Bearer {people['tokens']['planner']}"}
    url = f"/tiles/grid_coverage/0/0/0.{ext}?as_of={AS_OF}"
    assert client.get(url, headers=planner).status_code == 200  # the old version's tile
    visit = {"household": people["own"]["member"]}
    r = _written(
        store, lambda: client.post("/visits", json=visit, headers=_h(people, "member")), 201
    )
    tile = client.get(url, headers=planner)
    assert tile.status_code == 200
    assert tile.headers["X-Data-Version"] == r.headers["X-Data-Version"]
    at = dt.datetime.fromisoformat(tile.headers["X-Data-Time"])
    assert at == store.data_stamp().changed_at.replace(microsecond=0)


def test_concurrent_writes_to_different_layers_each_get_a_version_of_their_own(
    client, store, people
):
    from concurrent.futures import ThreadPoolExecutor

    def send(i: int) -> httpx.Response:
        if i % 3 == 0:
            body = {"grid": people["grid"], "attendance": 5, "topic": f"议事 {i}"}
            return client.post("/meetings", json=body, headers=_h(people, "grid_worker"))
        if i % 3 == 1:
            body = {
                "category": "停车",
                "description": f"c {i}",
                "household": people["own"]["member"],
            }
            return client.post("/problems", json=body, headers=_h(people, "member"))
        body = {"household": people["own"]["member"], "note": f"c {i}"}
        return client.post("/visits", json=body, headers=_h(people, "member"))

    before = store.data_version()
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(48)))
    assert all(r.status_code == 201 for r in answers), [r.text for r in answers]
    versions = sorted(int(r.headers["X-Data-Version"]) for r in answers)
    assert versions == list(range(before + 1, before + 49))
    assert store.data_version() == before + 48
