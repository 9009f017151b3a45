"""The generated frames: layers, columns, dtypes, codes, references, names."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from gridgeo.layers import LAYER_ORDER, LAYERS
from gridgeo.synth import District

CODE_PATTERNS = {
    "communities": r"C\d{2,}",
    "grids": r"C\d{2,}-G\d{3,}",
    "buildings": r"B\d{6,}",
    "households": r"B\d{6,}-\d+-\d{4}",
    "organisations": r"O\d{3,}",
    "members": r"M\d{5,}",
    "assignments": r"A\d{7,}",
    "visits": r"V\d{8,}",
    "meetings": r"MT\d{6,}",
    "problems": r"P\d{7,}",
}


def test_layers_and_columns_match_the_layer_specs(tiny: District) -> None:
    assert list(tiny.layers) == list(LAYER_ORDER)
    for name, frame in tiny.layers.items():
        spec = LAYERS[name]
        if spec.geometry:
            assert isinstance(frame, gpd.GeoDataFrame), name
            assert list(frame.columns) == [*spec.field_names, "geometry"], name
            assert frame.crs.to_epsg() == 4326
            assert frame.geometry.name == "geometry"
        else:
            assert not isinstance(frame, gpd.GeoDataFrame), name
            assert list(frame.columns) == spec.field_names, name
        assert len(frame) > 0, name


def test_dtypes_follow_the_field_kinds(tiny: District) -> None:
    for name, frame in tiny.layers.items():
        for field in LAYERS[name].fields:
            col = frame[field.name]
            if field.kind == "text":
                assert pd.api.types.is_string_dtype(col.dtype), (name, field.name, col.dtype)
                assert all(isinstance(x, str) for x in col.dropna().head(50))
            elif field.kind == "int":
                assert str(col.dtype) in ("Int64", "int64"), (name, field.name, col.dtype)
            elif field.kind == "date":
                assert col.dtype.kind == "M" and getattr(col.dt, "tz", None) is None, field.name
                present = col.dropna()
                assert (present == present.dt.normalize()).all(), field.name
            else:
                assert isinstance(col.dtype, pd.DatetimeTZDtype), (name, field.name)
                assert str(col.dt.tz) == "UTC"


def test_required_fields_and_choices(tiny: District) -> None:
    for name, frame in tiny.layers.items():
        spec = LAYERS[name]
        for field in spec.fields:
            if field.required:
                assert frame[field.name].notna().all(), (name, field.name)
            if field.choices:
                assert set(frame[field.name].dropna()) <= set(field.choices), (name, field.name)
        if spec.geometry_required:
            assert frame.geometry.notna().all() and not frame.geometry.is_empty.any(), name


def test_codes_are_unique_and_readable(tiny: District) -> None:
    for name, frame in tiny.layers.items():
        codes = frame["code"]
        assert codes.is_unique, name
        assert codes.str.fullmatch(CODE_PATTERNS[name]).all(), (name, codes.head(3).tolist())
    grids = tiny.layers["grids"]
    assert (grids["code"].str[:3] == grids["community"]).all()
    hh = tiny.layers["households"]
    assert (hh["code"].str.split("-").str[0] == hh["building"]).all()
    assert (hh["code"].str[-4:] == hh["room"]).all()


def test_every_reference_exists(tiny: District) -> None:
    codes = {name: set(frame["code"]) for name, frame in tiny.layers.items()}
    for name, frame in tiny.layers.items():
        for field in LAYERS[name].refs:
            values = set(frame[field.name].dropna())
            missing = values - codes[field.ref]
            assert not missing, (name, field.name, sorted(missing)[:5])


def test_geometry_types(tiny: District) -> None:
    for name in ("communities", "grids", "buildings"):
        assert (tiny.layers[name].geom_type == "MultiPolygon").all(), name
        assert tiny.layers[name].is_valid.all(), name
    assert (tiny.layers["households"].geom_type == "Point").all()
    assert (tiny.layers["problems"].geom_type == "Point").all()
    visits = tiny.layers["visits"]
    assert set(visits.geometry.dropna().geom_type) == {"Point"}
    assert 0 < visits.geometry.isna().sum() < 0.2 * len(visits)  # some visits have no GPS


def test_district_lies_in_shanghai(tiny: District) -> None:
    minx, miny, maxx, maxy = tiny.layers["grids"].total_bounds
    assert 121.3 < minx < maxx < 121.6
    assert 31.1 < miny < maxy < 31.35


def test_chinese_names_addresses_and_phones(tiny: District) -> None:
    assert tiny.layers["communities"]["name"].str.endswith("社区").all()
    assert tiny.layers["grids"]["name"].str.fullmatch(r"第\d+网格").all()
    assert tiny.layers["buildings"]["address"].str.contains(r"路\d+(?:弄\d+)?号").all()
    partner = tiny.layers["organisations"].query("kind == 'partner_unit'")["name"]
    assert partner.str.contains(r"(?:党支部|党总支|党委)$").all()
    for frame in (tiny.layers["households"], tiny.layers["members"]):
        assert frame["phone"].dropna().str.fullmatch(r"1[3-9]\d{9}").all()
        names = frame["name"].dropna()
        assert names.str.fullmatch(r"[\u4e00-\u9fff]{2,3}").all()
