"""Grid council meetings: monthly, with the recorded gaps."""

from __future__ import annotations

import datetime as dt
import itertools

import pandas as pd

from gridgeo.synth import District


def test_monthly_meetings_with_recorded_gaps(tiny: District) -> None:
    m = tiny.layers["meetings"]
    period = tiny.defects["period"]
    assert m["held_on"].min() >= pd.Timestamp(period["start"])
    assert m["held_on"].max() < pd.Timestamp(period["end"])
    months = pd.period_range(period["start"], period["end"] - dt.timedelta(days=1), freq="M")
    held = set(zip(m["grid"], m["held_on"].dt.strftime("%Y-%m"), strict=True))
    grids = tiny.layers["grids"]["code"]
    missing = {(g, str(p)) for g, p in itertools.product(grids, months) if (g, str(p)) not in held}
    assert missing == {tuple(x) for x in tiny.defects["grids_missing_meetings"]}
    assert len(missing) >= 1
    assert (m["attendance"] > 0).all()
