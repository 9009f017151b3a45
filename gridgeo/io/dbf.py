"""Column names of a Shapefile's attribute table (.dbf) cut in the middle of a character.

A .dbf holds a column name in at most 10 bytes. Desktop GIS and GDAL cut longer names at
the 10th byte, whatever the encoding: ``网格编号`` is 12 bytes in UTF-8, so the file keeps
``网格编`` and the first byte of ``号``. Such a file no longer decodes, and GDAL-based
readers (pyogrio, geopandas) fail on it. gridgeo reads it from a copy whose header keeps
each cut name up to its last whole character (``网格编``), which the column mapping knows
as the cut form of ``网格编号`` (:func:`cut_name`).
"""

from __future__ import annotations

import codecs
import shutil
from pathlib import Path

__all__ = ["NAME_BYTES", "cpg_encoding", "cut_name", "names_decode", "repair_names"]

#: the bytes a .dbf column name holds
NAME_BYTES = 10
_DESCRIPTOR = 32
_HEADER_END = 0x0D


def cut_name(name: str, encoding: str) -> str:
    """``name`` as a .dbf in ``encoding`` keeps it, up to its last whole character.

    >>> cut_name("网格编号", "utf-8")
    '网格编'
    >>> cut_name("网格编号", "gbk")
    '网格编号'
    >>> cut_name("households", "utf-8")
    'households'
    """
    try:
        data = name.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return name
    return data[:NAME_BYTES].decode(encoding, errors="ignore")


def cpg_encoding(cpg: Path) -> str | None:
    """The encoding a .cpg names (``UTF-8``, ``GBK``, a code page such as ``936``), or None."""
    text = cpg.read_bytes().decode("ascii", errors="ignore").strip()
    if text.isdigit():
        text = "utf-8" if text == "65001" else f"cp{text}"
    try:
        return codecs.lookup(text).name
    except LookupError:
        return None


def _whole_characters(raw: bytes, encoding: str) -> bytes | None:
    """``raw`` without the bytes of a cut last character, or None when it decodes as it is."""
    try:
        raw.decode(encoding)
        return None
    except UnicodeDecodeError:
        pass
    for end in range(len(raw) - 1, max(len(raw) - 4, 0), -1):  # a character has ≤ 4 bytes
        try:
            raw[:end].decode(encoding)
        except UnicodeDecodeError:
            continue
        return raw[:end]
    return None


def _names(header: bytes) -> dict[int, bytes]:
    """{offset in the header: raw column name} of a .dbf header."""
    names = {}
    for at in range(_DESCRIPTOR, len(header) - _DESCRIPTOR + 1, _DESCRIPTOR):
        if header[at] == _HEADER_END:
            break
        names[at] = header[at : at + 11].split(b"\0", 1)[0]
    return names


def _header(dbf: Path) -> bytearray:
    with dbf.open("rb") as f:
        start = f.read(_DESCRIPTOR)
        header_len = int.from_bytes(start[8:10], "little") if len(start) >= 10 else 0
        return bytearray(start + f.read(max(header_len - len(start), 0)))


def names_decode(dbf: Path, encoding: str) -> bool:
    """Whether every column name of ``dbf`` decodes in ``encoding``."""
    try:
        for raw in _names(bytes(_header(dbf))).values():
            raw.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def repair_names(dbf: Path, copy: Path, encoding: str) -> list[tuple[str, str]]:
    """Write ``dbf`` to ``copy`` with its cut column names kept to their whole characters.

    Returns ``(name as found, name as kept)`` for each such column (the name as found shows
    the cut character's bytes escaped), and writes nothing when there is none. Only the
    header changes; a name that would then equal another column's is left alone.
    """
    header = _header(dbf)
    names = _names(bytes(header))
    taken = set(names.values())
    repaired: list[tuple[str, str]] = []
    for at, raw in names.items():
        kept = _whole_characters(raw, encoding)
        if not kept or kept in taken:
            continue
        taken.add(kept)
        header[at : at + 11] = kept.ljust(11, b"\0")
        repaired.append((raw.decode(encoding, errors="backslashreplace"), kept.decode(encoding)))
    if repaired:
        shutil.copy(dbf, copy)
        with copy.open("r+b") as f:
            f.write(header)
    return repaired
