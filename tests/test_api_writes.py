"""Field writes through the API on both stores: validation, idempotency, lifecycle.

The last test sends 1,000 visits, each twice with the same key and at the same time,
to a real ``gridgeo serve`` on PostGIS and counts what was stored.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.main import create_app
from gridgeo.settings import Settings
from gridgeo.store import open_store


@pytest.fixture(scope="module")
def client(people: dict) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=people["url"], auth="on"))) as c:
        yield c


def _h(people: dict, role: str, key: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {people['tokens'][role]}"}
    headers["Idempotency-Key"] = key or uuid.uuid4().hex
    return headers


def _count(url: str, sql: str, **params: object) -> int:
    s = open_store(url)
    try:
        with s.engine.connect() as conn:
            return int(conn.execute(sa.text(sql), params).scalar_one())
    finally:
        s.close()


def _visits_with_note(url: str, note: str) -> int:
    return _count(url, "SELECT count(*) FROM visits WHERE note = :note", note=note)


def test_visit_inside_the_assignment_is_stored_and_readable(client, people):
    note = f"inside {uuid.uuid4().hex}"
    body = {"household": people["own"]["member"], "note": note}
    r = client.post("/visits", json=body, headers=_h(people, "member"))
    assert r.status_code == 201, r.text
    feature = r.json()
    props = feature["properties"]
    assert props["member"] == people["member"]
    assert props["household"] == people["own"]["member"]
    assert props["note"] == note
    assert feature["geometry"]["type"] == "Point"  # the household's point
    assert _visits_with_note(people["url"], note) == 1
    back = client.get(f"/layers/visits?code={props['code']}", headers=_h(people, "member")).json()
    assert back["numberMatched"] == 1
    assert back["features"][0]["properties"] == props


def test_visit_outside_the_assignment_is_refused_with_the_reason(client, people):
    note = f"outside {uuid.uuid4().hex}"
    r = client.post(
        "/visits",
        json={"household": people["stranger"], "note": note},
        headers=_h(people, "member"),
    )
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert people["stranger"] in detail
    assert f"outside member {people['member']}'s assignments" in detail
    assert _visits_with_note(people["url"], note) == 0


def test_a_member_records_only_their_own_visits(client, people):
    r = client.post(
        "/visits",
        json={"household": people["own"]["member"], "member": people["worker"]},
        headers=_h(people, "member"),
    )
    assert r.status_code == 403
    assert "records only their own visits" in r.json()["detail"]


def test_retry_with_the_same_key_returns_the_first_result(client, people):
    note = f"retry {uuid.uuid4().hex}"
    headers = _h(people, "member")
    body = {"household": people["own"]["member"], "note": note}
    first = client.post("/visits", json=body, headers=headers)
    second = client.post("/visits", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert _visits_with_note(people["url"], note) == 1


def test_the_same_key_with_another_body_is_refused(client, people):
    headers = _h(people, "member")
    note = f"first {uuid.uuid4().hex}"
    first = client.post(
        "/visits", json={"household": people["own"]["member"], "note": note}, headers=headers
    )
    assert first.status_code == 201
    other = client.post(
        "/visits", json={"household": people["own"]["member"], "note": "changed"}, headers=headers
    )
    assert other.status_code == 422
    assert "Idempotency-Key" in other.json()["detail"]
    assert _visits_with_note(people["url"], note) == 1
    assert _visits_with_note(people["url"], "changed") == 0


def test_keys_belong_to_one_token(client, people):
    key = uuid.uuid4().hex
    body = {"household": people["own"]["member"], "note": f"k {key}"}
    assert client.post("/visits", json=body, headers=_h(people, "member", key)).status_code == 201
    body = {"household": people["own"]["grid_worker"], "note": f"k {key}"}
    r = client.post("/visits", json=body, headers=_h(people, "grid_worker", key))
    assert r.status_code == 201  # another token's key space: a write of its own
    assert _visits_with_note(people["url"], f"k {key}") == 2


def test_a_write_needs_an_idempotency_key(client, people):
    headers = _h(people, "member")
    del headers["Idempotency-Key"]
    r = client.post("/visits", json={"household": people["own"]["member"]}, headers=headers)
    assert r.status_code == 422
    assert "Idempotency-Key" in r.text


def test_bad_values_are_refused_and_nothing_is_stored(client, people):
    note = f"future {uuid.uuid4().hex}"
    r = client.post(
        "/visits",
        json={
            "household": people["own"]["member"],
            "note": note,
            "visited_at": "2100-01-01T00:00:00+08:00",
        },
        headers=_h(people, "member"),
    )
    assert r.status_code == 422
    assert "in the future" in r.json()["detail"]
    other_building = _another_building_in_area(people)
    r = client.post(
        "/visits",
        json={"household": people["own"]["member"], "building": other_building, "note": note},
        headers=_h(people, "member"),
    )
    assert r.status_code == 422
    assert f"not {other_building}" in r.json()["detail"]
    # a building that exists nowhere is refused as one outside the area, before the rest
    r = client.post(
        "/visits",
        json={"household": people["own"]["member"], "building": "B999999", "note": note},
        headers=_h(people, "member"),
    )
    assert r.status_code == 403
    assert "building 'B999999' is not in your area" in r.json()["detail"]
    assert _visits_with_note(people["url"], note) == 0


def _another_building_in_area(people: dict) -> str:
    """A building of the member's area that is not the building of their own household."""
    from gridgeo.areas import area_for, geography

    s = open_store(people["url"])
    try:
        geo = geography(s)
        area = area_for(s, people["principals"]["member"])
        own = geo.building_of_household[people["own"]["member"]]
        return sorted(area.buildings - {own})[0]
    finally:
        s.close()


