"""What each column of a file gridgeo writes means: a title and a description per column.

The words are in ``columns.toml`` (Chinese and English). :func:`describe_geopackage`
writes them into a GeoPackage's ``gpkg_data_columns`` table (the GeoPackage Schema
extension, registered in ``gpkg_extensions``): QGIS shows the title as the field's
alias and the description as its comment, and GDAL reads them as the field's
``ALIAS`` and ``COMMENT``. Reading the file is unchanged (the columns keep their names).
"""

from __future__ import annotations

import functools
import sqlite3
import tomllib
from collections.abc import Mapping, Sequence
from contextlib import closing
from importlib.resources import files
from pathlib import Path

__all__ = ["LANGS", "column_text", "describe_geopackage"]

#: The languages the titles and descriptions are in.
LANGS = ("zh", "en")
_SCHEMA_EXTENSION = "http://www.geopackage.org/spec121/#extension_schema"
_TABLES = (
    "CREATE TABLE IF NOT EXISTS gpkg_extensions (table_name TEXT, column_name TEXT, "
    "extension_name TEXT NOT NULL, definition TEXT NOT NULL, scope TEXT NOT NULL, "
    "CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))",
    "CREATE TABLE IF NOT EXISTS gpkg_data_columns (table_name TEXT NOT NULL, "
    "column_name TEXT NOT NULL, name TEXT, title TEXT, description TEXT, mime_type TEXT, "
    "constraint_name TEXT, CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name), "
    "CONSTRAINT gdc_tn UNIQUE (table_name, name))",
    "CREATE TABLE IF NOT EXISTS gpkg_data_column_constraints (constraint_name TEXT NOT NULL, "
    "constraint_type TEXT NOT NULL, value TEXT, min NUMERIC, min_is_inclusive BOOLEAN, "
    "max NUMERIC, max_is_inclusive BOOLEAN, description TEXT, "
    "CONSTRAINT gdcc_ntv UNIQUE (constraint_name, constraint_type, value))",
)


@functools.cache
def _catalogue() -> dict[str, dict]:
    text = (files("gridgeo.io") / "columns.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def column_text(
    layer: str, column: str, lang: str = "zh", titles: Mapping[str, str] | None = None
) -> tuple[str, str]:
    """The title and description of ``column`` of ``layer`` in ``lang``.

    A layer's own words for a column come first, then the column's; ``titles``
    (e.g. a workbook's headings) give the title where the catalogue has none; an
    unknown column is titled by its name, without a description.

    Examples
    --------
    >>> column_text("grids", "code")
    ('网格编号', '网格编号（社区编号在前）')
    >>> column_text("overlaps", "grid_a_name", "en")
    ('Grid A name', 'name of the first overlapping grid')
    >>> column_text("x", "unheard_of")
    ('unheard_of', '')
    """
    words = _catalogue()[lang]
    entry = words.get("layers", {}).get(layer, {}).get(column) or words["columns"].get(column)
    title, description = entry or ("", "")
    return title or (titles or {}).get(column) or column, description


def describe_geopackage(
    path: str | Path,
    lang: str = "zh",
    titles: Mapping[str, str] | None = None,
    *,
    layers: Sequence[str] | None = None,
) -> dict[str, list[str]]:
    """Write the title and description of every column of the layers of a GeoPackage.

    Parameters
    ----------
    path
        The GeoPackage (written by GDAL).
    lang
        ``zh`` (default) or ``en``.
    titles
        Titles for the columns the catalogue gives none (:func:`column_text`).
    layers
        The layers to describe; all of them by default.

    Returns
    -------
    dict
        Layer -> the columns described (all but the feature id and the geometry).
    """
    if lang not in LANGS:
        raise ValueError(f"lang={lang!r}: use zh or en")
    described: dict[str, list[str]] = {}
    with closing(sqlite3.connect(path)) as conn, conn:
        for statement in _TABLES:
            conn.execute(statement)
        _register_schema(conn)
        for layer in _layers(conn) if layers is None else layers:
            columns = _columns(conn, layer)
            words = [column_text(layer, c, lang, titles) for c in columns]
            aliases = _aliases(columns, [title for title, _ in words])
            rows = [(layer, *r[:2], *r[2]) for r in zip(columns, aliases, words, strict=True)]
            conn.executemany(
                "INSERT OR REPLACE INTO gpkg_data_columns "
                "(table_name, column_name, name, title, description) VALUES (?, ?, ?, ?, ?)",
                rows,
            )
            described[layer] = [r[1] for r in rows]
    return described


def _aliases(columns: Sequence[str], titles: Sequence[str]) -> list[str]:
    """The ``name`` of each column in ``gpkg_data_columns``: its title, once per layer.

    GDAL reads ``name`` as the field's alternative name, which QGIS shows as its alias
    (and ``description`` as its comment); a title already taken in the layer leaves the
    column's own name (no alias).
    """
    taken: set[str] = set()
    out = []
    for column, title in zip(columns, titles, strict=True):
        alias = title if title and title not in taken else column
        taken.add(alias)
        out.append(alias)
    return out


def _register_schema(conn: sqlite3.Connection) -> None:
    """Declare the Schema extension's two tables in ``gpkg_extensions`` (once)."""
    for table in ("gpkg_data_columns", "gpkg_data_column_constraints"):
        known = conn.execute(
            "SELECT 1 FROM gpkg_extensions WHERE table_name = ? AND extension_name = 'gpkg_schema'",
            (table,),
        ).fetchone()
        if not known:
            conn.execute(
                "INSERT INTO gpkg_extensions VALUES (?, NULL, 'gpkg_schema', ?, 'read-write')",
                (table, _SCHEMA_EXTENSION),
            )


def _layers(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT table_name FROM gpkg_contents ORDER BY rowid")]


def _columns(conn: sqlite3.Connection, layer: str) -> list[str]:
    """The layer's attribute columns: not its primary key, not its geometry."""
    geometry = {
        r[0]
        for r in conn.execute(
            "SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?", (layer,)
        )
    }
    info = conn.execute(f'PRAGMA table_info("{layer.replace(chr(34), chr(34) * 2)}")')
    return [r[1] for r in info if not r[5] and r[1] not in geometry]
