"""generate(): the same seed gives the same district; progress; parameters."""

from __future__ import annotations

import datetime as dt
from dataclasses import fields

import geopandas as gpd
import pandas as pd
import pytest
from geopandas.testing import assert_geodataframe_equal

from gridgeo.layers import LAYER_ORDER
from gridgeo.synth import SCALES, District, generate
from gridgeo.synth.parameters import DEFAULTS, Parameters, resolve_parameters


def test_same_seed_gives_identical_frames(tiny: District) -> None:
    again = generate("tiny", seed=7)
    for name in LAYER_ORDER:
        a, b = tiny.layers[name], again.layers[name]
        if isinstance(a, gpd.GeoDataFrame):
            assert_geodataframe_equal(a, b)
        else:
            pd.testing.assert_frame_equal(a, b)
    assert repr(tiny.defects) == repr(again.defects)


def test_different_seed_gives_a_different_district(tiny: District) -> None:
    other = generate("tiny", seed=8)
    a = tiny.layers["buildings"].geometry.iloc[:20].to_wkb()
    b = other.layers["buildings"].geometry.iloc[:20].to_wkb()
    assert not a.equals(b)
    assert (
        not tiny.layers["households"]["name"]
        .head(50)
        .equals(other.layers["households"]["name"].head(50))
    )


def test_progress_reports_every_stage() -> None:
    calls: list[tuple[str, int, int]] = []
    generate("tiny", seed=1, progress=lambda s, d, t: calls.append((s, d, t)))
    stages = list(dict.fromkeys(s for s, _, _ in calls))
    assert len(stages) >= 10 and all(isinstance(s, str) and s for s in stages)
    for stage in stages:  # each stage starts at 0 and ends complete, in order
        mine = [(d, t) for s, d, t in calls if s == stage]
        assert mine[0][0] == 0 and mine[-1][0] == mine[-1][1] > 0
    assert [s for s, d, t in calls if d == t] == stages


def test_overrides_and_bad_parameters() -> None:
    more = generate("tiny", seed=2, buildings=600, households=2400)
    assert 500 < len(more.layers["buildings"]) < 700
    assert 1800 < len(more.layers["households"]) < 3000
    d = generate({"communities": 2, "grids": 8, "buildings": 300, "households": 1500,
                  "visits": 1000, "problems": 50, "hotspots": 1}, seed=2, weeks=4)  # fmt: skip
    assert d.scale == "custom"
    assert d.defects["period"]["weeks"] == 4
    assert len(d.layers["problems"]) == 50
    with pytest.raises(TypeError, match="unknown parameter"):
        generate("tiny", bogus=1)
    with pytest.raises(ValueError, match="unknown scale"):
        generate("huge")
    assert set(SCALES) >= {"tiny", "sample", "city"}
    assert SCALES["city"]["buildings"] == 1_000_000


def test_every_preset_key_is_a_named_parameter() -> None:
    assert [field.name for field in fields(Parameters)] == ["seed", *DEFAULTS]
    params, name = resolve_parameters("tiny", {"grids": 9}, seed=3, weeks=2)
    assert (name, params.seed, params.grids, params.weeks) == ("tiny", 3, 9, 2)
    assert params.end == params.start + dt.timedelta(weeks=2)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        resolve_parameters("tiny", {}, seed=-1)