def _problem(client, people, role: str = "member") -> str:
    r = client.post(
        "/problems",
        json={"category": "停车", "description": "test", "household": people["own"][role]},
        headers=_h(people, role),
    )
    assert r.status_code == 201, r.text
    assert r.json()["properties"]["status"] == "open"
    return r.json()["id"]


def test_problem_lifecycle_resolve_then_close_with_feedback(client, people):
    code = _problem(client, people)
    r = client.post(f"/problems/{code}/resolve", json={}, headers=_h(people, "member"))
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["status"] == "resolved_on_site"
    assert r.json()["properties"]["resolved_at"] is not None
    for feedback in (None, "", "   "):
        body = {} if feedback is None else {"feedback": feedback}
        r = client.post(f"/problems/{code}/close", json=body, headers=_h(people, "member"))
        assert r.status_code == 422, feedback
        assert "needs feedback text" in r.json()["detail"]
    status = _count(
        people["url"],
        "SELECT count(*) FROM problems WHERE code = :c AND status = 'resolved_on_site'",
        c=code,
    )
    assert status == 1
    r = client.post(
        f"/problems/{code}/close",
        json={"feedback": "已修复，居民满意"},
        headers=_h(people, "member"),
    )
    assert r.status_code == 200
    props = r.json()["properties"]
    assert props["status"] == "closed"
    assert props["feedback"] == "已修复，居民满意"
    assert props["closed_at"] and props["feedback_at"]


def test_problem_lifecycle_escalate_then_close(client, people):
    code = _problem(client, people, "grid_worker")
    r = client.post(
        f"/problems/{code}/escalate",
        json={"deadline": "2030-01-31"},
        headers=_h(people, "grid_worker"),
    )
    assert r.status_code == 200
    assert r.json()["properties"]["status"] == "escalated"
    assert r.json()["properties"]["deadline"] == "2030-01-31"
    r = client.post(
        f"/problems/{code}/close",
        json={"feedback": "社区已协调"},
        headers=_h(people, "grid_worker"),
    )
    assert r.status_code == 200
    assert r.json()["properties"]["status"] == "closed"


def test_lifecycle_steps_out_of_order_conflict(client, people):
    code = _problem(client, people)
    r = client.post(f"/problems/{code}/close", json={"feedback": "x"}, headers=_h(people, "member"))
    assert r.status_code == 409
    assert "is open" in r.json()["detail"]
    assert (
        client.post(f"/problems/{code}/resolve", json={}, headers=_h(people, "member")).status_code
        == 200
    )
    r = client.post(f"/problems/{code}/escalate", json={}, headers=_h(people, "member"))
    assert r.status_code == 409
    assert "resolved_on_site" in r.json()["detail"]


