"""Client write uuids, problem versions and the audit log, through the API on both stores."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

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


def _auth(people: dict, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {people['tokens'][role]}"}


def _count(url: str, sql: str, **params: object) -> int:
    s = open_store(url)
    try:
        with s.engine.connect() as conn:
            return int(conn.execute(sa.text(sql), params).scalar_one())
    finally:
        s.close()


# -- uuids -----------------------------------------------------------------------------------


def test_a_uuid_alone_identifies_a_write_and_its_retry_is_replayed(client, people):
    uid = str(uuid.uuid4())
    body = {"uuid": uid, "household": people["own"]["member"], "note": f"u {uid}"}
    first = client.post("/visits", json=body, headers=_auth(people, "member"))
    assert first.status_code == 201, first.text
    assert first.json()["uuid"] == uid
    assert "Idempotent-Replayed" not in first.headers
    again = client.post("/visits", json=body, headers=_auth(people, "member"))
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    # a new Idempotency-Key does not make it a new write: the uuid is the write's id
    headers = {**_auth(people, "member"), "Idempotency-Key": uuid.uuid4().hex}
    third = client.post("/visits", json=body, headers=headers)
    assert third.headers["Idempotent-Replayed"] == "true"
    assert _count(people["url"], "SELECT count(*) FROM visits WHERE uuid = :u", u=uid) == 1


def test_the_same_uuid_with_another_body_is_409_naming_the_uuid_not_the_body(client, people):
    uid = str(uuid.uuid4())
    body = {"uuid": uid, "household": people["own"]["member"], "note": "first"}
    assert client.post("/visits", json=body, headers=_auth(people, "member")).status_code == 201
    secret = f"other {uuid.uuid4().hex}"
    r = client.post("/visits", json={**body, "note": secret}, headers=_auth(people, "member"))
    assert r.status_code == 409, r.text
    assert r.json()["error"] == "Conflict"
    assert uid in r.json()["detail"] and secret not in r.text
    # and as another layer's write, or by another member with the same body
    problem = {"uuid": uid, "category": "停车", "household": people["own"]["member"]}
    r = client.post("/problems", json=problem, headers=_auth(people, "member"))
    assert r.status_code == 409
    worker = {"uuid": uid, "household": people["own"]["member"], "note": "first"}
    r = client.post("/visits", json=worker, headers=_auth(people, "grid_worker"))
    assert r.status_code in (403, 409, 422)  # never a replay of another member's write
    assert "Idempotent-Replayed" not in r.headers


def test_a_write_without_key_or_uuid_is_refused(client, people):
    body = {"household": people["own"]["member"]}
    r = client.post("/visits", json=body, headers=_auth(people, "member"))
    assert r.status_code == 422
    assert "Idempotency-Key" in r.json()["detail"] and "uuid" in r.json()["detail"]


def test_a_uuid_and_a_key_together_replay_by_key_first(client, people):
    uid, key = str(uuid.uuid4()), uuid.uuid4().hex
    body = {"uuid": uid, "household": people["own"]["member"], "note": "both"}
    headers = {**_auth(people, "member"), "Idempotency-Key": key}
    first = client.post("/visits", json=body, headers=headers)
    assert first.status_code == 201
    # the key with another uuid is another request for the same key: 422, as before
    other = {**body, "uuid": str(uuid.uuid4())}
    assert client.post("/visits", json=other, headers=headers).status_code == 422
    assert client.post("/visits", json=body, headers=headers).headers["Idempotent-Replayed"]


# -- versions --------------------------------------------------------------------------------


def _problem(client, people) -> dict:
    r = client.post(
        "/problems",
        json={"uuid": str(uuid.uuid4()), "category": "停车", "household": people["own"]["member"]},
        headers=_auth(people, "member"),
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_each_step_raises_the_version_and_a_stale_one_is_409_with_the_current(client, people):
    problem = _problem(client, people)
    code = problem["id"]
    assert problem["version"] == 1
    step = {"uuid": str(uuid.uuid4()), "version": 1}
    r = client.post(f"/problems/{code}/resolve", json=step, headers=_auth(people, "member"))
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2
    stale = {"uuid": str(uuid.uuid4()), "version": 1, "feedback": "已回复"}
    r = client.post(f"/problems/{code}/close", json=stale, headers=_auth(people, "member"))
    assert r.status_code == 409, r.text
    assert r.json()["error"] == "StaleVersion" and r.json()["version"] == 2
    assert _count(people["url"], "SELECT version FROM problems WHERE code = :c", c=code) == 2
    headers = {**_auth(people, "member"), "If-Match": '"2"'}
    fresh = {"uuid": str(uuid.uuid4()), "feedback": "已回复"}
    r = client.post(f"/problems/{code}/close", json=fresh, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 3 and r.json()["properties"]["status"] == "closed"


def test_a_step_without_a_version_applies_as_before(client, people):
    code = _problem(client, people)["id"]
    headers = {**_auth(people, "member"), "Idempotency-Key": uuid.uuid4().hex}
    r = client.post(f"/problems/{code}/escalate", json={}, headers=headers)
    assert r.status_code == 200 and r.json()["version"] == 2


def test_body_version_and_if_match_must_agree(client, people):
    code = _problem(client, people)["id"]
    headers = {**_auth(people, "member"), "If-Match": '"3"'}
    body = {"uuid": str(uuid.uuid4()), "version": 1}
    r = client.post(f"/problems/{code}/resolve", json=body, headers=headers)
    assert r.status_code == 422


# -- audit log -------------------------------------------------------------------------------


def test_writes_and_steps_are_in_the_audit_log_with_who_and_what(client, people):
    problem = _problem(client, people)
    code = problem["id"]
    step = {"uuid": str(uuid.uuid4()), "version": 1}
    assert (
        client.post(
            f"/problems/{code}/resolve", json=step, headers=_auth(people, "member")
        ).status_code
        == 200
    )
    # a replay writes no second row
    client.post(f"/problems/{code}/resolve", json=step, headers=_auth(people, "member"))
    r = client.get(f"/audit?layer=problems&code={code}", headers=_auth(people, "member"))
    assert r.status_code == 200, r.text
    entries = r.json()["entries"]
    assert [e["action"] for e in entries] == ["created", "resolve"]
    created, resolved = entries
    assert created["member"] == people["member"] and created["role"] == "member"
    assert created["old"] is None and created["new"]["status"] == "open"
    assert resolved["old"]["status"] == "open" and resolved["new"]["status"] == "resolved_on_site"
    assert resolved["old"]["version"] == 1 and resolved["new"]["version"] == 2
    assert created["community"] == "C01"
    # the C01 leader reads it; the planner (district) too
    for role in ("leader", "planner"):
        seen = client.get(f"/audit?code={code}", headers=_auth(people, role)).json()
        assert len(seen["entries"]) == 2, role


def test_the_audit_log_is_cut_to_the_readers_area_and_paged(client, people):
    r = client.get("/audit?limit=1", headers=_auth(people, "planner"))
    assert r.status_code == 200
    page = r.json()
    assert len(page["entries"]) == 1 and page["next"]
    following = client.get(page["next"], headers=_auth(people, "planner")).json()
    assert following["entries"][0]["id"] > page["entries"][0]["id"]
    # a member sees only their own writes; the grid worker's meeting is not among them
    meeting = {"uuid": str(uuid.uuid4()), "grid": people["grid"], "topic": "议事"}
    r = client.post("/meetings", json=meeting, headers=_auth(people, "grid_worker"))
    assert r.status_code == 201, r.text
    mine = client.get("/audit?limit=1000", headers=_auth(people, "member")).json()["entries"]
    assert mine and {e["member"] for e in mine} == {people["member"]}
    # the leader of C01 never sees a change in C02
    leader = client.get("/audit?limit=1000", headers=_auth(people, "leader")).json()["entries"]
    assert leader and all(e["community"] == "C01" or e["grid"] for e in leader)
    assert all(e["community"] in ("C01", None) for e in leader)


def test_the_audit_log_is_exported_with_the_data(client, people, tmp_path):
    import json

    from typer.testing import CliRunner

    from gridgeo.cli import app

    code = _problem(client, people)["id"]
    for suffix in ("jsonl", "csv"):
        file = tmp_path / f"audit.{suffix}"
        result = CliRunner().invoke(app, ["export", "audit", str(file), "--db", people["url"]])
        assert result.exit_code == 0, result.output
        text = file.read_text(encoding="utf-8-sig")
        assert code in text
    rows = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert any(r["action"] == "import" and r["new"]["inserted"] > 0 for r in rows)
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
