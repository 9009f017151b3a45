"""Which column of a file is which column of a layer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gridgeo.errors import ValidationError
from gridgeo.io.dbf import NAME_BYTES, cut_name
from gridgeo.layers import LayerSpec

__all__ = ["ALIASES", "DBF_NAME_LENGTH", "map_columns"]

#: The longest column name a Shapefile's attribute table (.dbf) holds.
DBF_NAME_LENGTH = NAME_BYTES

#: the encodings of .dbf files whose cut names are recognised
_DBF_ENCODINGS = ("utf-8", "gbk")

#: Other names a column goes by in the files planners keep (compared lower-case).
ALIASES: dict[str, tuple[str, ...]] = {
    "code": ("id", "编号", "编码", "代码"),
    "name": ("名称", "姓名", "name_zh"),
    "address": ("addr", "地址", "门牌"),
    "units": ("单元数",),
    "households": ("户数", "hh"),
    "floors": ("层数", "building_levels", "levels"),
    "community": ("community_code", "community_id", "社区", "社区编号"),
    "grid": ("grid_code", "grid_id", "网格", "网格编号"),
    "building": ("building_code", "building_id", "楼栋", "楼栋编号"),
    "household": ("household_code", "household_id", "户", "户编号"),
    "member": ("member_code", "member_id", "党员", "党员编号", "责任人编号"),
    "organisation": (
        "organization",
        "org",
        "organisation_code",
        "organization_code",
        "党组织",
        "党组织编号",
        "组织编号",
    ),
    "responsible": ("responsible_member", "责任人"),
    "visit": ("visit_code", "visit_id"),
    "role": ("角色",),
    "kind": ("type", "类型"),
    "category": ("类别", "问题类别"),
    "status": ("状态",),
    "valid_from": ("from", "start", "开始日期"),
    "valid_to": ("to", "end", "结束日期"),
    "visited_at": ("time", "date", "走访时间"),
    "reported_at": ("reported", "created", "date", "上报时间"),
    "held_on": ("date", "会议日期"),
    "deadline": ("due", "期限"),
    "phone": ("tel", "mobile", "电话"),
}


def _dbf_cuts(names: Sequence[str]) -> list[str]:
    """The names as a Shapefile's attribute table (.dbf) keeps them: 10 bytes, whole characters.

    >>> _dbf_cuts(["building_code", "网格编号"])
    ['building_c', '网格编']
    """
    cuts = [cut_name(n, enc) for n in names for enc in _DBF_ENCODINGS]
    return [c for c in dict.fromkeys(cuts) if c and c not in names]


def _explicit(
    columns: Sequence[str], spec: LayerSpec, mapping: Mapping[str, str], id_columns: Sequence[str]
) -> dict[str, str]:
    result: dict[str, str] = {}
    for src, dst in mapping.items():
        if dst not in spec.field_names:
            raise ValidationError(
                f"--map {src}={dst}: layer {spec.name!r} has no column {dst!r}; "
                f"its columns are {spec.field_names}"
            )
        if src not in columns:
            raise ValidationError(
                f"--map {src}={dst}: the file has no column {src!r}; its columns are {list(columns)}"
            )
        result[src] = dst
    if len(id_columns) == 1:
        if id_columns[0] not in columns:
            raise ValidationError(
                f"--id-column {id_columns[0]}: the file has no such column; its columns are {list(columns)}"
            )
        result[id_columns[0]] = "code"
    return result


def map_columns(
    columns: Sequence[str],
    spec: LayerSpec,
    mapping: Mapping[str, str],
    id_columns: Sequence[str],
) -> tuple[dict[str, str], list[str]]:
    """Return {file column: layer field} and the file columns left unused."""
    result = _explicit(columns, spec, mapping, id_columns)
    taken = set(result.values())
    lower = {c.lower(): c for c in columns if c not in result}
    singular = spec.name[:-1] if spec.name != "communities" else "community"
    for f in spec.fields:
        if f.name in taken:
            continue
        extra = (
            (f"{singular}_code", f"{singular}_id", *ALIASES.get(singular, ()))
            if f.name == "code"
            else ()
        )
        names = (f.name, *extra, *ALIASES.get(f.name, ()))
        for candidate in (*names, *_dbf_cuts(names)):
            col = lower.get(candidate.lower())
            if col is not None and col not in result:
                result[col] = f.name
                taken.add(f.name)
                break
    unused = [c for c in columns if c not in result and c != "geometry"]
    return result, unused
