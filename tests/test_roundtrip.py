"""Export → import is lossless for every layer and format, on both stores."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
import shapely
from frames import district
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from roundtrip_helpers import FORMATS, fresh_store, gridgeo, round_trip, snapshot, store_frames

STORES = ["sqlite", "postgis"]


@pytest.fixture(params=STORES)
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


def _postgis(request: pytest.FixtureRequest, kind: str) -> str | None:
    return request.getfixturevalue("postgis_url") if kind == "postgis" else None


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_district_round_trips_through_every_format(
    kind: str, fmt: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    postgis = _postgis(request, kind)
    with fresh_store(kind, tmp_path, postgis) as url:
        store_frames(url, district())
        round_trip(url, tmp_path, fmt, kind, postgis)


def test_a_partial_file_leaves_the_other_columns_as_stored(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    postgis = _postgis(request, kind)
    with fresh_store(kind, tmp_path, postgis) as url:
        store_frames(url, district())
        before = snapshot(url)
        # the default export leaves the phones out; importing it keeps them
        code, out = gridgeo("export", "members", tmp_path / "m.csv", "--db", url)
        assert code == 0, out
        code, out = gridgeo("import", "members", tmp_path / "m.csv", "--db", url)
        assert code == 0 and "0 updated" in out, out
        assert snapshot(url)["members"]["phone"].tolist() == before["members"]["phone"].tolist()
        # households without coordinates keep their locations; an empty cell clears
        (tmp_path / "h.csv").write_text("code,building,phone\nB1-1-101,B1,\nB1-2-101,B1,139\n")
        code, out = gridgeo("import", "households", tmp_path / "h.csv", "--db", url)
        assert code == 0 and "2 updated" in out, out
        after = snapshot(url)["households"].set_index("code")
        want = before["households"].set_index("code")
        assert pd.isna(after.loc["B1-1-101", "phone"]) and after.loc["B1-2-101", "phone"] == "139"
        assert after.loc["B1-1-101", "name"] == "张三"
        assert after["geometry"].tolist() == want["geometry"].tolist()


def test_times_keep_their_offset_and_microseconds(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    postgis = _postgis(request, kind)
    with fresh_store(kind, tmp_path, postgis) as url:
        store_frames(url, district())
        for fmt in ("csv", "xlsx"):
            path = tmp_path / f"v.{fmt}"
            assert gridgeo("export", "visits", path, "--db", url)[0] == 0
            text = pd.read_csv(path) if fmt == "csv" else pd.read_excel(path)
            assert "2026-03-09T06:00:00.250000+00:00" in text["visited_at"].tolist()
            for _ in range(2):  # again and again: no drift
                code, out = gridgeo("import", "visits", path, "--db", url)
                assert code == 0 and "0 updated" in out, out


def test_shapefile_ring_orientation_does_not_count_as_a_change(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    postgis = _postgis(request, kind)
    with fresh_store(kind, tmp_path, postgis) as url:
        store_frames(url, district())
        for layer in ("communities", "grids", "buildings"):
            path = tmp_path / f"{layer}.shp"
            assert gridgeo("export", layer, path, "--db", url)[0] == 0
            from gridgeo.store import open_store

            store = open_store(url)
            version = store.data_version()
            store.close()
            code, out = gridgeo("import", layer, path, "--db", url)
            assert code == 0 and ": 0 inserted, 0 updated" in out, out
            store = open_store(url)
            assert store.data_version() == version
            store.close()


# -- generated stores ------------------------------------------------------------------

_TEXT = (
    st.text(
        st.characters(codec="utf-8", categories=["L", "N", "P", "Zs"], exclude_characters=",;\t|"),
        min_size=1,
        max_size=12,
    )
    .map(str.strip)
    .filter(bool)
)
_MICRO = st.integers(0, 999_999)
_COORD = st.floats(0, 0.0009, allow_nan=False, allow_infinity=False)


@st.composite
def _stores(draw: st.DrawFn) -> dict[str, pd.DataFrame]:
    frames = district()
    frames["communities"].loc[0, "name"] = draw(_TEXT)
    frames["buildings"].loc[0, "address"] = draw(_TEXT)
    frames["buildings"]["floors"] = pd.array([draw(st.integers(0, 2**31 - 1)), None], dtype="Int64")
    h = frames["households"]
    h["name"] = [draw(_TEXT), draw(st.none() | _TEXT), None]
    h["phone"] = [draw(st.none() | _TEXT), None, draw(_TEXT)]
    x, y = 121.40 + draw(_COORD), 31.20 + draw(_COORD)
    h.loc[0, "geometry"] = shapely.Point(x, y)
    ring = [(x, y), (x + draw(_COORD) + 1e-6, y), (x, y + draw(_COORD) + 1e-6)]
    frames["buildings"].loc[0, "geometry"] = shapely.MultiPolygon([shapely.Polygon(ring[::-1])])
    v = frames["visits"]
    start = pd.Timestamp("2026-03-02T02:30:00Z") + dt.timedelta(
        seconds=draw(st.integers(0, 86_400)), microseconds=draw(_MICRO)
    )
    v["visited_at"] = pd.Series(
        [start, start + dt.timedelta(microseconds=draw(_MICRO))], dtype="datetime64[ns, UTC]"
    )
    v["note"] = [draw(_TEXT), draw(st.none() | _TEXT)]
    p = frames["problems"]
    p["reported_at"] = pd.Series([start, start], dtype="datetime64[ns, UTC]")
    p["resolved_at"] = pd.Series(
        [start + dt.timedelta(microseconds=draw(_MICRO)), None], dtype="datetime64[ns, UTC]"
    )
    p["closed_at"] = pd.Series(
        [start + dt.timedelta(seconds=1, microseconds=draw(_MICRO)), None],
        dtype="datetime64[ns, UTC]",
    )
    frames["meetings"].loc[0, "topic"] = draw(_TEXT)
    return frames


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(frames=_stores(), fmt=st.sampled_from(FORMATS))
def test_generated_stores_round_trip(
    kind: str,
    frames: dict[str, pd.DataFrame],
    fmt: str,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> None:
    postgis = _postgis(request, kind)
    folder = tmp_path_factory.mktemp("gen")
    with fresh_store(kind, folder, postgis) as url:
        store_frames(url, frames)
        round_trip(url, folder, fmt, kind, postgis)
