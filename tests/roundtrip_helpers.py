"""Stores compared value by value, and exported and imported again through the CLI."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import shapely
import sqlalchemy as sa
from typer.testing import CliRunner

from gridgeo.cli import app
from gridgeo.layers import LAYER_ORDER, LAYERS
from gridgeo.store import make_engine, open_store
from gridgeo.validate import prepare_layer

FORMATS = ("csv", "xlsx", "gpkg", "geojson", "geoparquet")
runner = CliRunner()


def gridgeo(*args: str | Path) -> tuple[int, str]:
    """Run the CLI; an exception that is not an exit is a traceback, and fails the test."""
    result = runner.invoke(app, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def snapshot(url: str) -> dict[str, pd.DataFrame]:
    """Every layer with its personal columns, geometries as WKB."""
    store = open_store(url)
    try:
        frames = {}
        for name in LAYER_ORDER:
            frame = pd.DataFrame(store.read_layer(name, include_personal=True))
            if "geometry" in frame.columns:
                frame["geometry"] = [
                    None if g is None else shapely.to_wkb(g) for g in frame["geometry"]
                ]
            frames[name] = frame.sort_values("code").reset_index(drop=True)
        return frames
    finally:
        store.close()


def checksum(frames: dict[str, pd.DataFrame]) -> str:
    """One hash of every value of every layer."""
    digest = hashlib.sha256()
    for name in LAYER_ORDER:
        digest.update(name.encode())
        digest.update(frames[name].to_csv(index=False).encode())
    return digest.hexdigest()


def assert_same(got: dict[str, pd.DataFrame], want: dict[str, pd.DataFrame], what: str) -> None:
    for name in LAYER_ORDER:
        pd.testing.assert_frame_equal(
            got[name], want[name], check_dtype=False, obj=f"{what}: {name}"
        )


def store_frames(url: str, frames: dict[str, pd.DataFrame]) -> None:
    """Write frames as an import would (checked and normalised first)."""
    prepared = {name: prepare_layer(frame, name).frame for name, frame in frames.items()}
    store = open_store(url)
    try:
        store.write_layers(prepared)
    finally:
        store.close()


def export_all(url: str, folder: Path, fmt: str) -> dict[str, Path]:
    """Every layer to its own file, or, for ``geoparquet``, all to one partitioned folder."""
    if fmt == "geoparquet":
        out_dir = folder / "exchange"
        code, out = gridgeo(
            "export", "--format", "geoparquet", out_dir, "--include-personal", "--db", url
        )
        assert code == 0, out
        return dict.fromkeys(LAYER_ORDER, out_dir)
    paths = {}
    for name in LAYER_ORDER:
        path = folder / f"{name}.{fmt}"
        code, out = gridgeo("export", name, path, "--include-personal", "--db", url)
        assert code == 0, out
        paths[name] = path
    return paths


def import_all(url: str, paths: dict[str, Path]) -> list[str]:
    """Import each layer's file (a geoparquet folder at once); each layer's output line."""
    folders = set(paths.values())
    if len(folders) == 1 and next(iter(folders)).is_dir():
        code, out = gridgeo("import", next(iter(folders)), "--db", url)
        assert code == 0, out
        lines = {line.split(":", 1)[0]: line for line in out.splitlines() if ": " in line}
        return [lines[name] for name in LAYER_ORDER]
    outputs = []
    for name in LAYER_ORDER:
        code, out = gridgeo("import", name, paths[name], "--db", url)
        assert code == 0, f"{paths[name].name}: {out}"
        outputs.append(out)
    return outputs


@contextmanager
def fresh_store(kind: str, folder: Path, postgis_url: str | None) -> Iterator[str]:
    """An empty store of ``kind``: a new SQLite file, or a new PostGIS database."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / f'{uuid.uuid4().hex[:8]}.sqlite'}"
        return
    assert postgis_url is not None
    admin = make_engine(postgis_url)
    name = f"gridgeo_r_{uuid.uuid4().hex[:10]}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(postgis_url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def round_trip(url: str, folder: Path, fmt: str, kind: str, postgis_url: str | None) -> None:
    """Export every layer, import into a fresh store and into the same one: nothing changes."""
    before = snapshot(url)
    paths = export_all(url, folder, fmt)
    with fresh_store(kind, folder, postgis_url) as other:
        import_all(other, paths)
        assert_same(snapshot(other), before, f"{fmt} into a fresh {kind} store")
    store = open_store(url)
    version = store.data_version()
    store.close()
    outputs = import_all(url, paths)
    for name, out in zip(LAYER_ORDER, outputs, strict=True):
        assert " 0 inserted, 0 updated," in out, f"{fmt} {name}: {out}"
    store = open_store(url)
    assert store.data_version() == version
    store.close()
    assert checksum(snapshot(url)) == checksum(before)


__all__ = ["FORMATS", "LAYERS"]


@contextmanager
def two_workers() -> Iterator[str]:
    """The address of a local Dask cluster of 2 worker processes, one thread each."""
    import distributed

    from gridgeo.cluster import LOCAL_HTTP

    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, dashboard_address=None, scheduler_kwargs=LOCAL_HTTP
    ) as cluster:
        yield cluster.scheduler_address
