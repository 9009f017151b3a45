"""The ten layers gridgeo stores, as their files and frames see them.

A layer's frame (what ``Store.read_layer`` returns and ``Store.write_layer`` takes,
and what an input file is mapped to) uses *codes* for references: a grid's
``community`` column holds the community's code, not a database id. The store turns
codes into foreign keys and back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gridgeo import schema

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "LAYERS",
    "LAYER_ORDER",
    "ROW_COLUMN",
    "Field",
    "LayerSpec",
    "display_names",
    "get_layer",
    "names_by_code",
]

#: Optional column of a layer frame: the row number in the source file, used to name
#: rows in error messages.
ROW_COLUMN = "_row"


@dataclass(frozen=True)
class Field:
    """One column of a layer.

    Parameters
    ----------
    name
        Column name in frames and files.
    kind
        ``text``, ``int``, ``date`` or ``datetime``.
    required
        Every row must have a value.
    ref
        Name of the layer whose ``code`` this column holds.
    column
        Database column; defaults to ``name`` (``name + "_id"`` for references).
    choices
        Allowed values.
    personal
        Personal data: left out of maps, tiles and exports unless asked for.
    """

    name: str
    kind: str = "text"
    required: bool = False
    ref: str | None = None
    column: str | None = None
    choices: tuple[str, ...] | None = None
    personal: bool = False

    @property
    def db_column(self) -> str:
        if self.column:
            return self.column
        return f"{self.name}_id" if self.ref else self.name


@dataclass(frozen=True)
class LayerSpec:
    """A stored layer: its table, geometry and columns."""

    name: str
    model: type[schema.Base]
    fields: tuple[Field, ...]
    geometry: str | None = None
    geometry_required: bool = False

    @property
    def table(self) -> str:
        return str(self.model.__tablename__)

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def refs(self) -> list[Field]:
        return [f for f in self.fields if f.ref]

    @property
    def personal(self) -> list[str]:
        return [f.name for f in self.fields if f.personal]

    def max_length(self, field: Field) -> int | None:
        """The most characters the store keeps in a text column (None: unbounded)."""
        return getattr(self.model.__table__.c[field.db_column].type, "length", None)

    def int_range(self, field: Field) -> tuple[int, int]:
        """The smallest and largest value the store keeps in an integer column."""
        type_ = self.model.__table__.c[field.db_column].type
        bits = 64 if type(type_).__name__ == "BigInteger" else 32
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


_CODE = Field("code", required=True)

LAYERS: dict[str, LayerSpec] = {
    spec.name: spec
    for spec in [
        LayerSpec(
            "communities",
            schema.Community,
            (_CODE, Field("name"), Field("district")),
            geometry="MultiPolygon",
        ),
        LayerSpec(
            "grids",
            schema.Grid,
            (_CODE, Field("name"), Field("community", ref="communities")),
            geometry="MultiPolygon",
            geometry_required=True,
        ),
        LayerSpec(
            "buildings",
            schema.Building,
            (
                _CODE,
                Field("address"),
                Field("units", "int"),
                Field("households", "int"),
                Field("floors", "int"),
            ),
            geometry="MultiPolygon",
            geometry_required=True,
        ),
        LayerSpec(
            "households",
            schema.Household,
            (
                _CODE,
                Field("building", required=True, ref="buildings"),
                Field("unit"),
                Field("floor", "int"),
                Field("room"),
                Field("size", "int"),
                Field("name", personal=True),
                Field("phone", personal=True),
            ),
            geometry="Point",
        ),
        LayerSpec(
            "organisations",
            schema.Organisation,
            (
                _CODE,
                Field("name"),
                Field("kind", choices=schema.ORGANISATION_KINDS),
                Field("community", ref="communities"),
            ),
        ),
        LayerSpec(
            "members",
            schema.Member,
            (
                _CODE,
                Field("name"),
                Field("phone", personal=True),
                Field("role", choices=schema.MEMBER_ROLES),
                Field("organisation", ref="organisations"),
                Field("community", ref="communities"),
            ),
        ),
        LayerSpec(
            "assignments",
            schema.Assignment,
            (
                _CODE,
                Field("kind", required=True, choices=tuple(schema.ASSIGNMENT_KINDS)),
                Field("member", ref="members"),
                Field("organisation", ref="organisations"),
                Field("community", ref="communities"),
                Field("grid", ref="grids"),
                Field("building", ref="buildings"),
                Field("household", ref="households"),
                Field("valid_from", "date", required=True),
                Field("valid_to", "date"),
            ),
        ),
        LayerSpec(
            "visits",
            schema.Visit,
            (
                _CODE,
                Field("member", required=True, ref="members"),
                Field("household", ref="households"),
                Field("building", ref="buildings"),
                Field("visited_at", "datetime", required=True),
                Field("note"),
            ),
            geometry="Point",
        ),
        LayerSpec(
            "meetings",
            schema.Meeting,
            (
                _CODE,
                Field("grid", required=True, ref="grids"),
                Field("held_on", "date", required=True),
                Field("attendance", "int"),
                Field("topic"),
            ),
        ),
        LayerSpec(
            "problems",
            schema.Problem,
            (
                _CODE,
                Field("category", required=True),
                Field("description"),
                Field("building", ref="buildings"),
                Field("household", ref="households"),
                Field("visit", ref="visits"),
                Field("responsible", ref="members", column="responsible_member_id"),
                Field("reported_at", "datetime", required=True),
                Field("deadline", "date"),
                Field("status", choices=schema.PROBLEM_STATUSES),
                Field("resolved_at", "datetime"),
                Field("escalated_at", "datetime"),
                Field("closed_at", "datetime"),
                Field("feedback_at", "datetime"),
                Field("feedback"),
            ),
            geometry="Point",
        ),
    ]
}

#: Import order: every layer comes after the layers it references.
LAYER_ORDER: tuple[str, ...] = tuple(LAYERS)


def get_layer(name: str) -> LayerSpec:
    """Return the spec of layer ``name``; raise NotFound naming the known layers."""
    from gridgeo.errors import NotFound

    try:
        return LAYERS[name]
    except KeyError:
        raise NotFound(f"unknown layer {name!r}; known layers: {', '.join(LAYERS)}") from None


def display_names(frame: pd.DataFrame) -> pd.Series:
    """The name a person reads for each row: its ``name``, or its ``code`` when it has none.

    The one definition of a grid's or community's display name: map labels, popups,
    report tables and the names beside codes in files all use it.

    Examples
    --------
    >>> import pandas as pd
    >>> grids = pd.DataFrame({"code": ["C03-G006", "C03-G007"], "name": ["第6网格", " "]})
    >>> display_names(grids).tolist()
    ['第6网格', 'C03-G007']
    """
    codes = frame["code"].astype("string")
    if "name" not in frame.columns:
        return codes.astype(object)
    names = frame["name"].astype("string").str.strip()
    return names.where(names.notna() & (names != ""), codes).astype(object)


def names_by_code(frame: pd.DataFrame | None) -> dict[str, str]:
    """Code -> :func:`display_names` of a layer frame (empty for None or no ``code``).

    Examples
    --------
    >>> import pandas as pd
    >>> names_by_code(pd.DataFrame({"code": ["C01", "C02"], "name": ["零陵花园社区", None]}))
    {'C01': '零陵花园社区', 'C02': 'C02'}
    """
    if frame is None or "code" not in frame.columns:
        return {}
    known = frame[frame["code"].notna()]
    return dict(zip(known["code"].astype(str), display_names(known), strict=True))