def test_lifecycle_retry_replays_instead_of_conflicting(client, people):
    code = _problem(client, people)
    headers = _h(people, "member")
    first = client.post(f"/problems/{code}/resolve", json={}, headers=headers)
    again = client.post(f"/problems/{code}/resolve", json={}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()


def test_a_close_time_before_the_report_is_refused(client, people):
    code = _problem(client, people)
    r = client.post(
        f"/problems/{code}/resolve",
        json={"at": "2000-01-01T00:00:00Z"},
        headers=_h(people, "member"),
    )
    assert r.status_code == 422
    assert "before the problem was reported" in r.json()["detail"]


def test_a_grid_worker_records_a_meeting(client, people):
    topic = f"议事 {uuid.uuid4().hex}"
    r = client.post(
        "/meetings",
        json={"grid": people["grid"], "attendance": 12, "topic": topic},
        headers=_h(people, "grid_worker"),
    )
    assert r.status_code == 201, r.text
    assert r.json()["properties"]["grid"] == people["grid"]
    assert r.json()["geometry"] is None
    n = _count(people["url"], "SELECT count(*) FROM meetings WHERE topic = :t", t=topic)
    assert n == 1


def test_writes_count_as_changes(client, people):
    s = open_store(people["url"])
    try:
        before = s.data_version("visits")
        r = client.post(
            "/visits", json={"household": people["own"]["member"]}, headers=_h(people, "member")
        )
        assert r.status_code == 201
        assert s.data_version("visits") == before + 1
    finally:
        s.close()


# -- 1,000 concurrent visits against a real server on PostGIS -----------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(people: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``gridgeo serve`` on the module's PostGIS database, in a process of its own."""
    if not people["url"].startswith("postgresql"):
        pytest.skip("the concurrency test runs against the PostGIS server")
    port = _free_port()
    env = {**os.environ, "GRIDGEO_AUTH": "on", "GRIDGEO_DATABASE_URL": people["url"]}
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gridgeo", "serve", "--db", people["url"], "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gridgeo serve did not start: {log.read_text()}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_1000_concurrent_visits_are_stored_exactly_once(server, people):
    run = uuid.uuid4().hex[:8]
    n = 1000
    headers = {"Authorization": f"Bearer {people['tokens']['member']}"}
    jobs = [(i, f"{run}-{i}") for i in range(n)]

    def send(job: tuple[int, str], client: httpx.Client) -> tuple[int, int, dict]:
        i, key = job
        r = client.post(
            "/visits",
            json={"household": people["own"]["member"], "note": f"load {run} {i}"},
            headers={**headers, "Idempotency-Key": key},
        )
        return i, r.status_code, r.json()

    with httpx.Client(base_url=server, timeout=120) as client:
        with ThreadPoolExecutor(max_workers=32) as pool:
            # every request twice, the copies side by side, so duplicates race
            futures = [pool.submit(send, job, client) for job in jobs for _ in range(2)]
            results = [f.result() for f in futures]
    assert {status for _, status, _ in results} == {201}
    by_job: dict[int, list[dict]] = {}
    for i, _, body in results:
        by_job.setdefault(i, []).append(body)
    assert all(a == b for a, b in by_job.values())  # the retry got the first result
    assert len({bodies[0]["id"] for bodies in by_job.values()}) == n
    stored = _count(
        people["url"], "SELECT count(*) FROM visits WHERE note LIKE :p", p=f"load {run} %"
    )
    distinct = _count(
        people["url"],
        "SELECT count(DISTINCT note) FROM visits WHERE note LIKE :p",
        p=f"load {run} %",
    )
    assert stored == distinct == n
    keys = _count(
        people["url"], "SELECT count(*) FROM idempotency_keys WHERE key LIKE :p", p=f"{run}-%"
    )
    assert keys == n


def test_racing_lifecycle_steps_move_a_problem_once(server, people):
    headers = {"Authorization": f"Bearer {people['tokens']['member']}"}
    with httpx.Client(base_url=server, timeout=120) as client:
        codes = []
        for _ in range(20):
            r = client.post(
                "/problems",
                json={"category": "并发", "household": people["own"]["member"]},
                headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
            )
            assert r.status_code == 201
            codes.append(r.json()["id"])

        def step(job: tuple[str, str]) -> tuple[str, int]:
            code, action = job
            r = client.post(
                f"/problems/{code}/{action}",
                json={},
                headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
            )
            return code, r.status_code

        jobs = [(code, action) for code in codes for action in ("resolve", "escalate")]
        with ThreadPoolExecutor(max_workers=16) as pool:
            results = list(pool.map(step, jobs))
    for code in codes:
        assert sorted(status for c, status in results if c == code) == [200, 409]
    moved = _count(
        people["url"],
        "SELECT count(*) FROM problems WHERE category = '并发' AND "
        "((status = 'resolved_on_site' AND escalated_at IS NULL) OR "
        "(status = 'escalated' AND resolved_at IS NULL))",
    )
    assert moved == 20
