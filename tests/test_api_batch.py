"""``POST /batch`` on both stores: in order, each item all or nothing, a status per item."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.batch import BatchIn
from api.main import create_app
from gridgeo.settings import Settings
from gridgeo.store import open_store


@pytest.fixture(scope="module")
def client(people: dict) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=people["url"], auth="on", batch_max_items=20))
    with TestClient(app) as c:
        yield c


def _auth(people: dict, role: str = "member") -> dict[str, str]:
    return {"Authorization": f"Bearer {people['tokens'][role]}"}


def _count(url: str, sql: str, **params: object) -> int:
    s = open_store(url)
    try:
        with s.engine.connect() as conn:
            return int(conn.execute(sa.text(sql), params).scalar_one())
    finally:
        s.close()


def _offline_day(people: dict, run: str) -> list[dict]:
    """What a member's app keeps while offline: visits, a problem and its steps."""
    household = people["own"]["member"]
    problem = f"P-B{run}"
    return [
        {"op": "visit", "uuid": str(uuid.uuid4()),
         "body": {"household": household, "note": f"batch {run} 1"}},
        {"op": "problem", "uuid": str(uuid.uuid4()),
         "body": {"code": problem, "category": "停车", "household": household}},
        {"op": "resolve", "key": uuid.uuid4().hex, "problem": problem, "body": {"version": 1}},
        {"op": "close", "uuid": str(uuid.uuid4()), "problem": problem,
         "body": {"version": 2, "feedback": "已回复居民"}},
        {"op": "visit", "key": uuid.uuid4().hex,
         "body": {"household": household, "note": f"batch {run} 2"}},
    ]  # fmt: skip


def test_a_batch_is_applied_in_order_and_its_retry_replays_every_item(client, people):
    run = uuid.uuid4().hex[:10].upper()
    items = _offline_day(people, run)
    r = client.post("/batch", json={"items": items}, headers=_auth(people))
    assert r.status_code == 200, r.text
    out = r.json()
    assert [i["status"] for i in out["items"]] == [201, 201, 200, 200, 201]
    assert out["items"][3]["body"]["properties"]["status"] == "closed"
    assert out["items"][3]["body"]["version"] == 3
    assert (out["created"], out["updated"], out["replayed"], out["refused"]) == (3, 2, 0, 0)
    again = client.post("/batch", json={"items": items}, headers=_auth(people)).json()
    assert [i["status"] for i in again["items"]] == [201, 201, 200, 200, 201]
    assert all(i["replayed"] for i in again["items"])
    assert [i["body"] for i in again["items"]] == [i["body"] for i in out["items"]]
    n = _count(people["url"], "SELECT count(*) FROM visits WHERE note LIKE :n", n=f"batch {run} %")
    assert n == 2
    assert _count(people["url"], "SELECT version FROM problems WHERE code = :c", c=f"P-B{run}") == 3


def test_a_failed_item_changes_nothing_and_does_not_stop_the_others(client, people):
    run = uuid.uuid4().hex[:10].upper()
    items = _offline_day(people, run)
    items[2]["body"]["version"] = 7  # stale: the close after it is then out of order
    items.insert(1, {"op": "visit", "uuid": str(uuid.uuid4()),
                     "body": {"household": people["other"]["member"], "note": "foreign"}})  # fmt: skip
    items.insert(2, {"op": "meeting", "uuid": str(uuid.uuid4()), "body": {"grid": people["grid"]}})
    items.insert(3, {"op": "visit", "body": {"household": people["own"]["member"]}})
    items.insert(4, {"op": "visit", "uuid": str(uuid.uuid4()), "body": {"note": 5}})
    r = client.post("/batch", json={"items": items}, headers=_auth(people))
    assert r.status_code == 200, r.text
    statuses = [i["status"] for i in r.json()["items"]]
    # visit, foreign visit, meeting by a member, no id, bad body, problem, stale, close, visit
    assert statuses == [201, 403, 403, 422, 422, 201, 409, 409, 201]
    stale = r.json()["items"][6]["body"]
    assert stale["error"] == "StaleVersion" and stale["version"] == 1
    assert "fields" in r.json()["items"][4]["body"]  # named like the single route's 422
    n = _count(people["url"], "SELECT count(*) FROM visits WHERE note = 'foreign'")
    assert n == 0


def test_the_uuid_of_an_item_with_another_body_is_a_409_for_that_item(client, people):
    uid = str(uuid.uuid4())
    first = {"op": "visit", "uuid": uid, "body": {"household": people["own"]["member"]}}
    other = {**first, "body": {"household": people["own"]["member"], "note": "changed"}}
    r = client.post("/batch", json={"items": [first, other]}, headers=_auth(people))
    assert [i["status"] for i in r.json()["items"]] == [201, 409]
    assert uid in r.json()["items"][1]["body"]["detail"]


def test_batch_size_and_auth_are_checked_for_the_whole_batch(client, people):
    item = {"op": "visit", "body": {"household": people["own"]["member"]}}
    too_many = [{**item, "uuid": str(uuid.uuid4())} for _ in range(21)]
    r = client.post("/batch", json={"items": too_many}, headers=_auth(people))
    assert r.status_code == 422 and "20" in r.json()["detail"]
    assert client.post("/batch", json={"items": [item]}).status_code == 401
    r = client.post("/batch", content=b"{not json", headers=_auth(people, "leader"))
    assert r.status_code == 403  # refused before the body is read
    r = client.post("/batch", json={"items": [{"op": "delete"}]}, headers=_auth(people))
    assert r.status_code == 422


_ITEM = st.fixed_dictionaries(
    {"op": st.sampled_from(["visit", "meeting", "problem", "resolve", "escalate", "close", "x"])},
    optional={
        "key": st.text(max_size=5) | st.integers(),
        "uuid": st.uuids().map(str) | st.text(max_size=5),
        "problem": st.text(max_size=5) | st.none(),
        "body": st.dictionaries(st.sampled_from(["note", "version", "household", "at"]),
                                st.integers() | st.text(max_size=5) | st.none(), max_size=3),
        "extra": st.integers(),
    },
)  # fmt: skip


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(items=st.lists(_ITEM, max_size=4))
def test_any_batch_body_is_answered_with_a_status_per_item_or_a_named_422(client, people, items):
    r = client.post("/batch", json={"items": items}, headers=_auth(people))
    assert r.status_code in (200, 422), r.text
    if r.status_code == 422:
        assert r.json()["error"] == "ValidationError"
        return
    BatchIn.model_validate({"items": items})
    out = r.json()["items"]
    assert len(out) == len(items)
    assert all(o["status"] < 500 for o in out), out
