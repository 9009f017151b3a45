"""Vector files read by GDAL: GeoPackage, Shapefile (a zip of one too), GeoJSON, OSM PBF."""

from __future__ import annotations

import json
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import shapely

from gridgeo.errors import FileFormatError, Issue, NotFound
from gridgeo.io.dbf import NAME_BYTES, cpg_encoding, names_decode, repair_names
from gridgeo.io.encodings import dbf_encoding
from gridgeo.io.formats import FORMATS

__all__ = ["check_json", "read_vector", "unreadable"]


@contextmanager
def _gdal_config(**options: str) -> Iterator[None]:
    pyogrio.set_gdal_config_options(options)
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(dict.fromkeys(options))


def _header_encoding(siblings: dict[str, Path], encoding: str | None) -> str:
    """The encoding of a .dbf's column names: as forced, as its .cpg says, or as detected."""
    if encoding:
        return encoding
    if ".cpg" in siblings and (named := cpg_encoding(siblings[".cpg"])):
        return named
    if names_decode(siblings[".dbf"], "utf-8"):
        return "utf-8"
    return dbf_encoding(siblings[".shp"] if ".shp" in siblings else siblings[".dbf"])[0] or "utf-8"


@contextmanager
def _readable_shapefile(path: Path, notes: list[str], encoding: str | None) -> Iterator[Path]:
    """Yield a readable path for a shapefile: the file itself, or a copy that GDAL can read.

    The copy rebuilds a missing .shx, and keeps column names cut in the middle of a
    character (:mod:`gridgeo.io.dbf`) up to their last whole character.
    """
    siblings = {p.suffix.lower(): p for p in path.parent.glob(path.stem + ".*")}
    if ".dbf" not in siblings:
        raise FileFormatError(
            Issue(
                "the shapefile has no .dbf (attribute table) beside it",
                file=path.name,
                hint="hand over all of its files (.shp, .shx, .dbf, .prj), or a zip of them",
            )
        )
    header_encoding = _header_encoding(siblings, encoding)
    with tempfile.TemporaryDirectory(prefix="gridgeo-shp-") as tmp:
        cut = repair_names(siblings[".dbf"], Path(tmp) / (path.stem + ".dbf"), header_encoding)
        if ".shx" in siblings and not cut:
            yield path
            return
        for p in siblings.values():
            if p.suffix.lower() != ".dbf" or not cut:
                shutil.copy(p, Path(tmp) / (path.stem + p.suffix.lower()))
        copy = Path(tmp) / (path.stem + ".shp")
        if cut:
            shown = ", ".join(f"{found} as {kept}" for found, kept in cut)
            notes.append(
                f"{path.name}: column names cut by the .dbf's {NAME_BYTES}-byte limit in the "
                f"middle of a character, read as their whole characters: {shown}"
            )
        if ".shx" not in siblings:
            notes.append(f"{path.name} has no .shx index: rebuilt it from the .shp (in a copy)")
            with _gdal_config(SHAPE_RESTORE_SHX="YES"):
                pyogrio.read_info(copy)
        yield copy


def _choose_layer(
    path: Path | str, layer: str | None, target: str | None, fmt: str, name: str
) -> str | None:
    try:
        layers = [str(n) for n, _ in pyogrio.list_layers(path)]
    except pyogrio.errors.DataSourceError as exc:
        raise unreadable(Path(name), fmt, exc) from exc
    if layer is not None:
        if layer not in layers:
            raise NotFound(f"{name} has no layer {layer!r}; its layers are {layers}")
        return layer
    if len(layers) == 1:
        return layers[0]
    if target in layers:
        return target
    example = "multipolygons" if "multipolygons" in layers else layers[0]
    raise FileFormatError(
        Issue(
            f"the file has several layers ({', '.join(layers)})",
            file=name,
            hint=f"name one with --layer, e.g. --layer {example}"
            + (' with a --where filter such as "building IS NOT NULL"' if fmt == "osm" else ""),
        )
    )


