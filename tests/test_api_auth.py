"""Tokens, roles and areas on both stores: who may write what where, and who sees what."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from gridgeo import fieldwork
from gridgeo.areas import area_for, geography
from gridgeo.settings import Settings
from gridgeo.store import open_store
from gridgeo.tokens import revoke_token

ROLES = ("leader", "planner", "analyst", "grid_worker", "member")
WRITES = ("visit", "meeting", "problem", "resolve", "escalate", "close")


@pytest.fixture(scope="module")
def client(people: dict) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=people["url"], auth="on"))) as c:
        yield c


@pytest.fixture(scope="module")
def store(people: dict):
    s = open_store(people["url"])
    yield s
    s.close()


def _auth(people: dict, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {people['tokens'][role]}"}


def _expected(role: str, write: str, area: str) -> int:
    if role not in ("grid_worker", "member"):
        return 403
    if write == "meeting" and role == "member":
        return 403
    if area == "other":
        return 403
    return 201 if write in ("visit", "meeting", "problem") else 200


def _target(people: dict, role: str, area: str) -> str:
    who = role if role in ("grid_worker", "member") else "member"
    return people[area][who]


@pytest.mark.parametrize("area", ["own", "other"])
@pytest.mark.parametrize("write", WRITES)
@pytest.mark.parametrize("role", ROLES)
def test_write_matrix(client, people, store, role, write, area):
    household = _target(people, role, area)
    headers = {**_auth(people, role), "Idempotency-Key": uuid.uuid4().hex}
    if write == "visit":
        r = client.post("/visits", json={"household": household}, headers=headers)
    elif write == "meeting":
        grid = people["grid"] if area == "own" else people["other_grid"]
        r = client.post("/meetings", json={"grid": grid, "attendance": 9}, headers=headers)
    elif write == "problem":
        r = client.post(
            "/problems", json={"category": "测试", "household": household}, headers=headers
        )
    else:
        code = fieldwork.report_problem(
            store, {"category": "测试", "household": household}
        ).feature["id"]
        if write == "close":
            fieldwork.resolve_problem(store, code)
        body = {"feedback": "已反馈"} if write == "close" else {}
        r = client.post(f"/problems/{code}/{write}", json=body, headers=headers)
    expected = _expected(role, write, area)
    assert r.status_code == expected, r.text
    if expected == 403:
        detail = r.json()["detail"]
        assert r.json()["error"] == "PermissionDenied"
        assert "role" in detail or "area" in detail, detail


@pytest.mark.parametrize(
    ("method", "path"), [("get", "/layers/grids"), ("get", "/findings"), ("post", "/visits")]
)
def test_no_token_or_a_bad_one_is_401(client, people, method, path):
    for headers in (
        {},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Basic dXNlcjpwdw=="},
    ):
        r = client.request(
            method, path, headers={**headers, "Idempotency-Key": "k"}, json={"household": "x"}
        )
        assert r.status_code == 401, (headers, r.text)
        assert r.headers["WWW-Authenticate"] == "Bearer"
        assert "token" in r.json()["detail"]


def test_a_revoked_token_is_401(client, people, store):
    from gridgeo.tokens import create_token

    secret, principal = create_token(store, "analyst")
    assert client.get("/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    revoke_token(store, principal.token_id)
    r = client.get("/me", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 401
    assert "revoked" in r.json()["detail"]


def test_me_tells_the_role_and_area(client, people):
    me = client.get("/me", headers=_auth(people, "leader")).json()
    assert me == {
        "role": "leader",
        "member": None,
        "communities": ["C01"],
        "grids": [],
        "district_wide": False,
        "personal_data": False,
    }


LAYER_SETS = {
    "communities": "visible_communities",
    "grids": "grids",
    "buildings": "buildings",
    "households": "households",
}


@pytest.mark.parametrize("role", ["leader", "grid_worker", "member"])
@pytest.mark.parametrize(
    "layer",
    [
        "communities",
        "grids",
        "buildings",
        "households",
        "visits",
        "problems",
        "meetings",
        "assignments",
    ],
)
def test_no_feature_of_another_area_leaks(client, people, store, role, layer):
    area = area_for(store, people["principals"][role])
    r = client.get(f"/layers/{layer}?limit=10000", headers=_auth(people, role))
    assert r.status_code == 200
    features = r.json()["features"]
    assert features, f"{role} sees no {layer} at all"
    assert r.json()["numberMatched"] == len(features)
    for f in features:
        p = f["properties"]
        if layer in LAYER_SETS:
            assert p["code"] in getattr(area, LAYER_SETS[layer])
        elif layer == "meetings":
            assert p["grid"] in area.grids
        elif layer == "assignments":
            assert (
                p["community"] in area.communities
                or p["grid"] in area.grids
                or p["building"] in area.buildings
                or p["household"] in area.households
            )
        else:
            assert p["household"] in area.households or p["building"] in area.buildings


def test_a_bbox_over_another_area_returns_nothing(client, people, store):
    geo = geography(store)
    other = [g for g, c in geo.grid_of_code.items() if c == "C02"]
    grids = store.read_layer("grids")
    inner = grids[grids["code"].isin(other)].geometry.union_all().representative_point()
    box = f"{inner.x - 1e-4},{inner.y - 1e-4},{inner.x + 1e-4},{inner.y + 1e-4}"
    leader = client.get(f"/layers/grids?bbox={box}", headers=_auth(people, "leader")).json()
    planner = client.get(f"/layers/grids?bbox={box}", headers=_auth(people, "planner")).json()
    assert leader["numberMatched"] == 0
    assert planner["numberMatched"] >= 1  # the district-wide role sees it
    r = client.get(
        f"/layers/households?code={people['other']['member']}", headers=_auth(people, "leader")
    )
    assert r.json()["numberMatched"] == 0


def test_findings_stay_within_the_area(client, people, store):
    geo = geography(store)
    c02_buildings = {b for b, g in geo.grid_of_building.items() if g and g.startswith("C02-")}
    body = client.get("/findings?limit=10000", headers=_auth(people, "leader")).json()
    assert body["numberMatched"] > 0
    for f in body["features"]:
        code = str(f["properties"]["code"])
        assert not code.startswith(("C02", "C03", "C04")), f["properties"]
        assert code not in c02_buildings
    everything = client.get("/findings?limit=1", headers=_auth(people, "planner")).json()
    assert everything["numberMatched"] > body["numberMatched"]
    r = client.get("/findings?community=C02", headers=_auth(people, "leader"))
    assert r.status_code == 403
    assert "not in your area" in r.json()["detail"]
    r = client.get("/findings/summary_district", headers=_auth(people, "leader"))
    assert r.status_code == 404  # district totals are for district-wide roles
    text = client.get("/findings.csv", headers=_auth(people, "leader")).content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows
    assert not any(row["code"] in c02_buildings or row["code"].startswith("C02") for row in rows)


@pytest.mark.parametrize("role", ROLES)
def test_personal_data_only_for_roles_entitled_to_it(client, people, role):
    headers = _auth(people, role)
    plain = client.get("/layers/households?limit=5", headers=headers).json()["features"]
    assert plain
    assert all("name" not in f["properties"] and "phone" not in f["properties"] for f in plain)
    members = client.get("/layers/members?limit=5", headers=headers).json()["features"]
    assert all("phone" not in f["properties"] for f in members)
    r = client.get("/layers/households?limit=5&include_personal=true", headers=headers)
    if role in ("grid_worker", "member"):
        assert r.status_code == 200
        assert all("name" in f["properties"] for f in r.json()["features"])
    else:
        assert r.status_code == 403
        assert "may not see household names" in r.json()["detail"]
    text = client.get("/findings.csv", headers=headers).content.decode("utf-8-sig")
    header = next(csv.reader(io.StringIO(text)))
    assert "name" not in header and "phone" not in header


def test_the_open_demo_mode_reads_but_never_writes(people):
    with TestClient(create_app(Settings(database_url=people["url"], auth="off"))) as c:
        r = c.get("/layers/grids?limit=1")
        assert r.status_code == 200
        assert r.json()["numberMatched"] == 36
        assert c.get("/layers/households?include_personal=true").status_code == 403
        r = c.post(
            "/visits",
            json={"household": people["own"]["member"]},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert r.status_code == 403
        assert c.get("/me").json()["role"] == "analyst"


def test_token_cli_prints_a_token_once_and_it_works(client, people):
    from typer.testing import CliRunner

    from gridgeo.cli import app as cli

    runner = CliRunner()
    done = runner.invoke(
        cli, ["token", "create", "--role", "leader", "--community", "C01", "--db", people["url"]]
    )
    assert done.exit_code == 0, done.output
    secret = done.stdout.strip().splitlines()[-1]
    assert secret.startswith("ggt_")
    me = client.get("/me", headers={"Authorization": f"Bearer {secret}"}).json()
    assert me["role"] == "leader" and me["communities"] == ["C01"]
    listed = runner.invoke(cli, ["token", "list", "--db", people["url"]])
    assert listed.exit_code == 0
    assert secret not in listed.stdout
    refused = runner.invoke(cli, ["token", "create", "--role", "leader", "--db", people["url"]])
    assert refused.exit_code == 1
    assert "needs an area" in refused.output
