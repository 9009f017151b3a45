"""Tables: CSV (in any of the usual Chinese encodings) and sheets of XLSX workbooks."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from gridgeo.errors import FileFormatError, Issue, NotFound
from gridgeo.io.encodings import decode_bytes

__all__ = ["read_table"]


def read_table(
    path: Path, fmt: str, sheet: str | None = None, *, encoding: str | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """A CSV or a sheet of an XLSX workbook, cells as text (CSV) or Excel's values.

    Returns the frame (columns trimmed, index 0…n-1) and notes (the encoding chosen).

    Raises
    ------
    FileFormatError
        A damaged workbook, a CSV that cannot be parsed or decoded.
    NotFound
        No such sheet.
    """
    if fmt == "xlsx":
        return _read_sheet(path, sheet), []
    decoded = decode_bytes(path.read_bytes(), file=path.name, encoding=encoding)
    try:
        frame = pd.read_csv(
            io.StringIO(decoded.text),
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            sep=None,
            engine="python",
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
        raise FileFormatError(
            Issue(
                f"cannot parse it as CSV: {exc}",
                file=path.name,
                hint="check quoting and separators",
            )
        ) from exc
    return _clean_columns(frame), [decoded.note] if decoded.note else []


def _read_sheet(path: Path, sheet: str | None) -> pd.DataFrame:
    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many kinds for damaged files
        raise FileFormatError(
            Issue(
                f"cannot open the workbook: {exc}", file=path.name, hint="save it again from Excel"
            )
        ) from exc
    with book:
        if sheet is None:
            sheet = book.sheet_names[0]
        elif sheet not in book.sheet_names:
            raise NotFound(f"{path.name} has no sheet {sheet!r}; its sheets are {book.sheet_names}")
        try:
            frame = pd.read_excel(book, sheet_name=sheet, dtype=object)
        except Exception as exc:  # a sheet openpyxl cannot read
            raise FileFormatError(
                Issue(
                    f"cannot read sheet {sheet!r}: {exc}",
                    file=path.name,
                    hint="save it again from Excel",
                )
            ) from exc
    return _clean_columns(frame.dropna(how="all"))


def _clean_columns(frame: pd.DataFrame) -> pd.DataFrame:
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame.reset_index(drop=True)
