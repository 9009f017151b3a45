"""The proposal routes and the proposal map: planners only, files and rows, apply or refuse.

On a store of the sample district of its own (the tests apply proposals to it): other
roles are refused (403), the proposal's GeoPackage, workbook and GeoJSON are served,
its map shows it beside the current grids in Chinese by default, an edited proposal
with bad rows is a 422 naming them with nothing written, and a proposal made before
the store changed is a 409.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from gridgeo.check.output import headings
from gridgeo.settings import Settings
from gridgeo.store import open_store
from gridgeo.tokens import create_token

ZH = headings("zh")

AS_OF = "2025-06-01"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, sample_frames: dict) -> Iterator[dict]:
    url = f"sqlite:///{tmp_path_factory.mktemp('proposals') / 'sample.sqlite'}"
    store = open_store(url)
    try:
        store.write_layers(sample_frames, source="sample")
        member = sample_frames["members"]["code"].iloc[0]
        tokens = {
            role: create_token(store, role, **kwargs)[0]
            for role, kwargs in {
                "planner": {}, "analyst": {}, "leader": {"communities": ["C01"]},
                "member": {"member": member, "communities": ["C01"]},
            }.items()
        }  # fmt: skip
    finally:
        store.close()
    with TestClient(create_app(Settings(database_url=url, auth="on"))) as client:
        yield {"url": url, "tokens": tokens, "client": client}


def auth(world: dict, role: str = "planner") -> dict[str, str]:
    return {"Authorization": f"Bearer {world['tokens'][role]}"}


def fingerprint(url: str) -> str:
    store = open_store(url)
    try:
        digest = hashlib.sha256()
        for layer in ("grids", "assignments"):
            frame = store.read_layer(layer).sort_values("code")
            digest.update(pd.util.hash_pandas_object(frame.astype(str), index=False).values)
        return digest.hexdigest()
    finally:
        store.close()


@pytest.fixture(scope="module")
def proposals(world: dict) -> dict:
    """Both proposals, made on the same data version."""
    c = world["client"]
    made = {}
    for kind in ("grids", "assignments"):
        r = c.post(f"/proposals/{kind}?as_of={AS_OF}", headers=auth(world))
        assert r.status_code == 201, r.text
        made[kind] = r.json()
    return made


def test_only_planners_make_read_and_apply_proposals(world: dict, proposals: dict) -> None:
    c = world["client"]
    ident = proposals["grids"]["id"]
    paths = [("post", "/proposals/grids"), ("post", "/proposals/assignments"),
             ("get", f"/proposals/{ident}"), ("get", f"/proposals/{ident}.gpkg"),
             ("get", f"/proposals/{ident}.geojson"), ("post", f"/proposals/{ident}/apply"),
             ("get", f"/maps/proposal/{ident}")]  # fmt: skip
    for role in ("analyst", "leader", "member"):
        for method, path in paths:
            r = getattr(c, method)(path, headers=auth(world, role))
            assert r.status_code == 403, (role, path, r.text)
            assert "planner" in r.json()["detail"]
    for method, path in paths:
        assert getattr(c, method)(path).status_code == 401, path


def test_a_grid_repair_is_summarised_and_served(world: dict, proposals: dict) -> None:
    c, body = world["client"], proposals["grids"]
    summary = body["summary"]
    assert summary["kind"] == "grids" and summary["edits"] > 0
    assert summary["area_moved_m2"] > 0 and summary["changes"]["overlap"]["edits"] >= 1
    assert c.get(body["links"]["self"], headers=auth(world)).json()["summary"] == summary
    gpkg = c.get(body["links"]["gpkg"], headers=auth(world))
    assert gpkg.status_code == 200 and gpkg.content.startswith(b"SQLite format 3")
    xlsx = c.get(body["links"]["xlsx"], headers=auth(world))
    assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK")
    sheets = set(pd.ExcelFile(io.BytesIO(xlsx.content)).sheet_names)
    assert {ZH["sheets"][name] for name in ("grids", "changes", "left")} <= sheets
    rows = c.get(body["links"]["geojson"], headers=auth(world)).json()
    assert rows["numberMatched"] == summary["edits"]
    assert {f["properties"]["kind"] for f in rows["features"]} == set(summary["changes"])
    assert c.get("/proposals/0000000000000000", headers=auth(world)).status_code == 404


def test_an_assignment_proposal_on_a_day_before_any_cadre_is_in_force(world: dict) -> None:
    """No cadre in force: the households that no member can take name no cadre, no 500."""
    c = world["client"]
    r = c.post("/proposals/assignments?as_of=2000-01-01", headers=auth(world))
    assert r.status_code == 201, r.text
    summary = r.json()["summary"]
    assert summary["ended"] == 0 and summary["added"] > 0  # nothing was in force to end
    assert summary["cadres"]["buildings"] >= 1


def test_the_proposal_map_shows_it_beside_the_current_grids(world: dict, proposals: dict) -> None:
    c = world["client"]
    for kind, title in (("grids", "网格修复方案"), ("assignments", "结对联系方案")):
        link = proposals[kind]["links"]["map"]
        r = c.get(link, headers=auth(world))
        assert r.status_code == 200, r.text
        assert title in r.text and "现状网格" in r.text and 'lang="zh-CN"' in r.text
        assert f"/proposals/{proposals[kind]['id']}.gpkg" in r.text
    grids = c.get(proposals["grids"]["links"]["map"], headers=auth(world)).text
    assert "修复后网格" in grids and "网格调整" in grids and "重叠划归" in grids
    assignments = c.get(proposals["assignments"]["links"]["map"], headers=auth(world)).text
    assert "新增结对" in assignments and "由社区党员干部包干的楼栋" in assignments
    en = c.get(proposals["grids"]["links"]["map"] + "?lang=en", headers=auth(world)).text
    assert "Grid repair proposal" in en and "Current grids" in en
    store = open_store(world["url"])  # the as-of line: the current grids' data version
    try:
        stamp = store.data_stamp()
    finally:
        store.close()
    assert stamp.changed_at is not None
    at = stamp.local_time("Asia/Shanghai").strftime("%Y-%m-%d %H:%M")
    assert f"数据截至 {at}（版本 {stamp.version}）" in grids
    assert f"Data as of {at} (version {stamp.version})" in en
    token = world["tokens"]["planner"]
    bookmarked = c.get(f"{proposals['grids']['links']['map']}?token={token}")
    assert bookmarked.status_code == 200 and token not in bookmarked.text
    c.cookies.clear()
    assert c.get("/maps/proposal/0000000000000000", headers=auth(world)).status_code == 404


def test_apply_refuses_bad_rows_then_applies_then_refuses_a_stale_proposal(
    world: dict, proposals: dict, tmp_path: Path
) -> None:
    c, url = world["client"], world["url"]
    made = proposals["assignments"]
    xlsx = c.get(made["links"]["xlsx"], headers=auth(world)).content
    sheet = ZH["sheets"]["actions"]  # the workbook is in Chinese, as a planner edits it
    actions = pd.read_excel(io.BytesIO(xlsx), sheet_name=sheet, dtype=object)
    action = ZH["columns"]["action"]
    bad = int(actions.index[actions[action].eq("add")][0])
    actions.loc[bad, action] = "transfer"
    edited = tmp_path / "edited.xlsx"
    with pd.ExcelWriter(edited) as writer:
        actions.to_excel(writer, sheet_name=sheet, index=False)
    before = fingerprint(url)
    r = c.post(made["links"]["apply"], content=edited.read_bytes(),
               headers={**auth(world), "Content-Type": XLSX})  # fmt: skip
    assert r.status_code == 422, r.text
    assert r.json()["rows"][0]["row"] == bad + 2 and "transfer" in r.json()["detail"]
    assert fingerprint(url) == before
    r = c.post(
        made["links"]["apply"], content=b"x", headers={**auth(world), "Content-Type": "text/csv"}
    )
    assert r.status_code == 400 and fingerprint(url) == before
    # the grid repair's workbook is not an edit of the assignment proposal
    grid_xlsx = c.get(proposals["grids"]["links"]["xlsx"], headers=auth(world)).content
    r = c.post(
        made["links"]["apply"], content=grid_xlsx, headers={**auth(world), "Content-Type": XLSX}
    )
    assert r.status_code == 422 and fingerprint(url) == before
    r = c.post(made["links"]["apply"], headers=auth(world))
    assert r.status_code == 200, r.text
    applied = r.json()["applied"]
    assert (
        applied["added"] == made["summary"]["added"]
        and applied["ended"] == made["summary"]["ended"]
    )
    assert r.json()["data_version"] > made["data_version"] and fingerprint(url) != before
    store = open_store(url)
    try:  # the version the apply made, in its header too
        assert int(r.headers["X-Data-Version"]) == r.json()["data_version"] == store.data_version()
    finally:
        store.close()
    # both were made before that write: neither applies now
    for kind in ("assignments", "grids"):
        r = c.post(proposals[kind]["links"]["apply"], headers=auth(world))
        assert r.status_code == 409 and "make the proposal again" in r.json()["detail"], r.text
    # made again, the grid repair applies
    again = c.post(f"/proposals/grids?as_of={AS_OF}", headers=auth(world)).json()
    r = c.post(again["links"]["apply"], headers=auth(world))
    assert r.status_code == 200 and r.json()["applied"]["changed"] > 0, r.text
