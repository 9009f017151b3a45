"""Applying an accepted proposal to a store: every row checked first, then one transaction.

A planner reviews a proposal in QGIS or Excel and may delete or change rows; what is
left is applied. Before anything is written every row is checked (the action, the
codes it names, that an assignment to end is in force, that a household lies in its
building, that a repaired grid is a valid polygon of a stored grid), and every row
that cannot be applied is named in one error. The writes then go through
:meth:`gridgeo.store.Store.write_layers`: all of them or, on any error, none.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from gridgeo.errors import FileFormatError, Issue, NotFound, ValidationError
from gridgeo.fix.jobs import PROPOSAL_KINDS
from gridgeo.schema import ASSIGNMENT_KINDS
from gridgeo.store import Store

__all__ = ["Applied", "apply_file", "read_proposal"]

_ACTIONS = ("add", "end")
T = TypeVar("T")


@dataclass(frozen=True)
class Applied:
    """What :func:`apply_file` changed."""

    kind: str  # "grids" or "assignments"
    added: int
    ended: int
    changed: int
    #: the store's data version the write made (None: nothing was written)
    data_version: int | None = None


def read_proposal(path: Path) -> tuple[str, pd.DataFrame]:
    """The kind of a proposal file (GeoPackage or its workbook) and the rows to apply.

    Raises
    ------
    NotFound
        The file does not exist.
    ValidationError
        It is not a proposal of ``gridgeo fix`` (no ``actions`` nor ``grids`` layer).
    """
    path = Path(path)
    if not path.is_file():
        raise NotFound(f"{path}: no such file")
    ext = path.suffix.lower()
    if ext in (".gpkg", ".xlsx"):
        sheets = _unreadable(path, lambda: _layer_names(path, ext))
    else:
        raise ValidationError(
            Issue(f"cannot apply a {ext or 'file without extension'}", file=path.name,
                  hint="give the .gpkg (or its .xlsx) that gridgeo fix wrote")
        )  # fmt: skip
    layers = {_ENGLISH_SHEETS.get(name, name): name for name in sheets}
    kind = "assignments" if "actions" in layers else "grids" if "grids" in layers else None
    if kind is None or PROPOSAL_KINDS[kind] not in layers:
        raise ValidationError(
            Issue("not a proposal: it has no 'actions' layer (assignments) nor 'grids' and "
                  "'changes' layers (grids)", file=path.name,
                  hint="give the file that gridgeo fix grids / fix assignments wrote")
        )  # fmt: skip
    layer = "actions" if kind == "assignments" else "grids"
    if ext == ".gpkg":
        frame = _unreadable(path, lambda: pyogrio.read_dataframe(path, layer=layer))
    else:
        if kind == "grids":
            raise ValidationError(
                Issue("a grid repair is applied from its GeoPackage (the workbook has no "
                      "geometries)", file=path.name, hint=f"give {path.with_suffix('.gpkg').name}")
            )  # fmt: skip
        frame = _unreadable(
            path, lambda: pd.read_excel(path, sheet_name=layers[layer], dtype=object)
        )
        frame = frame.rename(columns=_ENGLISH_HEADINGS)
    return kind, frame


def _english() -> tuple[dict[str, str], dict[str, str]]:
    """Chinese sheet names and headings of the proposal workbooks -> their names."""
    from gridgeo.check.output import headings
    from gridgeo.fix.actions import ACTION_COLUMNS

    words = headings("zh")
    sheets = {zh: name for name, zh in words.get("sheets", {}).items()}
    columns = words.get("columns", {})
    return sheets, {columns[name]: name for name in ACTION_COLUMNS if name in columns}


#: a workbook written with ``--lang zh`` (the default) is read back by these
_ENGLISH_SHEETS, _ENGLISH_HEADINGS = _english()


def _layer_names(path: Path, ext: str) -> set[str]:
    """The layers of a GeoPackage, or the sheets of a workbook."""
    if ext == ".gpkg":
        return {str(name) for name, _ in pyogrio.list_layers(path)}
    with pd.ExcelFile(path) as workbook:
        return {str(name) for name in workbook.sheet_names}


def _unreadable(path: Path, read: Callable[[], T]) -> T:
    """``read()``, with a file that cannot be read as what its extension says named."""
    try:
        return read()
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError, ValueError,
            KeyError, zipfile.BadZipFile) as exc:  # fmt: skip
        kind = "GeoPackage" if path.suffix.lower() == ".gpkg" else "workbook"
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FileFormatError(
            Issue(f"cannot be read as a {kind}: {reason}", file=path.name,
                  hint="give the file gridgeo fix wrote (saved again from QGIS or Excel)")
        ) from None  # fmt: skip


def _text(values: pd.Series) -> pd.Series:
    out = values.astype("string").str.strip()
    return out.mask(out.eq("") | out.str.lower().isin(["nan", "none", "<na>"]))


def _assignment_rows(
    store: Store, actions: pd.DataFrame, as_of: dt.date, source: str
) -> tuple[pd.DataFrame, int, int]:
    """The assignment rows to write (ends: the stored row with its end; adds: new rows)."""
    for column in ("action", "assignment"):
        if column not in actions.columns:
            raise ValidationError(Issue(f"column {column!r} is missing", file=source,
                                        layer="actions", hint="apply the file gridgeo fix wrote"))  # fmt: skip
    stored = store.read_layer("assignments", geometry=False)
    households = store.read_layer("households", columns=["building"], geometry=False)
    house_building = dict(zip(households["code"], households["building"], strict=True))
    by_code = stored.set_index("code")
    day = pd.Timestamp(as_of)
    issues: list[Issue] = []
    action = _text(actions["action"]).str.lower()
    code = _text(actions["assignment"])
    ends, adds = [], []
    for pos in range(len(actions)):
        row, what, key = pos + 2, action.iloc[pos], code.iloc[pos]

        def issue(message: str, column: str, value: object, hint: str, row: int = row) -> None:
            issues.append(Issue(message, file=source, layer="actions", row=row, column=column,
                                value=value, hint=hint))  # fmt: skip

        if what not in _ACTIONS:
            issue(
                f"unknown action {what!r}", "action", what, "use 'add' or 'end', or delete the row"
            )
        elif pd.isna(key):
            issue("no assignment code", "assignment", key, "keep the code gridgeo fix proposed")
        elif what == "end":
            if key not in by_code.index:
                issue(f"no stored assignment {key!r} to end", "assignment", key,
                      "the store changed since the proposal: run gridgeo fix again")  # fmt: skip
                continue
            start, end = by_code.at[key, "valid_from"], by_code.at[key, "valid_to"]
            if pd.Timestamp(start) >= day:
                issue(f"assignment {key!r} starts on {pd.Timestamp(start):%Y-%m-%d}, not before "
                      f"{as_of}", "assignment", key, "give a later --as-of or delete the row")  # fmt: skip
            elif pd.notna(end) and pd.Timestamp(end) < day:
                issue(f"assignment {key!r} already ended on {pd.Timestamp(end):%Y-%m-%d}",
                      "assignment", key, "delete the row")  # fmt: skip
            else:
                ends.append(key)
        elif key in by_code.index:
            issue(f"assignment code {key!r} is already used", "assignment", key,
                  "give the new row a code of its own")  # fmt: skip
        elif (kind := _text(actions.get("kind", pd.Series([None] * len(actions)))).iloc[pos]) \
                not in ASSIGNMENT_KINDS:  # fmt: skip
            issue(
                f"unknown kind {kind!r}", "kind", kind, f"use one of {', '.join(ASSIGNMENT_KINDS)}"
            )
        else:
            household = _text(actions.get("household", pd.Series([None] * len(actions)))).iloc[pos]
            building = _text(actions.get("building", pd.Series([None] * len(actions)))).iloc[pos]
            if pd.notna(household) and household in house_building and pd.notna(building) \
                    and house_building[household] != building:  # fmt: skip
                issue(f"household {household!r} is in building {house_building[household]!r}, "
                      f"not {building!r}", "household", household, "correct the building")  # fmt: skip
            adds.append(pos)
    if issues:
        raise ValidationError(
            issues, summary=f"{len(issues)} row(s) of {source} cannot be applied:"
        )
    ended = by_code.loc[ends].reset_index()
    ended["valid_to"] = day - pd.Timedelta(days=1)
    columns = ["kind", "member", "organisation", "community", "grid", "building", "household"]
    added = pd.DataFrame({c: _text(actions[c]).iloc[adds].to_numpy() if c in actions.columns
                          else None for c in columns})  # fmt: skip
    for kind, pair in ASSIGNMENT_KINDS.items():  # a kind fills its own two columns only
        filled = {column.removesuffix("_id") for column in pair}
        added.loc[
            added["kind"].eq(kind).to_numpy(bool), [c for c in columns[1:] if c not in filled]
        ] = None
    added.insert(0, "code", code.iloc[adds].to_numpy())
    added["valid_from"], added["valid_to"] = day, pd.NaT
    rows = pd.concat(
        [ended[["code", *columns, "valid_from", "valid_to"]], added], ignore_index=True
    )
    return rows, len(adds), len(ends)


def _grid_rows(store: Store, grids: gpd.GeoDataFrame, source: str) -> pd.DataFrame:
    """The stored grids whose outline the repair changes, with their new outline."""
    stored = store.read_layer("grids")
    codes = _text(grids["code"]) if "code" in grids.columns else None
    if codes is None:
        raise ValidationError(Issue("column 'code' is missing", file=source, layer="grids",
                                    hint="apply the file gridgeo fix grids wrote"))  # fmt: skip
    geoms = np.asarray(grids.geometry.to_crs(4326).array if grids.crs else grids.geometry.array)
    known = pd.Index(stored["code"])
    issues = []
    for pos in range(len(grids)):
        key, geom = codes.iloc[pos], geoms[pos]
        if pd.isna(key) or key not in known:
            issues.append(Issue(f"no stored grid {key!r}", file=source, layer="grids", row=pos + 1,
                                column="code", value=key, hint="grids are changed, not added: "
                                "import new grids with gridgeo import"))  # fmt: skip
        elif geom is None or shapely.is_empty(geom) or not shapely.is_valid(geom):
            issues.append(Issue(f"grid {key!r}: the outline is empty or not a valid polygon",
                                file=source, layer="grids", row=pos + 1, column="geometry",
                                hint="repair it in QGIS or delete the row"))  # fmt: skip
    if issues:
        raise ValidationError(
            issues, summary=f"{len(issues)} grid(s) of {source} cannot be applied:"
        )
    new = pd.Series(geoms, index=codes.to_numpy())
    rows = stored[stored["code"].isin(new.index)].copy()
    old = np.asarray(rows.geometry.array)
    proposed = new.loc[rows["code"]].to_numpy()
    same = shapely.equals_exact(shapely.normalize(old), shapely.normalize(proposed), tolerance=0)
    rows = rows[~same]
    rows["geometry"] = proposed[~same]
    return rows


def apply_file(store: Store, path: Path, *, as_of: dt.date) -> Applied:
    """Apply a proposal file written by ``gridgeo fix`` (and perhaps edited) to ``store``.

    Raises
    ------
    ValidationError
        Some rows cannot be applied: each is named, and nothing is written.
    """
    path = Path(path)
    kind, frame = read_proposal(path)
    if kind == "assignments":
        rows, added, ended = _assignment_rows(store, frame, as_of, path.name)
        version = _written(store, "assignments", rows, path.name)
        return Applied(kind, added, ended, 0, version)
    rows = _grid_rows(store, frame, path.name)
    return Applied(kind, 0, 0, len(rows), _written(store, "grids", rows, path.name))


def _written(store: Store, layer: str, rows: pd.DataFrame, source: str) -> int | None:
    """Write ``rows`` (if any) to ``layer``; the data version the write made."""
    if not len(rows):
        return None
    return store.write_layer(layer, rows, source=source).data_version
