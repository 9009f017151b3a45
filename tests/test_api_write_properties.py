"""Generated bodies for every write route, on both stores: no answer is a server error.

The bodies are built from the write models' own fields (a field added to a model is
generated too): codes of the caller's area, of another area and made up; times and
dates in and out of range and malformed; numbers with NaN, infinities and 1e400;
text with lone surrogates and NUL; unknown fields. Each answer must be a 2xx or a
refusal in the shape ``{"error", "detail"}``, never a 5xx.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from api import write_bodies
from api.main import create_app
from gridgeo.settings import Settings
from gridgeo.store import open_store

#: Each write route and the model of its body.
ROUTES: list[tuple[str, type[BaseModel]]] = [
    ("/visits", write_bodies.VisitIn),
    ("/meetings", write_bodies.MeetingIn),
    ("/problems", write_bodies.ProblemIn),
    ("/problems/{code}/resolve", write_bodies.ResolveIn),
    ("/problems/{code}/escalate", write_bodies.EscalateIn),
    ("/problems/{code}/close", write_bodies.CloseIn),
]
CODE_FIELDS = {"code", "member", "household", "building", "visit", "responsible", "grid"}
TIME_FIELDS = {"visited_at", "reported_at", "at"}
DAY_FIELDS = {"held_on", "deadline"}
TEXT_FIELDS = {"note", "topic", "description", "feedback", "category"}
ANSWERS = {200, 201, 400, 401, 403, 404, 409, 413, 422}


@pytest.fixture(scope="module")
def client(people: dict) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=people["url"], auth="on"))) as c:
        yield c


@pytest.fixture(scope="module")
def codes(people: dict, client: TestClient) -> dict[str, list[str]]:
    """Codes a body may name: the callers' own, another area's, and problems to move."""
    s = open_store(people["url"])
    try:
        visits = s.read_layer("visits", columns=[], geometry=False)["code"]
        members = s.read_layer("members", columns=[], geometry=False)["code"]
        problems = s.read_layer("problems", columns=[], geometry=False)["code"]
    finally:
        s.close()
    mine = []
    for role in ("member", "grid_worker"):
        r = client.post(
            "/problems",
            json={"category": "生成", "household": people["own"][role]},
            headers={
                "Authorization": f"Bearer {people['tokens'][role]}",
                "Idempotency-Key": uuid.uuid4().hex,
            },
        )
        assert r.status_code == 201, r.text
        mine.append(r.json()["id"])
    return {
        "places": [people["own"]["member"], people["own"]["grid_worker"], people["stranger"],
                   people["other"]["member"], people["grid"], people["other_grid"]],
        "members": [people["member"], people["worker"], *members.iloc[:3]],
        "visits": list(visits.iloc[:2]) + list(visits.iloc[-2:]),
        "problems": mine + list(problems.iloc[:2]),
    }  # fmt: skip


def _text(max_size: int) -> st.SearchStrategy[str]:
    odd = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF) | st.sampled_from(
        ["\x00", "\u200b", "网", "格", "'", '"', "\n"]
    )
    return st.text(alphabet=st.characters() | odd, max_size=max_size) | st.text(max_size=20)


def _times() -> st.SearchStrategy[Any]:
    zones = (
        st.none()
        | st.just(dt.UTC)
        | st.sampled_from([dt.timezone(dt.timedelta(hours=h)) for h in (-12, 8, 14)])
    )
    moments = st.datetimes(dt.datetime(1890, 1, 1), dt.datetime(2210, 1, 1), timezones=zones)
    recent = st.datetimes(dt.datetime(2025, 1, 1), dt.datetime(2025, 12, 31), timezones=zones)
    return (moments | recent).map(dt.datetime.isoformat) | _text(30) | st.integers()


def _days() -> st.SearchStrategy[Any]:
    return (
        st.dates(dt.date(1890, 1, 1), dt.date(2210, 1, 1)).map(dt.date.isoformat)
        | st.sampled_from(["2025-02-30", "2025-3-4", "03/04/2025", ""])
        | st.integers()
    )


def _numbers() -> st.SearchStrategy[Any]:
    return st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(10**30), 10**30)


def _valid(name: str, codes: dict[str, list[str]]) -> st.SearchStrategy[Any]:
    """Values the model accepts (the store may still refuse them, for its own reasons)."""
    if name == "code":
        return st.uuids().map(lambda u: f"T-{u.hex[:16]}")
    if name in CODE_FIELDS:
        known = codes["members"] if name in ("member", "responsible") else codes["places"]
        return st.sampled_from(codes["visits"] if name == "visit" else known)
    if name in TIME_FIELDS:
        zones = st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=8))]) | st.none()
        past = st.datetimes(dt.datetime(2024, 1, 1), dt.datetime(2025, 12, 31), timezones=zones)
        return past.map(dt.datetime.isoformat)
    if name in DAY_FIELDS:
        return st.dates(dt.date(2024, 1, 1), dt.date(2031, 1, 1)).map(dt.date.isoformat)
    if name in TEXT_FIELDS:
        return st.text(min_size=1, max_size=50)
    if name == "attendance":
        return st.integers(0, 500)
    if name == "uuid":
        return st.uuids().map(str)
    if name == "version":
        return st.integers(1, 5)
    if name == "geometry":
        point = st.tuples(st.floats(-180, 180), st.floats(-90, 90)).map(list)
        return st.fixed_dictionaries({"type": st.just("Point"), "coordinates": point})
    if name == "crs":
        return st.sampled_from(["wgs84", "gcj02", "bd09", "EPSG:4326", "EPSG:4490", "GCJ-02"])
    raise AssertionError(f"no strategy for the field {name!r}: add one")


def _wild(name: str) -> st.SearchStrategy[Any]:
    """Values of the right JSON kind and others: out of range, malformed, odd text."""
    if name in CODE_FIELDS:
        return _text(120) | st.integers()
    if name in TIME_FIELDS:
        return _times()
    if name in DAY_FIELDS:
        return _days()
    if name in TEXT_FIELDS:
        return _text(4100)
    if name == "attendance":
        return st.integers(-5, 200_000) | _numbers()
    if name == "uuid":
        return st.uuids().map(lambda u: u.hex.upper()) | _text(40) | st.integers()
    if name == "version":
        return st.integers(-5, 2**40) | _numbers() | _text(5)
    if name == "geometry":
        return st.fixed_dictionaries(
            {
                "type": st.sampled_from(["Point", "LineString", "point"]),
                "coordinates": st.lists(_numbers() | st.floats(-180, 180), max_size=3),
            }
        ) | st.sampled_from([[], "POINT (1 2)"])
    if name == "crs":
        return _valid(name, {}) | _text(20) | st.integers() | st.none()
    raise AssertionError(f"no strategy for the field {name!r}: add one")


def _objects(
    model: type[BaseModel], field: Any, extra: st.SearchStrategy[dict[str, Any]]
) -> st.SearchStrategy[dict[str, Any]]:
    fields = {name: field(name) for name in model.model_fields}
    required = {n: fields.pop(n) for n, f in model.model_fields.items() if f.is_required()}
    return st.builds(
        lambda body, more: {**more, **body},
        st.fixed_dictionaries(required, optional=fields),
        extra,
    )


def _bodies(model: type[BaseModel], codes: dict[str, list[str]]) -> st.SearchStrategy[Any]:
    """Bodies of a model: objects of valid values (they reach the store's checks),
    objects with wild values and unknown fields, a required field left out, not objects."""
    valid = _objects(model, lambda name: _valid(name, codes), st.just({}))
    extra = st.dictionaries(_text(10), st.integers() | _text(10), max_size=1)
    mixed = _objects(model, lambda name: st.one_of(_valid(name, codes), _wild(name)), extra)
    dropped = mixed.flatmap(
        lambda body: st.sampled_from(sorted(body) or [""]).map(
            lambda key: {k: v for k, v in body.items() if k != key}
        )
    )
    others = st.sampled_from([[], "x", None, 0])
    return st.one_of(valid, valid, mixed, dropped, others)


@pytest.mark.parametrize(("path", "model"), ROUTES, ids=[p for p, _ in ROUTES])
def test_generated_bodies_get_no_server_error(client, people, codes, path, model):
    made_up = st.text(min_size=1, max_size=40).filter(lambda t: "/" not in t and t.strip("."))
    problems = st.sampled_from(codes["problems"]) | made_up

    @settings(
        max_examples=40,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        body=_bodies(model, codes),
        role=st.sampled_from(["member", "grid_worker"]),
        code=problems,
    )
    def check(body: Any, role: str, code: str) -> None:
        url = path.format(code=quote(code, safe="")) if "{code}" in path else path
        text = json.dumps(body, ensure_ascii=True, allow_nan=True)  # NaN, \\ud800 as sent
        r = client.post(
            url,
            content=text.encode("ascii"),
            headers={
                "Authorization": f"Bearer {people['tokens'][role]}",
                "Idempotency-Key": uuid.uuid4().hex,
                "Content-Type": "application/json",
            },
        )
        assert r.status_code in ANSWERS, (url, text[:300], r.status_code, r.text[:500])
        answer = r.json()
        if r.status_code >= 400:
            assert {"error", "detail"} <= set(answer), r.text[:300]
            assert len(r.content) < 8000, r.text[:300]  # bounded: the input is not echoed

    check()
