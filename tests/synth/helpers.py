"""What the tests of the synthetic district share: the metric CRS and current assignments."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from gridgeo.synth import District

METRIC = "EPSG:32651"


def current(assignments: pd.DataFrame, on: dt.date) -> pd.DataFrame:
    day = pd.Timestamp(on)
    ok = (assignments["valid_from"] <= day) & (
        assignments["valid_to"].isna() | (assignments["valid_to"] >= day)
    )
    return assignments[ok]


def member_households(tiny: District, on: dt.date) -> pd.Series:
    """Current households per partner member, from the assignment rows."""
    a = current(tiny.layers["assignments"], on)
    hh = tiny.layers["households"]
    by_building = a[a["kind"] == "member_building"].merge(
        hh[["code", "building"]].rename(columns={"code": "hh"}), on="building"
    )[["member", "hh"]]
    direct = a[a["kind"] == "member_household"][["member", "household"]].rename(
        columns={"household": "hh"}
    )
    pairs = pd.concat([by_building, direct]).drop_duplicates()
    members = tiny.layers["members"]
    partner = members.loc[members["role"] == "member", "code"]
    return pairs.groupby("member")["hh"].nunique().reindex(partner, fill_value=0)
