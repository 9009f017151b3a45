"""Same seed, same district: digests of every generated frame, fixed as literals.

The literals were computed from the generator before it was split into stages; a change
that alters any value, dtype, index, geometry or planted defect, or the order of the
random draws behind them, changes a digest. ``district_digest`` is also what a by-hand
comparison of the benchmark city uses; run this file to print the digests of the cases::

    .venv/bin/python tests/synth/test_reproducible.py
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import pathlib
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from gridgeo.layers import LAYER_ORDER
from gridgeo.synth import SCALES, District, generate, write_gpkg

SAMPLE = pathlib.Path(__file__).resolve().parents[2] / "shapes" / "sample_district.gpkg"
#: One hundredth of the benchmark city, as ``benchmarks/load_layers.py --fraction 0.01``.
CITY_SHARE = {
    key: max(2, int(SCALES["city"][key] * 0.01))
    for key in ("communities", "grids", "buildings", "households", "visits", "problems")
}


def _update_bytes(digest: Any, values: list[bytes]) -> None:
    lengths = np.fromiter((len(v) for v in values), np.int64, len(values))
    digest.update(lengths.tobytes())
    digest.update(b"".join(values))


def column_digest(column: pd.Series) -> str:
    """SHA-256 of a column: its dtype, which rows are missing, and every present value."""
    digest = hashlib.sha256(str(column.dtype).encode())
    missing = column.isna().to_numpy()
    digest.update(missing.tobytes())
    if isinstance(column.dtype, gpd.array.GeometryDtype):
        wkb = shapely.to_wkb(np.asarray(column.array)[~missing], flavor="iso")
        _update_bytes(digest, list(wkb))
    elif pd.api.types.is_string_dtype(column.dtype):
        _update_bytes(digest, [value.encode() for value in column[~missing].tolist()])
    elif isinstance(column.dtype, pd.DatetimeTZDtype) or column.dtype.kind == "M":
        naive = column.dt.tz_convert(None) if getattr(column.dt, "tz", None) else column
        digest.update(naive.to_numpy().view(np.int64).tobytes())
    elif pd.api.types.is_integer_dtype(column.dtype):
        digest.update(column.to_numpy(np.int64, na_value=0).tobytes())
    else:
        raise TypeError(f"no digest for column {column.name!r} of dtype {column.dtype}")
    return digest.hexdigest()


def frame_digest(frame: pd.DataFrame) -> str:
    """SHA-256 of a frame: its type, CRS, index, column names and every column."""
    digest = hashlib.sha256(type(frame).__name__.encode())
    if isinstance(frame, gpd.GeoDataFrame):
        digest.update(f"{frame.crs.to_string()} {frame.geometry.name}".encode())
    digest.update(f"{type(frame.index).__name__} {frame.index.dtype}".encode())
    digest.update(frame.index.to_numpy().astype(np.int64).tobytes())
    for name in frame.columns:
        digest.update(f"{name}={column_digest(frame[name])}".encode())
    return digest.hexdigest()


def _plain(value: object) -> object:
    if isinstance(value, shapely.Geometry):
        return {"wkb": shapely.to_wkb(value, flavor="iso", hex=True)}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if isinstance(value, np.generic):
        return {type(value).__name__: value.item()}
    raise TypeError(f"no digest for {type(value).__name__} {value!r}")


def defects_digest(defects: dict[str, object]) -> str:
    """SHA-256 of the planted defects, in their order, geometries as WKB."""
    text = json.dumps(defects, default=_plain, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def district_digest(district: District) -> dict[str, str]:
    """Digest of every layer (in layer order) and of the defects."""
    digests = {name: frame_digest(frame) for name, frame in district.layers.items()}
    return {**digests, "defects": defects_digest(district.defects)}


CASES: dict[str, tuple[str | dict, dict[str, Any]]] = {
    "tiny-7": ("tiny", {"seed": 7}),
    "tiny-3-straddling": ("tiny", {"seed": 3, "straddling": 3, "grids": 12}),
    "tiny-new-year": ("tiny", {"seed": 5, "start": dt.date(2024, 12, 30), "weeks": 6}),
    "sample-42": ("sample", {"seed": 42}),
    "city-share-1": (CITY_SHARE, {"seed": 1}),
}

EXPECTED: dict[str, dict[str, str]] = {
    "tiny-7": {
        "communities": "e5d073fdff29acfe83b5dc55205f1bb18105513cb4fc539372ee08ea7b51981f",
        "grids": "c70e922af9ceeaa720c13c963081117256a77a6e3bd7c4a9500096f72b50f1e9",
        "buildings": "85ea6b20c3ae24be096bf2934f3e98486cfc86466c5feb4acbb9ad9eb026067c",
        "households": "cd6bf47695b3e895e66625d8fb7a66cc60675978030cafe2d89de268b099f465",
        "organisations": "92185b82bd553967fce754977fa8851c250eb5d5032b712e919b0f987bf30c18",
        "members": "a5dfa9aaf398a539a7d62f99998f09711b50a8f6dd73c51345462e1631900260",
        "assignments": "f8d392ef87a5750c9f3838af6f7405429e8b722fb0e83f82277f678d36d4e5f3",
        "visits": "024af5adba850480300a26bdf8d634ad3936831521f79e18593433fba2d04f5a",
        "meetings": "538b1e771d01f496f3d4c918b8fcdbafdf958d2440c648a36a20ad223e66b51f",
        "problems": "fd09f731352d2e474360e67e174d0ce53443963cb76f452d24d21e3cc2c08fb8",
        "defects": "b11f6bf256f784e3238f3cd6d91a4cdc9ea1d8f883f24f00d8dd2663fa7d3d6f",
    },
    "tiny-3-straddling": {
        "communities": "9b7b64b93c3e829129670fafa6b4641e5f52a8e591d07aaa00c12c404d746990",
        "grids": "5d21da788163a32f1d4b1037f77c1da5fe703b5654efdfeffe088e611cbdd68f",
        "buildings": "6fc85784380c7dfc9fd09a37e728ce542307553ac0e9181d99fd13f81ec10ad5",
        "households": "602f08fa568b9b2e2f666104410a1c71345d8eab4ac54dad2acd4f97891045df",
        "organisations": "99fda748d3b31f1132c206b9451cbae4b12690eddd2ab60dcbed5fd04737d6c0",
        "members": "409f25c2374a8ceb2d766fd7ef718b148ee848fd77e3c2aab3433fa31ec4ed95",
        "assignments": "cf9862519095e209c4afe36c05ed919e12b58da681923eb6228e03310869bf75",
        "visits": "bd4f3064ad560ed736906a317f53186fe58bdf3e7de2f7cbdf9cd879a1658ea5",
        "meetings": "e5361923e83eb98b1d1b5d3c2f89daf3c968fee00c331b51106eb46fd29e9f81",
        "problems": "d0fdbc4a8134f3bc0530b2b1d0e7cd9081931c37cdfa96b6c3dae4456c5a0e11",
        "defects": "d7ed72d27c428424e136e8c176e05bc9796b8b3ac72a41910abd86a541d3eecd",
    },
    "tiny-new-year": {
        "communities": "952f0098f73f9704900b17cf7d4e3f5bbd15d0a584cbf9ec077b66c2fb0610de",
        "grids": "7985d37d8d17777c8b258c8b93feef32162fc7b34ef4fcaa7367e39f9388b5df",
        "buildings": "659baaa95fafc52ee4b7421861cd1dcff0ad34048da675d303e05b3b79b12953",
        "households": "9c084f55eabb4433b453e25f8e0704f9b84a4a3842e2e429c11ac009df0c1e34",
        "organisations": "e9981d9af5817c56aac9c7719f82ff07f172c5e64cbf5ea5b5f471c291a9cb0c",
        "members": "8b816fe021a4db27c8ec001ae599165de97ca72d0121ab2048ca3ad66fe52f31",
        "assignments": "4cdc96f19f302ccbe759ae5915efa3f279cca54e32a85fb58d11cd61db940151",
        "visits": "9462e2a378932a22da888f176aafc09710c96ec4f9524fcaa953397efb38f02d",
        "meetings": "31d5c8b01d1b556dff98a6fe6040f956a14943ed3015caadd413ffbbecdd4eba",
        "problems": "9ec136e9f1a2a86bf228232eabb22076e6f36d570dc377b99eece9bd9b533cee",
        "defects": "f494e30467413e2596a3031bbded2d59ab046c0f1a853d4a3da04158d1f52efd",
    },
    "sample-42": {
        "communities": "56a1b8b6754dc32ba2c01bfb304f4a0cbd6ad7f1ae534f30b0a4e13a67c7893d",
        "grids": "1be8f71fd9af46383fbd6ba24d307053e317a2e14df60991cde4badcc5544023",
        "buildings": "4fde7d4729c6016e71345fb18ff02bd343fbfc9f4a2fd713c204bcbdf8c3d13f",
        "households": "8c0f9ad5413ba83e6406a29c524c67a8acc5ec984a1b7ae98840f59f66e079a7",
        "organisations": "28a6ccc266e97b1c98c2fe13c2904e985812513bf46f00f82511b0a0bd7c5902",
        "members": "4d3f1f12608484a86ecec54b58b9e8b7a82ae1bbaad0e51e4ab8c4fae0c7e379",
        "assignments": "745458c9cfdca3ad58128cdbfd995668d77837f90b87129ad65ac285a1f164cb",
        "visits": "722d7ff2a94dce1c410becc29a1dfa847a29ff8e163ee4cdd550d12c30430d3e",
        "meetings": "d342bf34bd07c25e127fb8e593bc868026b4146492c397e4399cd6fe3c46c53b",
        "problems": "7941e55d1213ad58a286eee622fa354dc756de92eb1b00918ce6b947a2394931",
        "defects": "b0140552b5987e228fa9163e96490f85ae859d19607fb8d94862e15fa73c1d8d",
    },
    "city-share-1": {
        "communities": "03715c6e66e00de14a4f03f5343b5aa578b41fad0b3fffbc8e417f31f2d156c6",
        "grids": "8c065efb3cf989854229118f0bdc58fec20ace21ad204a6ccab057a9698f0167",
        "buildings": "e7927a5f94671f04d0135b30989f2026ea330e2f9eeb79d8bd2957bf775d6abd",
        "households": "4ff45343e437f668a14ca475a5e58ad20dae045950bd03c9ad59c257e830e239",
        "organisations": "b9d62e483239cc32fe38ce29cd27f0bcb56ef71a7d462f89479f3f58f99874f9",
        "members": "323d9e6bf4b2e6e29f2f91b0dd6b620d4d1afffedd191f2d973a1a837cc194b7",
        "assignments": "e0ddb1454ecd23cd0669ae8d9773a37390305b5e848490415eeb0cfa4eb61235",
        "visits": "967f5b13cf7d6307d4dc7d02a751e492c09e8722af3e6044d70d5e3336a7c8e7",
        "meetings": "054e35282057d71ef639e7149d13c092007803e20afb5089484b3320328c8af3",
        "problems": "fe37aeb8a1099a3604300b3e54be65922b1c4ced81c0427a3c91fb9c1d8a16b9",
        "defects": "791fd875dc8dda1dab0dd9de1f92fdbabb931cfc113409c39952d4a0da0c9445",
    },
}


@pytest.fixture(scope="module")
def sample() -> District:
    return generate("sample", seed=42)


@pytest.mark.parametrize("case", list(CASES))
def test_same_seed_gives_the_same_district_bit_for_bit(case: str) -> None:
    scale, options = CASES[case]
    got = district_digest(generate(scale, **options))
    assert list(got) == [*LAYER_ORDER, "defects"]
    assert got == EXPECTED[case]


def test_writing_the_sample_reproduces_the_committed_geopackage(
    sample: District, tmp_path: pathlib.Path
) -> None:
    written = write_gpkg(sample, tmp_path / "sample_district.gpkg")
    assert [name for name, _ in pyogrio.list_layers(written)] == [
        name for name, _ in pyogrio.list_layers(SAMPLE)
    ]
    for name in LAYER_ORDER:
        _, ours = pyogrio.read_arrow(written, layer=name)
        _, committed = pyogrio.read_arrow(SAMPLE, layer=name)
        assert ours.schema.equals(committed.schema, check_metadata=True), name
        assert ours.equals(committed), name


def main() -> None:
    """Print the digests of every case (to refresh ``EXPECTED`` after a deliberate change)."""
    for case, (scale, options) in CASES.items():
        print(f"    {case!r}: {{")
        for name, digest in district_digest(generate(scale, **options)).items():
            print(f"        {name!r}: {digest!r},")
        print("    },")


if __name__ == "__main__":
    main()