def unreadable(path: Path, fmt: str, exc: Exception) -> FileFormatError:
    """The error for a file GDAL cannot read, saying what is wrong where it can."""
    hint = "check that the file is complete and not damaged"
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if fmt == "geojson" and path.exists():
        try:
            with open(path, encoding="utf-8-sig") as fh:
                json.load(fh)
        except json.JSONDecodeError as err:
            message = f"malformed JSON at line {err.lineno} column {err.colno}: {err.msg}"
            hint = "fix the JSON syntax there (a validator such as `python -m json.tool` shows it)"
        except RecursionError:
            message = "JSON nested too deeply"
            hint = "the file is damaged or not GeoJSON"
        except UnicodeDecodeError:
            message = "the file is not UTF-8 text"
            hint = "GeoJSON must be UTF-8 (RFC 7946); save it again as UTF-8"
        else:
            hint = (
                "the JSON is well-formed but not GeoJSON: it needs a FeatureCollection (RFC 7946)"
            )
    return FileFormatError(
        Issue(f"cannot read it as {FORMATS.get(fmt, fmt)}: {message}", file=path.name, hint=hint)
    )


def check_json(path: Path, limit: int = 256 * 2**20) -> None:
    """Refuse malformed JSON that GDAL's lenient parser would half-read."""
    if path.stat().st_size > limit:
        return
    try:
        with open(path, encoding="utf-8-sig") as fh:
            json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise unreadable(path, "geojson", exc) from exc


def _broken_geometries(
    readable: Path | str,
    layer: str | None,
    where: str | None,
    name: str,
    exc: Exception,
    options: dict[str, str],
) -> FileFormatError:
    """The rows whose geometry GEOS cannot build (an unclosed ring...), each named."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GDAL's "Non closed ring detected"
        _, _, wkb, _ = pyogrio.raw.read(
            readable, layer=layer, where=where, read_geometry=True, columns=[], **options
        )
    geoms = shapely.from_wkb(np.asarray(wkb, dtype=object), on_invalid="ignore")
    bad = np.flatnonzero(pd.notna(np.asarray(wkb, dtype=object)) & pd.isna(geoms))
    reason = str(exc).split(": ", 1)[-1]
    hint = "close the ring (repeat its first point at the end) or redraw the polygon"
    issues = [Issue(reason, file=name, row=int(r) + 1, column="geometry", hint=hint) for r in bad]
    return FileFormatError(issues or [Issue(reason, file=name, hint=hint)],
                           summary=f"{name}: {len(bad)} geometr{'y' if len(bad) == 1 else 'ies'} "
                           "that cannot be read:")  # fmt: skip


def read_vector(
    path: Path,
    fmt: str,
    layer: str | None,
    target: str | None,
    where: str | None,
    notes: list[str],
    encoding: str | None = None,
) -> tuple[pd.DataFrame, str | None, np.ndarray]:
    """The layer's frame as GDAL reads it, the layer read, and its 1-based row numbers."""
    read_path: Path | str = f"/vsizip/{path}" if fmt == "zip" else path
    with (
        _readable_shapefile(path, notes, encoding)
        if fmt == "shp"
        else nullcontext(read_path) as readable
    ):
        chosen = _choose_layer(readable, layer, target, fmt, path.name)
        options: dict[str, str] = {}  # passed to pyogrio (encoding) and GDAL (open options)
        if fmt == "shp":
            found, note = dbf_encoding(Path(readable), encoding=encoding)
            if found:
                options["encoding"] = found
            if note:
                notes.append(f"{path.name}: {note}")
        elif encoding and fmt == "zip":
            options["encoding"] = encoding
        if fmt == "geojson":
            # times come as written (GDAL would parse them, to the millisecond)
            options["DATE_AS_STRING"] = "YES"
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                frame = pyogrio.read_dataframe(
                    readable,
                    layer=chosen,
                    where=where,
                    use_arrow=True,
                    fid_as_index=False,
                    **options,
                )
            notes.extend(sorted({f"GDAL: {w.message}" for w in caught}))
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            raise unreadable(path, fmt, exc) from exc
        except shapely.errors.GEOSException as exc:
            raise _broken_geometries(readable, chosen, where, path.name, exc, options) from exc
        except pyogrio.errors.FieldError as exc:
            raise FileFormatError(
                Issue(f"bad --where filter: {exc}", file=path.name, layer=chosen)
            ) from exc
        except (UnicodeDecodeError, ValueError) as exc:
            raise FileFormatError(
                Issue(
                    f"cannot decode its text: {exc}",
                    file=path.name,
                    hint="add a .cpg naming the encoding, or give --encoding",
                )
            ) from exc
    return frame, chosen, np.arange(1, len(frame) + 1)
