"""Text encodings of CSV files and Shapefile attribute tables (.dbf).

Planners' files come from Excel and desktop GIS in mainland China and Taiwan: UTF-8,
GBK, GB18030 or Big5. A file is decoded with the first of :data:`CANDIDATES` that
decodes it cleanly *and* reads as text of that encoding: Big5 bytes usually decode
"cleanly" as GBK too, into rare characters and kana, so a GB decoding is accepted only
when most of its Chinese characters are ordinary GB2312 ones.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

from gridgeo.errors import FileFormatError, Issue

__all__ = ["CANDIDATES", "Decoded", "decode_bytes", "dbf_encoding", "encoding_name"]

#: encodings tried, in order
CANDIDATES = ("utf-8", "gbk", "gb18030", "big5")
_NAMES = {"utf-8": "UTF-8", "gbk": "GBK", "gb18030": "GB18030", "big5": "Big5"}
#: share of non-ASCII characters a GB decoding must have in GB2312 (hanzi, punctuation)
_PLAUSIBLE = 0.9
_SAMPLE = 1 << 20


@dataclass(frozen=True)
class Decoded:
    """A text and the encoding it was decoded with."""

    text: str
    encoding: str
    forced: bool = False

    @property
    def note(self) -> str | None:
        """What to tell the user (nothing for UTF-8 found by itself)."""
        if self.encoding == "utf-8" and not self.forced:
            return None
        how = "as given with --encoding" if self.forced else "detected"
        return f"text decoded as {encoding_name(self.encoding)} ({how})"


def encoding_name(encoding: str) -> str:
    """The usual spelling of an encoding's name (``GBK``, ``Big5``)."""
    return _NAMES.get(codecs.lookup(encoding).name.replace("_", "-"), encoding)


def _gb_share(text: str) -> float:
    """Share of the non-ASCII characters that are GB2312 hanzi or punctuation."""
    wide = [c for c in text[:_SAMPLE] if ord(c) > 127]
    if not wide:
        return 1.0
    good = 0
    for c in wide:
        try:
            lead = c.encode("gb2312")[0]
        except UnicodeEncodeError:
            continue
        good += 0xA1 <= lead <= 0xA3 or 0xB0 <= lead <= 0xF7
    return good / len(wide)


def _strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def decode_bytes(data: bytes, *, file: str, encoding: str | None = None) -> Decoded:
    """Decode ``data`` with ``encoding``, or with the first candidate that fits.

    Raises
    ------
    FileFormatError
        The forced encoding does not decode it, is unknown, or no candidate does.

    Examples
    --------
    >>> decode_bytes("台北市".encode("big5"), file="a.csv").encoding
    'big5'
    >>> decode_bytes("上海市".encode("gbk"), file="a.csv").note
    'text decoded as GBK (detected)'
    """
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
        encoding = encoding or "utf-8"
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise FileFormatError(
                Issue(f"unknown encoding {encoding!r}", file=file, hint="use e.g. utf-8, gbk, big5")
            ) from None
        text = _strict(data, encoding)
        if text is None:
            raise FileFormatError(
                Issue(
                    f"the file does not decode as {encoding_name(encoding)}",
                    file=file,
                    hint="drop --encoding to let gridgeo detect it, or name the right one",
                )
            )
        return Decoded(text, encoding, forced=True)
    fallback: Decoded | None = None
    for candidate in CANDIDATES:
        text = _strict(data, candidate)
        if text is None:
            continue
        if candidate in ("gbk", "gb18030") and _gb_share(text) < _PLAUSIBLE:
            fallback = fallback or Decoded(text, candidate)
            continue
        return Decoded(text, candidate)
    if fallback is not None:
        return fallback
    raise FileFormatError(
        Issue(
            "the text is in none of UTF-8, GBK, GB18030, Big5",
            file=file,
            hint="save it as UTF-8, or name its encoding with --encoding",
        )
    )


def dbf_encoding(shp: Path, *, encoding: str | None = None) -> tuple[str | None, str | None]:
    """The encoding of a Shapefile's .dbf without a .cpg, and a note on it.

    ``(None, None)`` when a ``.cpg`` declares it (GDAL reads that itself) and
    ``encoding`` does not force one.
    """
    siblings = {p.suffix.lower(): p for p in shp.parent.glob(shp.stem + ".*")}
    if encoding is None and ".cpg" in siblings:
        return None, None
    dbf = siblings.get(".dbf")
    if dbf is None:
        return encoding, None
    raw = dbf.read_bytes()
    header = int.from_bytes(raw[8:10], "little") if len(raw) >= 10 else len(raw)
    decoded = decode_bytes(raw[header:], file=dbf.name, encoding=encoding)
    return decoded.encoding, decoded.note
