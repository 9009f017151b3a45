"""The generator's stages, run one after the other by :class:`Builder`."""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from pyproj import Transformer

from gridgeo.layers import LAYERS
from gridgeo.synth.arrays import (
    group_offsets,
    pick_in_ranges,
    ranks_in_groups,
    rectangle_corners,
    split_evenly,
)
from gridgeo.synth.columns import (
    codes_at,
    concat_text,
    date_column,
    decimal_text,
    int_column,
    sequential_codes,
    take_words,
    text_column,
    utc_column,
)
from gridgeo.synth.names import person_names, phone_numbers, unique_combinations
from gridgeo.synth.parameters import (
    METRIC_CRS,
    SECONDS_PER_DAY,
    UTC_OFFSET_SECONDS,
    Parameters,
    Progress,
)
from gridgeo.synth.vocabulary import Vocabulary

__all__ = ["STAGES", "Builder", "ring_nodes"]


def ring_nodes(fi0: int, fi1: int, fj0: int, fj1: int) -> list[tuple[int, int]]:
    """Fine-lattice nodes around a rectangle, counter-clockwise, every node included."""
    nodes = [(i, fj0) for i in range(fi0, fi1 + 1)]
    nodes += [(fi1, j) for j in range(fj0 + 1, fj1 + 1)]
    nodes += [(i, fj1) for i in range(fi1 - 1, fi0 - 1, -1)]
    nodes += [(fi0, j) for j in range(fj1 - 1, fj0, -1)]
    return nodes


_TYPE_NAMES = ("open", "lane", "villa", "slab", "tower")
#                      open  lane  villa slab  tower
_DEPTH = np.array([[12, 12], [10, 15], [10, 14], [10, 13], [16, 24]], float)
_SPACING = np.array([[10, 10], [3, 6], [8, 12], [16, 22], [25, 40]], float)
_WIDTH = np.array([[20, 20], [10, 14], [12, 18], [30, 60], [20, 32]], float)
_GAP = np.array([[10, 10], [1.5, 3], [6, 10], [6, 12], [15, 30]], float)
_NONLANE_WEIGHTS = np.array([0.15, 0.65, 0.20])  # villa, slab, tower among non-lane
_RHO_PRIOR = np.array([0.0, 0.0032, 0.0016, 0.0006, 0.0003])  # buildings per m²
_HH_PRIOR = np.array([0.0, 3.6, 4.1, 36.0, 100.0])  # households per building

STAGES = (
    "laying out streets, grids and communities",
    "placing buildings",
    "planting geometry defects",
    "creating households",
    "creating organisations and members",
    "assigning responsibility",
    "generating visits",
    "generating meetings",
    "generating problems",
    "projecting to EPSG:4326",
    "building frames",
)


class Builder:
    """Runs the stages on one parameter set; :meth:`run` returns the layers and defects."""

    def __init__(self, params: Parameters, words: Vocabulary, progress: Progress | None):
        self.p = params
        self.words = words
        self.progress = progress
        self.defects: dict[str, object] = {}
        self.layers: dict[str, Any] = {}

    def report(self, i: int, done: int) -> None:
        if self.progress is not None:
            self.progress(STAGES[i], done, 1)

    def run(self) -> tuple[dict[str, Any], dict[str, object]]:
        steps = (
            self.layout,
            self.buildings,
            self.geometry_defects,
            self.households,
            self.people,
            self.assignments,
            self.visits,
            self.meetings,
            self.problems,
            self.project,
            self.frames,
        )
        for i, step in enumerate(steps):
            self.report(i, 0)
            step()
            self.report(i, 1)
        return self.layers, self.defects

    # ---------------------------------------------------------------- layout ------------

    def layout(self) -> None:
        p = self.p
        target = p.grids
        tol = max(0.01 * target, 0.5)
        nb = max(target * 1.75, 2.0 * p.communities, 9.0)
        ny = max(3, round(math.sqrt(nb / 1.15)))
        best = self._grid_layout(max(3, round(nb / ny)), ny)
        # blocks per grid measured: try lattices of about the right number of blocks
        nb = best["nx"] * best["ny"] * target / best["n_grids"]
        ny0 = math.sqrt(nb / 1.15)
        cands = set()
        for ny in range(max(3, int(ny0) - 2), int(ny0) + 4):
            for nx in (math.floor(nb / ny), math.ceil(nb / ny)):
                if nx >= 3 and 0.7 <= nx / ny <= 1.7 and nx * ny >= p.communities:
                    cands.add((abs(nx * ny - nb), nx, ny))
        for _, nx, ny in sorted(cands)[:12]:
            if abs(best["n_grids"] - target) <= tol:
                break
            if (nx, ny) == (best["nx"], best["ny"]):
                continue
            lay = self._grid_layout(nx, ny)
            if abs(lay["n_grids"] - target) < abs(best["n_grids"] - target):
                best = lay
        self.lay = best
        self.nx, self.ny = best["nx"], best["ny"]
        self.n_grids = best["n_grids"]
        self.n_comm = len(best["comm_rects"])

        # calibrate block size and building mix to the targets (keep the best fill)
        n_b, n_h = p.buildings, p.households
        s = math.sqrt(n_b / (self.nx * self.ny) / 0.0028)
        mix = self._mix(0.3)
        found = None
        for _ in range(8 if n_b <= 200_000 else 4):
            s = float(np.clip(s, 90.0, 800.0))
            self._lattice(s)
            fill = self._fill(mix)
            got_b, got_h = len(fill["cx"]), int(fill["hh"].sum())
            err = abs(got_b / n_b - 1) + 0.5 * abs(got_h / n_h - 1)
            if found is None or err < found[0]:
                found = (err, s, mix, fill)
            if abs(got_b / n_b - 1) <= 0.02 and abs(got_h / n_h - 1) <= 0.04:
                break
            rho, hh = self._type_stats(fill)
            new_mix = self._solve_mix(rho, hh, n_h / n_b)
            density = float((new_mix * rho).sum()) / max(float((mix * rho).sum()), 1e-12)
            s *= math.sqrt(n_b / max(got_b * density, 1.0))
            mix = new_mix
        _, self.s, self.mix, self.fill0 = found
        self._lattice(self.s)

    def _grid_layout(self, nx: int, ny: int) -> dict[str, Any]:
        p = self.p
        rng = self.p.rng("layout")
        n_comm = p.communities
        if n_comm > nx * ny:
            raise ValueError(f"{n_comm} communities do not fit in {nx * ny} blocks")
        cy = int(np.clip(round(math.sqrt(n_comm * ny / nx)), 1, min(n_comm, ny)))
        while math.ceil(n_comm / cy) > nx:
            cy += 1
        per_band = np.full(cy, n_comm // cy)
        per_band[rng.permutation(cy)[: n_comm % cy]] += 1
        heights = split_evenly(ny, cy, rng)
        comm = np.empty((nx, ny), np.int64)
        rects = []
        j0 = 0
        for b in range(cy):
            i0 = 0
            for wdt in split_evenly(nx, int(per_band[b]), rng):
                comm[i0 : i0 + wdt, j0 : j0 + heights[b]] = len(rects)
                rects.append((i0, int(j0), int(wdt), int(heights[b])))
                i0 += wdt
            j0 += heights[b]
        # communities numbered from the north-west, in reading order
        order = sorted(range(len(rects)), key=lambda k: (-(rects[k][1] + rects[k][3]), rects[k][0]))
        remap = np.empty(len(rects), np.int64)
        remap[order] = np.arange(len(rects))
        comm = remap[comm]
        rects = [rects[k] for k in order]

        shapes = ((1, 1), (2, 1), (1, 2), (2, 2))
        choice = rng.choice(4, size=nx * ny, p=np.asarray(p.grid_shapes) / sum(p.grid_shapes))
        gid = np.full((nx, ny), -1, np.int64)
        grids: list[list[int]] = []
        for j in range(ny):
            for i in range(nx):
                if gid[i, j] >= 0:
                    continue
                w, h = shapes[choice[i * ny + j]]
                c = comm[i, j]
                while True:
                    fits = i + w <= nx and j + h <= ny
                    if fits:
                        block = (slice(i, i + w), slice(j, j + h))
                        fits = bool((gid[block] < 0).all() and (comm[block] == c).all())
                    if fits:
                        break
                    if w >= h and w > 1:
                        w -= 1
                    else:
                        h -= 1
                gid[i : i + w, j : j + h] = len(grids)
                grids.append([int(c), i, j, w, h, -1])

        singles = [k for k, g in enumerate(grids) if g[3] == 1 and g[4] == 1]
        multi = [k for k, g in enumerate(grids) if g[3] * g[4] > 1]
        rng.shuffle(multi)
        while len(singles) < p.straddling and multi:  # break grids up into blocks
            c, i0, j0, w, h, _ = grids[multi.pop()]
            for di, dj in itertools.product(range(w), range(h)):
                if di or dj:
                    gid[i0 + di, j0 + dj] = len(grids)
                    grids.append([c, i0 + di, j0 + dj, 1, 1, -1])
                    singles.append(len(grids) - 1)
            grids[gid[i0, j0]][3:5] = [1, 1]
            singles.append(int(gid[i0, j0]))
        n_split = min(len(singles), max(p.straddling, round(p.split_block_share * nx * ny)))
        if n_split < p.straddling:
            raise ValueError("too few blocks to plant straddling buildings")
        split = set(rng.choice(singles, n_split, replace=False).tolist()) if n_split else set()
        final: list[list[int]] = []
        for k, g in enumerate(grids):
            if k in split:
                final.append([*g[:5], 0])
                final.append([*g[:5], 1])
            else:
                final.append(g)
        final.sort(key=lambda g: (g[0], -(g[2] + g[4]), g[1], g[5]))
        arr = np.array(final, np.int64)
        cellgrid = np.empty((2 * nx, ny), np.int64)
        for k, (_, i, j, w, h, half) in enumerate(final):
            if half < 0:
                cellgrid[2 * i : 2 * (i + w), j : j + h] = k
            else:
                cellgrid[2 * i + half, j] = k
        split_blocks = [
            (int(arr[k, 1]), int(arr[k, 2]), k, k + 1) for k in range(len(final)) if arr[k, 5] == 0
        ]
        order = rng.permutation(len(split_blocks))
        split_blocks = [split_blocks[k] for k in order]
        return {
            "nx": nx,
            "ny": ny,
            "comm": comm,
            "comm_rects": rects,
            "grids": arr,
            "cellgrid": cellgrid,
            "split_blocks": split_blocks,
            "n_grids": len(final),
        }

    def _lattice(self, s: float) -> None:
        """Street lattice for block size ``s`` (lattice frame, metres, origin at centre)."""
        p = self.p
        rng = self.p.rng("lattice")
        nx, ny = self.nx, self.ny
        fx = rng.uniform(0.75, 1.35, nx)
        fy = rng.uniform(0.7, 1.3, ny)
        jit = rng.normal(0.0, 0.03, (nx + 1, ny + 1, 2)).clip(-0.06, 0.06)
        self.hw_v = self._street_halfwidths(rng, nx + 1)
        self.hw_h = self._street_halfwidths(rng, ny + 1)
        self.setback = rng.uniform(3.0, 8.0, nx * ny)
        self.lane = rng.uniform(6.0, 10.0, nx * ny)
        rot = rng.uniform(-12.0, 12.0)
        self.rotation = math.radians(rot if p.rotation_deg is None else p.rotation_deg)
        names = [b + sfx for sfx in self.words.street_suffixes for b in self.words.street_bases]
        pick = rng.permutation(len(names))[: nx + ny + 2] % len(names)
        self.street_v = [names[k] for k in pick[: nx + 1]]
        self.street_h = [names[k] for k in pick[nx + 1 : nx + ny + 2]]

        xs = np.concatenate([[0.0], np.cumsum(fx * s)])
        ys = np.concatenate([[0.0], np.cumsum(fy * s)])
        xs -= xs[-1] / 2
        ys -= ys[-1] / 2
        nodes = np.stack(np.meshgrid(xs, ys, indexing="ij"), axis=-1) + jit * s
        self.nodes = nodes
        fine = np.empty((2 * nx + 1, 2 * ny + 1, 2))
        fine[::2, ::2] = nodes
        fine[1::2, ::2] = (nodes[:-1] + nodes[1:]) / 2
        fine[::2, 1::2] = (nodes[:, :-1] + nodes[:, 1:]) / 2
        fine[1::2, 1::2] = (nodes[:-1, :-1] + nodes[1:, :-1] + nodes[:-1, 1:] + nodes[1:, 1:]) / 4
        self.fine = fine
        ii, jj = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
        self.bi, self.bj = ii.ravel(), jj.ravel()  # block b = i * ny + j
        self.P00 = nodes[self.bi, self.bj]
        self.P10 = nodes[self.bi + 1, self.bj]
        self.P01 = nodes[self.bi, self.bj + 1]
        self.P11 = nodes[self.bi + 1, self.bj + 1]
        d1 = self.P11 - self.P00
        d2 = self.P01 - self.P10
        self.block_area = 0.5 * np.abs(d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0])

    @staticmethod
    def _street_halfwidths(rng: np.random.Generator, n: int) -> np.ndarray:
        cls = np.where(rng.random(n) < 0.5, 1, 0)
        k = int(rng.integers(0, 4))
        while k < n:
            cls[k] = 2
            k += int(rng.integers(4, 7))
        cls[0] = cls[-1] = 2
        if n >= 3 and not (cls[1:-1] == 2).any():
            cls[n // 2] = 2
        lo = np.array([4.5, 8.0, 14.0])[cls]
        hi = np.array([6.5, 12.0, 20.0])[cls]
        return lo + rng.random(n) * (hi - lo)

    def _mix(self, q: float) -> np.ndarray:
        built = 1.0 - self.p.open_parcel_share
        return np.concatenate(
            [[self.p.open_parcel_share, built * (1 - q)], built * q * _NONLANE_WEIGHTS]
        )

    def _solve_mix(self, rho: np.ndarray, hh: np.ndarray, r: float) -> np.ndarray:
        """Share of non-lane parcels that gives ``r`` households per building."""
        a, b = rho[1] * hh[1], rho[1]
        c = float((_NONLANE_WEIGHTS * rho[2:] * hh[2:]).sum())
        d = float((_NONLANE_WEIGHTS * rho[2:]).sum())
        denom = (c - a) - r * (d - b)
        q = (r * b - a) / denom if denom > 0 else 0.0
        return self._mix(float(np.clip(q, 0.01, 0.95)))

    def _type_stats(self, fill: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        prior_area = 20_000.0
        area = np.bincount(fill["parcel_type"], weights=fill["parcel_area"], minlength=5)
        n = np.bincount(fill["type"], minlength=5).astype(float)
        hh = np.bincount(fill["type"], weights=fill["hh"], minlength=5)
        rho = (n + _RHO_PRIOR * prior_area) / (area + prior_area)
        hpb = (hh + _HH_PRIOR * 5) / (n + 5)
        rho[0] = 0.0
        return rho, hpb

    def _fill(self, mix: np.ndarray) -> dict[str, np.ndarray]:
        """Rows of buildings inside every block, by parcel type (lattice frame)."""
        rng = self.p.rng("fill")
        nb = self.nx * self.ny
        forced = np.zeros(nb, bool)
        for i, j, _, _ in self.lay["split_blocks"]:
            forced[i * self.ny + j] = True
        two = forced | (rng.random(nb) < self.p.parcel_split_share)
        u_type = rng.random((nb, 2))
        u_depth = rng.random((nb, 2))
        u_space = rng.random((nb, 2))
        u_off = rng.random((nb, 2))
        # parcels: (block, side) with side -1 whole block, 0 west half, 1 east half
        pb = np.concatenate([np.flatnonzero(~two), np.flatnonzero(two), np.flatnonzero(two)])
        side = np.concatenate(
            [np.full((~two).sum(), -1), np.zeros(two.sum(), int), np.ones(two.sum(), int)]
        )
        k = np.maximum(side, 0)
        ptype = np.searchsorted(np.cumsum(mix), u_type[pb, k] * mix.sum(), side="right")
        ptype = np.minimum(ptype, 4)
        depth = _DEPTH[ptype, 0] + u_depth[pb, k] * (_DEPTH[ptype, 1] - _DEPTH[ptype, 0])
        spacing = _SPACING[ptype, 0] + u_space[pb, k] * (_SPACING[ptype, 1] - _SPACING[ptype, 0])
        s_lo = np.where(side == 1, 0.5, 0.0)
        s_hi = np.where(side == 0, 0.5, 1.0)
        parcel_area = self.block_area[pb] * (s_hi - s_lo)

        bi, bj = self.bi[pb], self.bj[pb]
        safety = 1.5
        setback = self.setback[pb]
        mb = self.hw_h[bj] + setback + safety
        mt = self.hw_h[bj + 1] + setback + safety
        ml = self.hw_v[bi] + setback + safety
        mr = self.hw_v[bi + 1] + setback + safety
        h_left = np.linalg.norm(self.P01[pb] - self.P00[pb], axis=1)
        h_right = np.linalg.norm(self.P11[pb] - self.P10[pb], axis=1)
        h_min = np.minimum(h_left, h_right)
        usable = h_min - mb - mt
        pitch = depth + spacing
        n_rows = np.floor((usable + spacing) / pitch).astype(np.int64)
        n_rows = np.where(ptype == 0, 0, np.maximum(n_rows, 0))
        leftover = usable - (n_rows * pitch - spacing)
        offset = leftover * (0.2 + 0.6 * u_off[pb, k])

        # rows
        rp = np.repeat(np.arange(len(pb)), n_rows)
        rk = ranks_in_groups(n_rows)
        tau = (mb[rp] + offset[rp] + rk * pitch[rp] + depth[rp] / 2) / h_min[rp]
        b_r = pb[rp]
        lp = self.P00[b_r] + tau[:, None] * (self.P01[b_r] - self.P00[b_r])
        rpnt = self.P10[b_r] + tau[:, None] * (self.P11[b_r] - self.P10[b_r])
        length = np.linalg.norm(rpnt - lp, axis=1)
        u = (rpnt - lp) / length[:, None]
        lane_half = self.lane[b_r] / 2
        a0 = np.where(side[rp] == 1, 0.5 * length + lane_half, ml[rp])
        a1 = np.where(side[rp] == 0, 0.5 * length - lane_half, length - mr[rp])
        seg = a1 - a0
        rtype = ptype[rp]

        # buildings along each row
        min_pitch = _WIDTH[rtype, 0] + _GAP[rtype, 0]
        kmax = int(np.ceil((np.maximum(seg, 0) / min_pitch).max(initial=0))) + 1
        nr = len(rp)
        wlo, whi = _WIDTH[rtype, 0][:, None], _WIDTH[rtype, 1][:, None]
        glo, ghi = _GAP[rtype, 0][:, None], _GAP[rtype, 1][:, None]
        widths = wlo + rng.random((nr, kmax)) * (whi - wlo)
        gaps = glo + rng.random((nr, kmax)) * (ghi - glo)
        step = widths + gaps
        left = np.cumsum(step, axis=1) - step
        right = left + widths
        valid = right <= seg[:, None]
        count = valid.sum(axis=1)
        last = np.where(count > 0, right[np.arange(nr), np.maximum(count - 1, 0)], 0.0)
        shift = (seg - last) * rng.random(nr)
        row_of, col_of = np.nonzero(valid)
        w = widths[row_of, col_of]
        pos = a0[row_of] + shift[row_of] + left[row_of, col_of] + w / 2
        centre = lp[row_of] + pos[:, None] * u[row_of]
        btype = rtype[row_of]
        d = depth[rp][row_of]
        floors, units, doors = self._attributes(btype, w)
        return {
            "parcel_type": ptype,
            "parcel_area": parcel_area,
            "cx": centre[:, 0],
            "cy": centre[:, 1],
            "ux": u[row_of, 0],
            "uy": u[row_of, 1],
            "w": w,
            "d": d,
            "type": btype,
            "block": b_r[row_of],
            "side": (pos >= 0.5 * length[row_of]).astype(np.int64),
            "row": rk[row_of],
            "pos": pos,
            "floors": floors,
            "units": units,
            "doors": doors,
            "hh": floors * units * doors,
        }

    def _attributes(self, btype: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, ...]:
        rng = self.p.rng("attrs")
        n = len(btype)
        u1, u2, u3 = rng.random(n), rng.random(n), rng.random(n)
        floors = np.select(
            [btype == 1, btype == 2, btype == 3],
            [
                np.where(u1 < 0.35, 2, np.where(u1 < 0.95, 3, 4)),
                np.where(u1 < 0.3, 2, np.where(u1 < 0.8, 3, 4)),
                np.where(u1 < 0.15, 5, np.where(u1 < 0.85, 6, 7)),
            ],
            11 + np.floor(u1 * 23),
        ).astype(np.int64)
        units = np.select(
            [btype == 3, btype == 4],
            [np.clip(np.round(w / 14), 2, 4), np.where(u2 < 0.6, 1, 2)],
            1,
        ).astype(np.int64)
        doors = np.select(
            [btype == 1, btype == 2, btype == 3],
            [np.where(u3 < 0.7, 1, 2), np.where(u3 < 0.6, 1, 2), np.full(n, 2)],
            np.where(u3 < 0.35, 2, 4),
        ).astype(np.int64)
        return floors, units, doors

    # ---------------------------------------------------------------- buildings ---------

    def buildings(self) -> None:
        self.b = self.fill0
        del self.fill0, self.b["parcel_type"], self.b["parcel_area"]

    def _block_candidates(self, blocks: list[int]) -> np.ndarray:
        return np.flatnonzero(np.isin(self.b["block"], blocks))

    def _polys(self, idx: np.ndarray) -> np.ndarray:
        b = self.b
        return shapely.polygons(
            rectangle_corners(
                b["cx"][idx], b["cy"][idx], b["ux"][idx], b["uy"][idx], b["w"][idx], b["d"][idx]
            )
        )

    def _drop_intersecting(self, geom: shapely.Geometry, blocks: list[int]) -> None:
        idx = self._block_candidates(blocks)
        if len(idx) == 0:
            return
        hit = idx[shapely.intersects(self._polys(idx), geom)]
        if len(hit):
            keep = np.ones(len(self.b["cx"]), bool)
            keep[hit] = False
            self.b = {k: v[keep] for k, v in self.b.items()}

    def _append_building(self, **fields: Any) -> None:
        for key, value in fields.items():
            self.b[key] = np.concatenate(
                [self.b[key], np.asarray([value], dtype=self.b[key].dtype)]
            )

    def geometry_defects(self) -> None:
        """Gap, sliver, overlap, straddling buildings and a building outside every grid."""
        p = self.p
        rng = self.p.rng("defects")
        lay = self.lay
        cellgrid = lay["cellgrid"]
        nx, ny = self.nx, self.ny
        self.b["grid"] = np.full(len(self.b["cx"]), -1, np.int64)
        self.b["planted"] = np.zeros(len(self.b["cx"]), np.int64)  # 2 in gap, 10 + k straddler k

        # street edges shared by two different grids: (f0, f1, fine nodes along the ring
        # of grid a, whose interior lies to the left), a, b, street half-width, blocks
        cands = []
        split_grids = {g for _, _, gl, gr in lay["split_blocks"][: p.straddling] for g in (gl, gr)}
        for i in range(1, nx):  # north–south streets: a west, b east
            for j in range(ny):
                a, b = int(cellgrid[2 * i - 1, j]), int(cellgrid[2 * i, j])
                if a != b:
                    blocks = [(i - 1) * ny + j, i * ny + j]
                    cands.append(
                        ((2 * i, 2 * j), (2 * i, 2 * j + 2), a, b, self.hw_v[i], blocks, "v")
                    )
        for j in range(1, ny):  # east–west streets: a south, b north
            for i in range(nx):
                south, north = cellgrid[2 * i : 2 * i + 2, j - 1], cellgrid[2 * i : 2 * i + 2, j]
                a, b = int(south[0]), int(north[0])
                if a != b and south[1] == a and north[1] == b:
                    blocks = [i * ny + j - 1, i * ny + j]
                    cands.append(
                        ((2 * i + 2, 2 * j), (2 * i, 2 * j), a, b, self.hw_h[j], blocks, "h")
                    )
        order = rng.permutation(len(cands))
        hw = np.array([cands[k][4] for k in order])
        order = order[np.argsort(-np.round(hw / 4), kind="stable")]  # wide streets first
        chosen: list[tuple] = []
        used: set[int] = set()
        for strict in (2, 1, 0):
            for k in order:
                cand = cands[k]
                a, b = cand[2], cand[3]
                if len(chosen) == 3:
                    break
                if any(cand is c or a == c[2] for c in chosen):
                    continue  # each edited grid is edited once
                if strict >= 1 and (a in used or b in used):
                    continue
                if strict == 2 and (a in split_grids or b in split_grids):
                    continue
                chosen.append(cand)
                used.update((a, b))
        if len(chosen) < 3:
            raise ValueError("too few shared grid edges to plant gap, sliver and overlap")
        kinds = ("gap", "overlap", "sliver")
        self.ring_edits: dict[int, tuple[tuple[int, int], list[np.ndarray]]] = {}
        self.defect_polys: dict[str, np.ndarray] = {}
        for kind, (f0, f1, a, b, _, blocks, orient) in zip(kinds, chosen, strict=True):
            n0, n1 = self.fine[f0], self.fine[f1]
            e = n1 - n0
            e_len = float(np.hypot(*e))
            nl = np.array([-e[1], e[0]]) / e_len  # points into grid a
            pa_, pb_ = n0 + 0.15 * e, n0 + 0.85 * e
            if kind == "gap":
                wdt = float(p.gap_width_m)
                inner = [pa_ + wdt * nl, pb_ + wdt * nl]
                strip = np.array([pa_, pb_, inner[1], inner[0]])
                self.ring_edits[a] = (f0, [pa_, inner[0], inner[1], pb_])
                info = {"grids": [a, b], "width_m": wdt, "area_m2": 0.7 * e_len * wdt}
                # a small building (门卫室) inside the strip, in no grid
                depth = min(4.0, 0.5 * wdt)
                c = (pa_ + pb_) / 2 + (wdt / 2) * nl
                self._drop_intersecting(shapely.Polygon(strip).buffer(1.0), blocks)
                self._append_building(
                    cx=c[0], cy=c[1], ux=e[0] / e_len, uy=e[1] / e_len, w=10.0, d=depth,
                    type=2, block=blocks[0], side=1, row=0, pos=0.0,
                    floors=1, units=1, doors=1, hh=1, grid=-1, planted=2,
                )  # fmt: skip
                line = f0[0] // 2 if orient == "v" else f0[1] // 2
                self.gap_street = (self.street_v if orient == "v" else self.street_h)[line]
                self.gap_along = float(c[1] if orient == "v" else c[0])
            elif kind == "overlap":
                dep = float(p.overlap_depth_m)
                outer = [pa_ - dep * nl, pb_ - dep * nl]
                strip = np.array([pa_, pb_, outer[1], outer[0]])
                self.ring_edits[a] = (f0, [pa_, outer[0], outer[1], pb_])
                info = {"grids": [a, b], "depth_m": dep, "area_m2": 0.7 * e_len * dep}
                self._drop_intersecting(shapely.Polygon(strip).buffer(1.0), blocks)
            else:
                wdt = float(p.sliver_width_m)
                apex = (n0 + n1) / 2 + wdt * nl
                strip = np.array([pa_, pb_, apex])
                self.ring_edits[a] = (f0, [pa_, apex, pb_])
                info = {"grids": [a, b], "width_m": wdt, "area_m2": 0.5 * 0.7 * e_len * wdt}
            self.defect_polys[kind] = strip
            self.defects[kind] = info

        # straddling buildings: a slab across the lane that splits a block between grids
        share = float(p.straddle_share)
        self.straddlers: list[tuple[int, int]] = []
        for i, j, gl, gr in lay["split_blocks"][: p.straddling]:
            b = i * ny + j
            tau = 0.5
            lp = self.P00[b] + tau * (self.P01[b] - self.P00[b])
            rp = self.P10[b] + tau * (self.P11[b] - self.P10[b])
            length = float(np.hypot(*(rp - lp)))
            u = (rp - lp) / length
            w = float(rng.uniform(26.0, 34.0))
            c = lp + (0.5 * length - (share - 0.5) * w) * u
            poly = shapely.Polygon(
                rectangle_corners(*c[:, None], *u[:, None], np.array([w]), np.array([12.0]))[0]
            )
            self._drop_intersecting(poly.buffer(4.0), [b])
            self._append_building(
                cx=c[0], cy=c[1], ux=u[0], uy=u[1], w=w, d=12.0, type=3, block=b, side=0,
                row=1, pos=0.5 * length, floors=6, units=2, doors=2, hh=24, grid=gl,
                planted=10 + len(self.straddlers),
            )  # fmt: skip
            self.straddlers.append((gl, gr))

        # every other building: grid of its half block
        b = self.b
        normal = b["planted"] == 0
        bi, bj = self.bi[b["block"]], self.bj[b["block"]]
        b["grid"] = np.where(normal, cellgrid[2 * bi + b["side"], bj], b["grid"])
        b["community"] = lay["comm"][bi, bj]

        # sort: community, then grid (the building in the gap last in its community)
        gkey = np.where(b["grid"] < 0, self.n_grids, b["grid"])
        order = np.lexsort((b["pos"], b["row"], b["side"], bi, -bj, gkey, b["community"]))
        self.b = {k: v[order] for k, v in b.items()}
        self.nb = len(order)

    # ---------------------------------------------------------------- households --------

    def households(self) -> None:
        rng = self.p.rng("households")
        b = self.b
        units, floors, doors = b["units"], b["floors"], b["doors"]
        hh = units * floors * doors
        b["hh"] = hh
        self.hh_ptr = np.concatenate([[0], np.cumsum(hh)])
        owner = np.repeat(np.arange(self.nb), hh)
        q = ranks_in_groups(hh)
        per_unit = (floors * doors)[owner]
        unit = q // per_unit + 1
        rem = q % per_unit
        floor = rem // doors[owner] + 1
        door = rem % doors[owner] + 1
        n = len(owner)
        # point inside the building: along the long axis by unit and door, across by door
        w, d = b["w"][owner], b["d"][owner]
        nu, nd = units[owner], doors[owner]
        unit_w = w / nu
        along = -w / 2 + (unit - 0.5) * unit_w + (door - (nd + 1) / 2) * unit_w / (nd + 1) * 0.8
        across = np.where(door % 2 == 1, -0.22, 0.22) * d
        along = along + rng.normal(0, 0.4, n)
        across = across + rng.normal(0, 0.4, n)
        along = np.clip(along, -w / 2 + 0.6, w / 2 - 0.6)
        across = np.clip(across, -d / 2 + 0.6, d / 2 - 0.6)
        ux, uy = b["ux"][owner], b["uy"][owner]
        self.hx = b["cx"][owner] + along * ux - across * uy
        self.hy = b["cy"][owner] + along * uy + across * ux
        self.h_building = owner
        self.h_unit = unit.astype(np.int32)
        self.h_floor = floor.astype(np.int32)
        self.h_room = (floor * 100 + door).astype(np.int32)
        size = rng.choice(np.arange(1, 7), n, p=[0.15, 0.30, 0.30, 0.15, 0.07, 0.03])
        self.h_size = size
        self.h_size_missing = rng.random(n) < 0.02
        self.nh = n

    # ---------------------------------------------------------------- people ------------

    def people(self) -> None:
        rng = self.p.rng("people")
        n_comm, n_grids = self.n_comm, self.n_grids
        grids = self.lay["grids"]
        g_comm = grids[:, 0]

        # organisations: one of each community + partner units for 1–3 adjacent grids
        org_kind, org_comm, org_grids = [], [], []
        g_org = np.empty(n_grids, np.int64)
        for c in range(n_comm):
            org_kind.append("community")
            org_comm.append(c)
            org_grids.append([])
            gs = np.flatnonzero(g_comm == c)
            k = 0
            while k < len(gs):
                size = int(rng.choice([1, 2, 3], p=[0.5, 0.35, 0.15]))
                group = gs[k : k + size]
                g_org[group] = len(org_kind)
                org_kind.append("partner_unit")
                org_comm.append(c)
                org_grids.append(group.tolist())
                k += size
        # planted: a partner unit with no grid, and a grid with two organisations
        c_nogrid = int(rng.integers(0, n_comm))
        self.org_nogrid = len(org_kind)
        org_kind.append("partner_unit")
        org_comm.append(c_nogrid)
        org_grids.append([])
        partner_grid_orgs = [(g, int(g_org[g])) for g in range(n_grids)]
        pairs = np.unique(np.stack([g_comm, g_org]), axis=1)  # (community, org) with grids
        multi = np.bincount(pairs[0], minlength=n_comm) >= 2
        choices = np.flatnonzero(multi[g_comm])
        g2 = int(rng.choice(choices)) if len(choices) else 0
        others = sorted(set(g_org[g_comm == g_comm[g2]].tolist()) - {int(g_org[g2])})
        if not others:  # the whole community is one organisation: borrow another one
            others = sorted(set(g_org.tolist()) - {int(g_org[g2])})
        o2 = int(rng.choice(others))
        partner_grid_orgs.append((g2, o2))
        self.defects["grid_with_two_organisations"] = {
            "grid": g2,
            "organisations": [int(g_org[g2]), o2],
        }
        self.org_kind = np.array(org_kind)
        self.org_comm = np.array(org_comm, np.int64)
        self.g_org = g_org
        self.org_grid_pairs = np.array(partner_grid_orgs, np.int64)
        self.n_org = len(org_kind)
        comm_org = np.flatnonzero(self.org_kind == "community")  # index = community

        # leaders: county-level, each linked to one or two communities
        n_leaders = max(1, math.ceil(n_comm * 0.6))
        leader_of = rng.permutation(n_comm) % n_leaders
        # planted: one community without a linked leader (prefer a leader with two)
        counts = np.bincount(leader_of, minlength=n_leaders)
        cand = np.flatnonzero(counts[leader_of] > 1)
        c_noleader = int(rng.choice(cand)) if len(cand) else int(rng.integers(0, n_comm))
        self.leader_links = np.array(
            [(leader_of[c], c) for c in range(n_comm) if c != c_noleader], np.int64
        ).reshape(-1, 2)
        self.c_noleader = c_noleader

        # cadres (3–8 per community) and grid workers (one per 1–2 grids)
        n_cadres = 3 + np.minimum(rng.poisson(2.0, n_comm), 5)
        cadre_comm = np.repeat(np.arange(n_comm), n_cadres)
        worker_grids: list[list[int]] = []
        for c in range(n_comm):
            gs = np.flatnonzero(g_comm == c)
            k = 0
            while k < len(gs):
                size = 2 if (rng.random() < 0.2 and k + 1 < len(gs)) else 1
                worker_grids.append(gs[k : k + size].tolist())
                k += size
        wg1 = np.array([g[0] for g in worker_grids], np.int64)
        wg2 = np.array([g[-1] for g in worker_grids], np.int64)
        self.wg1, self.wg2 = wg1, wg2
        g_worker = np.empty(n_grids, np.int64)
        g_worker[wg1] = np.arange(len(wg1))
        g_worker[wg2] = np.arange(len(wg2))

        self.n_leaders, self.n_cadres, self.n_workers = n_leaders, len(cadre_comm), len(wg1)
        self.cadre_comm = cadre_comm
        self.comm_org = comm_org
        # member index ranges: leaders, cadres, workers, partner members (set later)
        self.off_cadre = n_leaders
        self.off_worker = n_leaders + len(cadre_comm)
        self.off_member = self.off_worker + len(wg1)
        self.g_worker_member = self.off_worker + g_worker

    # ---------------------------------------------------------------- assignments -------

    def assignments(self) -> None:
        p = self.p
        rng = self.p.rng("assign")
        b = self.b
        nb = self.nb
        hh = b["hh"]
        grid = b["grid"]
        eligible = grid >= 0
        big = hh > p.big_building_households
        if not big[eligible].any():  # no big building: share out the largest ones
            big = hh >= hh[eligible].max(initial=0)
        n_items = np.where(eligible, np.where(big, hh, 1), 0)
        item_b = np.repeat(np.arange(nb), n_items)
        within = ranks_in_groups(n_items)
        item_hh = big[item_b]
        weight = np.where(item_hh, 1, hh[item_b])
        item_grid = grid[item_b]
        # chunk each grid's items into members of about T households
        lo, hi = p.member_households
        target = rng.uniform(lo, hi, self.n_grids)
        cw = np.cumsum(weight)
        start = cw - weight
        first = np.searchsorted(item_grid, np.arange(self.n_grids))
        base = start[np.minimum(first, len(start) - 1)]
        chunk = np.floor((start - base[item_grid]) / target[item_grid]).astype(np.int64)
        key = item_grid * (chunk.max(initial=0) + 1) + chunk
        runs = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
        run_total = np.add.reduceat(weight, runs) if len(runs) else np.array([], np.int64)
        run_grid = item_grid[runs]
        first_in_grid = np.concatenate([[True], run_grid[1:] != run_grid[:-1]])
        min_hh = p.min_member_households
        rid = np.arange(len(runs))
        keep = (run_total >= min_hh) | first_in_grid
        tgt = np.maximum.accumulate(np.where(keep, rid, 0))
        totals = np.bincount(tgt, weights=run_total, minlength=len(runs))
        # a small first run joins the next kept run of the same grid
        nxt = np.minimum.accumulate(np.where(keep, rid, len(runs))[::-1])[::-1]
        nxt_after = np.concatenate([nxt[1:], [len(runs)]])
        small_first = first_in_grid & (totals < min_hh)
        ok = small_first & (nxt_after < len(runs))
        ok[ok] = run_grid[nxt_after[ok]] == run_grid[ok]
        redirect = rid.copy()
        redirect[ok] = nxt_after[ok]
        tgt = redirect[tgt]
        run_member = np.unique(tgt, return_inverse=True)[1]
        member = np.repeat(run_member, np.diff(np.concatenate([runs, [len(key)]])))

        # planted: members with fewer than 10 households (split off a member's first items)
        n_mem = int(member.max(initial=-1)) + 1
        mstart = np.searchsorted(member, np.arange(n_mem))
        mcw = cw - (cw - weight)[mstart][member]  # cumulative weight within member, inclusive
        mtotal = np.bincount(member, weights=weight, minlength=n_mem)
        cand = np.flatnonzero(mtotal >= 20)
        n_plant = min(len(cand), max(1, round(p.under10_share * n_mem)))
        planted = rng.choice(cand, n_plant, replace=False) if n_plant else np.array([], np.int64)
        kcut = np.zeros(n_mem, np.int64)
        kcut[planted] = rng.integers(3, 10, n_plant)
        split_off = mcw <= kcut[member]
        member = np.unique(member * 2 + np.where(split_off, 0, 1), return_inverse=True)[1]
        n_mem = int(member.max(initial=-1)) + 1

        m_grid = np.zeros(n_mem, np.int64)
        m_grid[member] = item_grid
        # planted: buildings with no responsible member (about 2 %)
        bstatus = np.zeros(nb, np.int64)  # 1 unassigned, 2 double, 3 expired
        pool = eligible & (b["planted"] == 0)
        if big[eligible].sum() < 20:  # keep the few shared-out buildings assigned
            pool &= ~big
        pool = np.flatnonzero(pool)
        n_un = max(1, round(p.unassigned_share * nb))
        unassigned = rng.choice(pool, min(n_un, len(pool)), replace=False)
        bstatus[unassigned] = 1
        keep_item = bstatus[item_b] != 1
        item_b, within, item_hh, member, item_grid = (
            item_b[keep_item], within[keep_item], item_hh[keep_item], member[keep_item], item_grid[keep_item]
        )  # fmt: skip
        # doubles (~1 %) and expired previous assignments (~0.5 %): small buildings only
        small_items = np.flatnonzero(~item_hh)
        sb = item_b[small_items]
        sm = member[small_items]
        nbr = np.where(sm > 0, sm - 1, sm + 1)
        nbr_ok = (nbr < n_mem) & (m_grid[np.minimum(nbr, n_mem - 1)] == m_grid[sm]) & (nbr != sm)
        cand = np.flatnonzero(nbr_ok & (b["planted"][sb] == 0))
        n_dbl = min(len(cand), max(1, round(p.double_share * nb)))
        n_exp = min(len(cand) - n_dbl, max(1, round(p.expired_share * nb)))
        pick = rng.choice(cand, n_dbl + n_exp, replace=False)
        dbl, exp = pick[:n_dbl], pick[n_dbl:]

        # members: partner members get the org of their grid; the no-grid org gets three
        n_nogrid = 3
        self.m_org = np.concatenate([self.g_org[m_grid], np.full(n_nogrid, self.org_nogrid)])
        self.m_grid = np.concatenate([m_grid, np.full(n_nogrid, -1)])
        self.n_partner = n_mem + n_nogrid
        off = self.off_member
        start_day = (p.start - dt.date(1970, 1, 1)).days
        m_since = start_day - rng.integers(0, 200, self.n_partner)

        # assignment rows: kind, member, org, community, grid, building, household, from, to
        rows: list[dict[str, np.ndarray]] = []

        def add(kind, n, **cols):
            row = {"kind": np.full(n, kind)}
            for col in ("member", "org", "community", "grid", "building", "household"):
                row[col] = np.asarray(cols.get(col, np.full(n, -1)), np.int64)
            row["from"] = np.asarray(cols["since"], np.int64)
            row["to"] = np.asarray(cols.get("until", np.full(n, -1)), np.int64)
            rows.append(row)

        links = self.leader_links
        add("leader_community", len(links), member=links[:, 0], community=links[:, 1],
            since=start_day - rng.integers(200, 400, len(links)))  # fmt: skip
        add("cadre_community", self.n_cadres, member=self.off_cadre + np.arange(self.n_cadres),
            community=self.cadre_comm, since=start_day - rng.integers(300, 900, self.n_cadres))  # fmt: skip
        og = self.org_grid_pairs
        add("organisation_grid", len(og), org=og[:, 1], grid=og[:, 0],
            since=start_day - rng.integers(100, 400, len(og)))  # fmt: skip
        wg = np.concatenate([np.arange(self.n_workers), np.flatnonzero(self.wg2 != self.wg1)])
        wgrid = np.concatenate([self.wg1, self.wg2[self.wg2 != self.wg1]])
        order = np.argsort(wg, kind="stable")
        add("worker_grid", len(wg), member=self.off_worker + wg[order], grid=wgrid[order],
            since=start_day - rng.integers(100, 700, len(wg)))  # fmt: skip
        # member → building / household, in member order
        is_b = ~item_hh
        item_h = np.where(item_hh, self.hh_ptr[item_b] + within, -1)
        add("member_building", int(is_b.sum()), member=off + member[is_b], building=item_b[is_b],
            since=m_since[member[is_b]])  # fmt: skip
        add("member_household", int(item_hh.sum()), member=off + member[item_hh],
            household=item_h[item_hh], since=m_since[member[item_hh]])  # fmt: skip
        add(
            "member_building",
            n_dbl,
            member=off + nbr[dbl],
            building=sb[dbl],
            since=m_since[nbr[dbl]],
        )
        n_rows_before_expired = sum(len(r["kind"]) for r in rows)
        add("member_building", n_exp, member=off + nbr[exp], building=sb[exp],
            since=start_day - rng.integers(300, 700, n_exp),
            until=start_day - rng.integers(10, 200, n_exp))  # fmt: skip
        self.assign_rows = {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}
        self.expired_rows = np.arange(n_rows_before_expired, n_rows_before_expired + n_exp)
        self.double = (sb[dbl], sm[dbl], nbr[dbl])
        self.unassigned = np.sort(unassigned)

        # current households per partner member (for visits, problems and the truth)
        b_items = np.flatnonzero(is_b)
        pairs_m = [member[b_items], nbr[dbl]]
        pairs_b = [item_b[b_items], sb[dbl]]
        pm = np.concatenate(pairs_m)
        pbld = np.concatenate(pairs_b)
        cnt = hh[pbld]
        hm = np.concatenate([np.repeat(pm, cnt), member[item_hh]])
        hh_idx = np.concatenate(
            [np.repeat(self.hh_ptr[pbld], cnt) + ranks_in_groups(cnt), item_h[item_hh]]
        )
        order = np.argsort(hm, kind="stable")
        self.mh = hh_idx[order]
        self.mh_ptr = group_offsets(hm[order], self.n_partner)
        self.m_hh_count = np.diff(self.mh_ptr)
        # responsible partner member of each building (first one), -1 if none
        resp = np.full(nb, -1, np.int64)
        resp[self.h_building[hh_idx[::-1]]] = hm[::-1]
        self.assigned = np.zeros(nb, bool)
        self.assigned[self.h_building[hh_idx]] = True
        self.b_resp = resp

    # ---------------------------------------------------------------- visits ------------

    def _local_time(self, rng: np.random.Generator, n: int, weekend_weight: bool) -> np.ndarray:
        """Seconds since local midnight: mornings, afternoons and (members) evenings."""
        part = rng.choice(3, n, p=[0.4, 0.35, 0.25] if weekend_weight else [0.5, 0.5, 0.0])
        lo = np.array([9.0, 14.0, 18.5])[part]
        hi = np.array([11.5, 17.0, 20.5])[part]
        return np.round((lo + rng.random(n) * (hi - lo)) * 3600).astype(np.int64)

    def visits(self) -> None:
        p = self.p
        rng = self.p.rng("visits")
        weeks = int(p.weeks)
        b = self.b
        self.end_rel = weeks * 7 * SECONDS_PER_DAY
        self.start_day = (p.start - dt.date(1970, 1, 1)).days
        n_grids = self.n_grids
        # building ranges per grid and per community (buildings are sorted that way)
        in_grid = b["grid"] >= 0
        self.g_cnt = np.bincount(b["grid"][in_grid], minlength=n_grids)
        self.g_lo = np.zeros(n_grids, np.int64)
        uniq, first = np.unique(b["grid"][in_grid], return_index=True)
        self.g_lo[uniq] = np.flatnonzero(in_grid)[first]
        self.c_ptr = group_offsets(b["community"], self.n_comm)
        h_comm = b["community"][self.h_building]
        self.hc_ptr = group_offsets(h_comm, self.n_comm)
        unassigned = self.unassigned
        un_comm = b["community"][unassigned]
        un_ptr = group_offsets(un_comm, self.n_comm)

        parts: list[dict[str, np.ndarray]] = []

        def add(member, household, building, day, tod, kind):
            parts.append(
                {
                    "member": np.asarray(member, np.int64),
                    "household": np.asarray(household, np.int64),
                    "building": np.asarray(building, np.int64),
                    "t": np.asarray(day, np.int64) * SECONDS_PER_DAY + tod,
                    "kind": np.full(len(member), kind, np.int64),
                }
            )

        # leaders: one to three visits per linked community; one leader makes none
        links = self.leader_links
        silent = int(links[rng.integers(0, len(links)), 0]) if len(links) else -1
        self.silent_leader = silent
        nv = np.where(links[:, 0] == silent, 0, 1 + rng.binomial(2, 0.4, len(links)))
        lm = np.repeat(links[:, 0], nv)
        lc = np.repeat(links[:, 1], nv)
        lb = pick_in_ranges(rng, self.c_ptr[lc], np.diff(self.c_ptr)[lc])
        day = rng.integers(0, weeks * 7, len(lm))
        day -= np.maximum(0, (day + self.start_day + 3) % 7 - 4)  # move weekends to Friday
        day = np.maximum(day, 0)
        add(lm, np.full(len(lm), -1), lb, day, self._local_time(rng, len(lm), False), 2)

        # cadres: at least weekly; households of their community or unassigned buildings
        nc = self.n_cadres
        per = 1 + rng.poisson(0.5, (nc, weeks))
        cm = np.repeat(np.repeat(np.arange(nc), weeks), per.ravel())
        cw = np.repeat(np.tile(np.arange(weeks), nc), per.ravel())
        cc = self.cadre_comm[cm]
        n = len(cm)
        to_unassigned = (rng.random(n) < 0.3) & (np.diff(un_ptr)[cc] > 0)
        ch = pick_in_ranges(rng, self.hc_ptr[cc], np.maximum(np.diff(self.hc_ptr)[cc], 1))
        cb = self.h_building[np.minimum(ch, self.nh - 1)]
        if len(unassigned):
            k = pick_in_ranges(rng, un_ptr[cc], np.maximum(np.diff(un_ptr)[cc], 1))
            cb = np.where(to_unassigned, unassigned[np.minimum(k, len(unassigned) - 1)], cb)
        ch = np.where(to_unassigned, -1, ch)
        day = cw * 7 + rng.integers(0, 7, n)
        add(self.off_cadre + cm, ch, cb, day, self._local_time(rng, n, True), 0)

        # grid workers: one to several building rounds a week in their grids
        nw = self.n_workers
        per = 1 + rng.poisson(1.5, (nw, weeks))
        wm = np.repeat(np.repeat(np.arange(nw), weeks), per.ravel())
        ww = np.repeat(np.tile(np.arange(weeks), nw), per.ravel())
        n = len(wm)
        wgrid = np.where(rng.random(n) < 0.5, self.wg1[wm], self.wg2[wm])
        wb = pick_in_ranges(rng, self.g_lo[wgrid], np.maximum(self.g_cnt[wgrid], 1))
        day = ww * 7 + rng.integers(0, 5, n)
        add(self.off_worker + wm, np.full(n, -1), wb, day, self._local_time(rng, n, False), 1)

        # partner members: regular, irregular or never; one or more visits per active week
        npm = self.n_partner
        has = self.m_hh_count > 0
        cls = rng.choice(3, npm, p=np.asarray(p.compliance) / sum(p.compliance))
        with_hh = np.flatnonzero(has)
        if len(with_hh) >= 2:  # at least one member who never visits and one who skips
            never, skipper = rng.choice(with_hh, 2, replace=False)
            cls[never], cls[skipper] = 2, 1
        p_week = np.array([1.0, p.irregular_week_share, 0.0])[cls] * has
        extra = sum(len(x["member"]) for x in parts)
        wanted = max(p.visits - extra, 0)
        active_weeks = p_week.sum() * weeks
        lam = max(wanted / max(active_weeks, 1.0) - 1.0, 0.0)
        active = rng.random((npm, weeks)) < p_week[:, None]
        per = np.where(active, 1 + rng.poisson(lam, (npm, weeks)), 0)
        mm = np.repeat(np.repeat(np.arange(npm), weeks), per.ravel())
        mw = np.repeat(np.tile(np.arange(weeks), npm), per.ravel())
        n = len(mm)
        k = pick_in_ranges(rng, self.mh_ptr[mm], np.maximum(self.m_hh_count[mm], 1))
        mh = self.mh[np.minimum(k, len(self.mh) - 1)] if len(self.mh) else np.zeros(n, np.int64)
        mb = self.h_building[mh] if n else np.zeros(0, np.int64)
        building_only = rng.random(n) < 0.1
        mh = np.where(building_only, -1, mh)
        day = mw * 7 + rng.choice(7, n, p=[0.1, 0.1, 0.1, 0.1, 0.12, 0.28, 0.2])
        add(self.off_member + mm, mh, mb, day, self._local_time(rng, n, True), 3)

        v = {key: np.concatenate([x[key] for x in parts]) for key in parts[0]}
        parts.clear()
        order = np.lexsort((v["member"], v["t"]))
        small = ("member", "household", "building", "kind")
        v = {
            key: val[order].astype(np.int32) if key in small else val[order]
            for key, val in v.items()
        }
        del order
        n = len(v["t"])
        v["note_missing"] = rng.random(n) < 0.3
        v["gps_missing"] = rng.random(n) < p.gps_missing_share
        # GPS: near the household point, or near the building
        has_h = v["household"] >= 0
        hx = np.where(has_h, self.hx[np.maximum(v["household"], 0)], b["cx"][v["building"]])
        hy = np.where(has_h, self.hy[np.maximum(v["household"], 0)], b["cy"][v["building"]])
        spread = np.where(has_h, 6.0, 10.0)
        v["x"] = hx + rng.normal(0, 1, n) * spread
        v["y"] = hy + rng.normal(0, 1, n) * spread
        v["note_idx"] = rng.integers(0, 100, n, dtype=np.int32)
        self.v = v
        self.nv = n

        # truth: who never visits, who misses weeks
        pm = v["member"] - self.off_member
        is_pm = pm >= 0
        week = v["t"] // (7 * SECONDS_PER_DAY)
        seen = np.zeros((npm, weeks), bool)
        seen[pm[is_pm], week[is_pm]] = True
        self.m_never = ~seen.any(axis=1)
        self.m_missing_weeks = has & ~seen.all(axis=1)

    # ---------------------------------------------------------------- meetings ----------

    def meetings(self) -> None:
        p = self.p
        rng = self.p.rng("meetings")
        start = p.start
        end = start + dt.timedelta(weeks=int(p.weeks))
        months = []
        y, m = start.year, start.month
        while dt.date(y, m, 1) < end:
            first = max(dt.date(y, m, 1), start)
            last = min(dt.date(y, m, calendar.monthrange(y, m)[1]), end - dt.timedelta(days=1))
            months.append((f"{y:04d}-{m:02d}", (first - start).days, (last - start).days))
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        ng, nm = self.n_grids, len(months)
        lo = np.array([mo[1] for mo in months])
        hi = np.array([mo[2] for mo in months])
        g = np.repeat(np.arange(ng), nm)
        mi = np.tile(np.arange(nm), ng)
        n_missing = max(1, round(p.missing_meeting_share * ng * nm))
        missing = rng.choice(ng * nm, min(n_missing, ng * nm), replace=False)
        held = np.ones(ng * nm, np.int64)
        held[missing] = 0
        held[(rng.random(ng * nm) < 0.05) & (held > 0)] = 2
        g = np.repeat(g, held)
        mi = np.repeat(mi, held)
        day = lo[mi] + np.floor(rng.random(len(g)) * (hi[mi] - lo[mi] + 1)).astype(np.int64)
        order = np.lexsort((g, day))
        self.mt_grid = g[order]
        self.mt_day = self.start_day + day[order]
        n = len(g)
        self.mt_att = 5 + rng.poisson(7, n)
        self.mt_topic = rng.integers(0, len(self.words.meeting_topics), n)
        miss = np.sort(missing)
        self.missing_meetings = [(int(k // nm), months[k % nm][0]) for k in miss]

    # ---------------------------------------------------------------- problems ----------

    def problems(self) -> None:
        p = self.p
        rng = self.p.rng("problems")
        b = self.b
        n = int(p.problems)
        weeks = int(p.weeks)
        end = self.end_rel
        in_grid = np.flatnonzero(b["grid"] >= 0)
        n_hot = int(p.hotspots)
        emerge_day = round(weeks * 7 * 2 / 3)
        self.emerge_day = emerge_day
        centres = rng.choice(in_grid, n_hot, replace=False) if n_hot else np.array([], np.int64)
        extent = math.sqrt(float(self.block_area.sum()))  # side of the district, metres
        sigma = np.clip(extent * rng.uniform(0.04, 0.08, n_hot), 25.0, 2000.0)
        dominant = rng.permutation(np.tile(np.arange(len(self.words.categories)), n_hot // 6 + 1))[
            :n_hot
        ]
        if n_hot:
            dominant[-1] = self.words.categories.index(
                "安全隐患"
            )  # the emerging one: e-bike charging
        weights = rng.uniform(0.75, 1.25, n_hot)
        comp_p = np.concatenate(
            [
                [1 - p.hotspot_share if n_hot else 1.0],
                p.hotspot_share * weights / max(weights.sum(), 1e-9),
            ]
        )
        comp = rng.choice(n_hot + 1, n, p=comp_p / comp_p.sum()) - 1  # -1 background
        bld = in_grid[rng.integers(0, len(in_grid), n)]
        hot = np.flatnonzero(comp >= 0)
        if len(hot):
            k = comp[hot]
            px = b["cx"][centres[k]] + rng.normal(0, 1, len(hot)) * sigma[k]
            py = b["cy"][centres[k]] + rng.normal(0, 1, len(hot)) * sigma[k]
            tree = shapely.STRtree(shapely.points(b["cx"][in_grid], b["cy"][in_grid]))
            near = tree.query_nearest(shapely.points(px, py), all_matches=False)
            bld[hot[near[0]]] = in_grid[near[1]]
        emerging = comp == n_hot - 1 if n_hot else np.zeros(n, bool)
        lo = np.where(emerging, emerge_day * SECONDS_PER_DAY, 0)
        hi = np.full(n, end)
        # link to a visit of that building within the window
        v = self.v
        shift = np.int64(1 << 26)
        vkey = v["building"].astype(np.int64) * shift + v["t"]
        vorder = np.argsort(vkey, kind="stable")
        vkey = vkey[vorder]
        left = np.searchsorted(vkey, bld * shift + lo)
        right = np.searchsorted(vkey, bld * shift + hi)
        linked = (right > left) & (rng.random(n) < p.visit_link_share)
        k = np.minimum(
            pick_in_ranges(rng, left, np.maximum(right - left, 1)), max(len(vorder) - 1, 0)
        )
        vidx = np.where(linked, vorder[k], -1) if len(vorder) else np.full(n, -1)
        t_rand = (
            lo // SECONDS_PER_DAY
            + np.floor(rng.random(n) * (hi - lo) / SECONDS_PER_DAY).astype(np.int64)
        ) * SECONDS_PER_DAY
        t_rand += self._local_time(rng, n, False)
        t_rep = np.where(linked, v["t"][np.maximum(vidx, 0)] + rng.integers(60, 1800, n), t_rand)
        household = np.where(
            linked & (rng.random(n) < 0.75), v["household"][np.maximum(vidx, 0)], -1
        )
        household = np.where(linked, household, -1)
        cat = np.where(
            (comp >= 0) & (rng.random(n) < 0.7),
            dominant[np.maximum(comp, 0)] if n_hot else 0,
            rng.choice(len(self.words.categories), n, p=self.words.category_weights),
        )
        desc_len = np.array([len(d) for d in self.words.descriptions])
        desc = np.floor(rng.random(n) * desc_len[cat]).astype(np.int64)

        # lifecycle; joint meetings on the 9th (15:00 local) close resolved problems
        start = p.start
        nine = []
        day = start
        while (day - start).days < weeks * 7:
            if day.day == 9:
                nine.append((day - start).days * SECONDS_PER_DAY + 15 * 3600)
            day += dt.timedelta(days=1)
        nine = np.array([*nine, np.iinfo(np.int64).max // 4], np.int64)

        def next_nine(t):
            return nine[np.minimum(np.searchsorted(nine, t, side="right"), len(nine) - 1)]

        def daytime(t):  # times at night move to the next morning (09:00–11:00 local)
            tod, day = t % SECONDS_PER_DAY, t // SECONDS_PER_DAY
            morning = 9 * 3600 + rng.integers(0, 2 * 3600, len(t))
            return np.where(
                tod < 9 * 3600,
                day * SECONDS_PER_DAY + morning,
                np.where(tod > 19 * 3600, (day + 1) * SECONDS_PER_DAY + morning, t),
            )

        path = rng.choice(3, n, p=np.asarray(p.problem_paths) / sum(p.problem_paths))
        never = np.iinfo(np.int64).max // 4
        resolved = np.full(n, never)
        escalated = np.full(n, never)
        closed = np.full(n, never)
        # on site: mostly within hours
        quick = rng.random(n) < 0.7
        delay = np.where(
            quick, rng.integers(600, 4 * 3600, n), rng.integers(4 * 3600, 3 * SECONDS_PER_DAY, n)
        )
        on_site = path == 0
        resolved = np.where(on_site, daytime(t_rep + delay), resolved)
        # escalated: handed to the community within days; most solved in weeks
        esc = path == 1
        escalated = np.where(
            esc, daytime(t_rep + rng.integers(3600, 3 * SECONDS_PER_DAY, n)), escalated
        )
        solvable = rng.random(n) < 0.8
        took = np.exp(rng.normal(math.log(10 * SECONDS_PER_DAY), 0.6, n)).astype(np.int64)
        resolved = np.where(esc & solvable, daytime(escalated + took), resolved)
        escalated = np.where(escalated >= end, never, escalated)
        resolved = np.where((resolved >= end) | (esc & (escalated == never)), never, resolved)
        closed = np.where(resolved < never, next_nine(resolved), never)
        explain = esc & ~solvable & (escalated < never)
        closed = np.where(
            explain, next_nine(escalated + rng.integers(3, 20, n) * SECONDS_PER_DAY), closed
        )
        closed = np.where(closed >= end, never, closed)
        status = np.select(
            [closed < never, resolved < never, escalated < never],
            [3, np.where(esc, 2, 1), 2],
            0,
        )
        # feedback to the resident when closed (some planted without)
        fb = np.minimum(daytime(closed + rng.integers(3600, 2 * SECONDS_PER_DAY, n)), end - 60)
        fb = np.where(closed < never, fb, never)
        no_fb = (closed < never) & (rng.random(n) < p.no_feedback_share)
        fb = np.where(no_fb, never, fb)
        fb_text = np.where(explain, rng.integers(0, len(self.words.explanations), n) + len(self.words.feedback),
                           rng.integers(0, len(self.words.feedback), n))  # fmt: skip
        # responsible and deadline
        vmember = np.where(linked, v["member"][np.maximum(vidx, 0)], -1)
        bresp = np.where(self.b_resp[bld] >= 0, self.off_member + self.b_resp[bld], -1)
        comm = b["community"][bld]
        cadre_ptr = group_offsets(self.cadre_comm, self.n_comm)
        cadre = self.off_cadre + pick_in_ranges(rng, cadre_ptr[comm], np.diff(cadre_ptr)[comm])
        worker = self.g_worker_member[b["grid"][bld]]
        resp = np.select(
            [path == 1, vmember >= self.off_member, bresp >= 0],
            [np.where(rng.random(n) < 0.7, cadre, worker), vmember, bresp],
            np.where(path == 0, worker, cadre),
        )
        no_resp = rng.random(n) < p.no_responsible_share
        resp = np.where(no_resp, -1, resp)
        rep_day = (t_rep // SECONDS_PER_DAY).astype(np.int64)
        deadline = rep_day + rng.choice([7, 14, 30], n, p=[0.4, 0.4, 0.2])
        no_deadline = rng.random(n) < p.no_deadline_share

        # location: the household point, or a point inside the building
        has_h = household >= 0
        a = rng.uniform(-0.35, 0.35, n) * b["w"][bld]
        c = rng.uniform(-0.35, 0.35, n) * b["d"][bld]
        ux, uy = b["ux"][bld], b["uy"][bld]
        px = np.where(has_h, self.hx[np.maximum(household, 0)], b["cx"][bld] + a * ux - c * uy)
        py = np.where(has_h, self.hy[np.maximum(household, 0)], b["cy"][bld] + a * uy + c * ux)

        order = np.argsort(t_rep, kind="stable")
        self.pr = {
            "cat": cat, "desc": desc, "building": bld, "household": household, "visit": vidx,
            "resp": resp, "t_rep": t_rep, "deadline": deadline, "no_deadline": no_deadline,
            "status": status, "resolved": resolved, "escalated": escalated, "closed": closed,
            "fb": fb, "fb_text": fb_text, "x": px, "y": py, "comp": comp,
        }  # fmt: skip
        self.pr = {k: val[order] for k, val in self.pr.items()}
        self.never = never
        self.hot_centres = centres
        self.hot_sigma = sigma
        self.hot_cat = dominant

    # ---------------------------------------------------------------- projection --------

    def project(self) -> None:
        """Rotate the lattice frame into UTM 51N and transform everything to EPSG:4326."""
        tf_in = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
        self.x0, self.y0 = tf_in.transform(self.p.lon, self.p.lat)
        self.tf = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)
        b = self.b
        corners = rectangle_corners(b["cx"], b["cy"], b["ux"], b["uy"], b["w"], b["d"])
        lon, lat = self.lonlat(corners[..., 0].ravel(), corners[..., 1].ravel())
        coords = np.stack([lon, lat], axis=1).reshape(-1, 4, 2)
        self.b_geom = shapely.multipolygons(
            shapely.polygons(coords), indices=np.arange(len(coords))
        )
        del corners, coords
        lon, lat = self.lonlat(self.hx, self.hy)
        del self.hx, self.hy
        self.h_geom = shapely.points(lon, lat)
        v = self.v
        lon, lat = self.lonlat(v["x"], v["y"])
        geom = shapely.points(lon, lat)
        geom[v["gps_missing"]] = None
        self.v_geom = geom
        del v["x"], v["y"]
        lon, lat = self.lonlat(self.pr["x"], self.pr["y"])
        self.p_geom = shapely.points(lon, lat)

        # grids (with the planted edits) and communities, from the fine lattice
        grids = self.lay["grids"]
        rings, ring_id = [], []
        for k, (_, i, j, w, h, half) in enumerate(grids):
            if half < 0:
                nodes = ring_nodes(2 * i, 2 * (i + w), 2 * j, 2 * (j + h))
            else:
                nodes = ring_nodes(2 * i + half, 2 * i + half + 1, 2 * j, 2 * j + 2)
            xy = [self.fine[a, c] for a, c in nodes]
            if k in self.ring_edits:  # replace the edge f0 → mid → f1 by the edited one
                f0, insert = self.ring_edits[k]
                at = nodes.index(f0)
                xy = xy[: at + 1] + list(insert) + xy[at + 2 :]
            xy.append(xy[0])
            rings.append(np.array(xy))
            ring_id.append(np.full(len(xy), k))
        self.grid_geom = self._rings_to_multipolygons(rings, ring_id)
        crings, cid = [], []
        for k, (i, j, w, h) in enumerate(self.lay["comm_rects"]):
            nodes = ring_nodes(2 * i, 2 * (i + w), 2 * j, 2 * (j + h))
            xy = np.array([self.fine[a, c] for a, c in [*nodes, nodes[0]]])
            crings.append(xy)
            cid.append(np.full(len(xy), k))
        self.comm_geom = self._rings_to_multipolygons(crings, cid)

        # defect geometries and magnitudes, measured in metres
        tf_m = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
        grid_m = shapely.transform(
            self.grid_geom, lambda c: np.column_stack(tf_m.transform(c[:, 0], c[:, 1]))
        )
        for kind, strip in self.defect_polys.items():
            info = self.defects[kind]
            lon, lat = self.lonlat(strip[:, 0], strip[:, 1])
            info["geometry"] = shapely.Polygon(np.column_stack([lon, lat]))
            a, b2 = info["grids"]
            if kind == "overlap":
                area = shapely.area(shapely.intersection(grid_m[a], grid_m[b2]))
            else:
                strip_m = shapely.transform(
                    info["geometry"], lambda c: np.column_stack(tf_m.transform(c[:, 0], c[:, 1]))
                )
                area = shapely.area(strip_m)
            info["area_m2"] = round(float(area), 2)
        self.grid_m = grid_m

    def lonlat(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c, s = math.cos(self.rotation), math.sin(self.rotation)
        mx = x * c - y * s + self.x0
        my = x * s + y * c + self.y0
        return self.tf.transform(mx, my)

    def _rings_to_multipolygons(self, rings: list[np.ndarray], ids: list[np.ndarray]) -> np.ndarray:
        xy = np.concatenate(rings)
        lon, lat = self.lonlat(xy[:, 0], xy[:, 1])
        lr = shapely.linearrings(np.column_stack([lon, lat]), indices=np.concatenate(ids))
        polys = shapely.polygons(lr)
        return shapely.multipolygons(polys, indices=np.arange(len(polys)))

    # ---------------------------------------------------------------- frames ------------

    def frames(self) -> None:
        p = self.p
        rng = self.p.rng("names")
        b = self.b
        L: dict[str, Any] = {}

        # communities
        nc = self.n_comm
        cw = len(str(nc))
        c_codes = concat_text("C", decimal_text(np.arange(1, nc + 1), max(2, cw)))
        wi, vi = unique_combinations(
            rng, (len(self.words.community_words), len(self.words.community_variants)), nc
        )
        c_names = concat_text(
            take_words(self.words.community_words, wi),
            take_words(self.words.community_variants, vi),
            "社区",
        )
        L["communities"] = self._frame(
            "communities",
            {"code": c_codes, "name": c_names, "district": pa.array([p.district] * nc)},
            self.comm_geom,
        )

        # grids
        grids = self.lay["grids"]
        g_comm = grids[:, 0]
        within = ranks_in_groups(np.bincount(g_comm, minlength=nc))
        g_codes = concat_text(c_codes.take(pa.array(g_comm)), "-G", decimal_text(within + 1, 3))
        g_names = concat_text("第", decimal_text(within + 1), "网格")
        L["grids"] = self._frame(
            "grids", {"code": g_codes, "name": g_names, "community": c_codes.take(pa.array(g_comm))},
            self.grid_geom,
        )  # fmt: skip

        # buildings: address on the street south of the block, 弄 for inner rows
        nb = self.nb
        b_codes = sequential_codes("B", nb, 6)
        bi, bj = self.bi[b["block"]], self.bj[b["block"]]
        x_min, y_min = self.fine[..., 0].min() - 10, self.fine[..., 1].min() - 10
        front = (b["row"] == 0) & (b["planted"] == 0)
        house_no = 1 + 2 * np.floor((b["cx"] - x_min) / 8).astype(np.int64)
        lane_no = 1 + 2 * np.floor((self.nodes[bi, bj][:, 0] - x_min) / 8).astype(np.int64)
        # number inner buildings 1.. within their block
        inner_rank = np.zeros(nb, np.int64)
        inner = np.flatnonzero(~front)
        if len(inner):
            blk = b["block"][inner]
            o = np.argsort(blk, kind="stable")
            r = ranks_in_groups(np.unique(blk[o], return_counts=True)[1])
            inner_rank[inner[o]] = r + 1
        street_h = pa.array(self.street_h).take(pa.array(bj))
        addr_front = concat_text(street_h, decimal_text(house_no), "号")
        addr_inner = concat_text(
            street_h, decimal_text(lane_no), "弄", decimal_text(inner_rank), "号"
        )
        address = pc.if_else(pa.array(front), addr_front, addr_inner)
        gap = np.flatnonzero(b["planted"] == 2)
        if len(gap):  # the building in the gap stands on the north–south street
            no = 2 * (1 + int((self.gap_along - min(x_min, y_min)) // 8))
            address = pc.if_else(
                pa.array(np.arange(nb) == gap[0]),
                pa.scalar(f"{self.gap_street}{no}号旁", pa.large_string()),
                address,
            )
        L["buildings"] = self._frame(
            "buildings",
            {
                "code": b_codes,
                "address": address,
                "units": int_column(b["units"]),
                "households": int_column(b["hh"]),
                "floors": int_column(b["floors"]),
            },
            self.b_geom,
        )

        # households
        nh = self.nh
        h_codes = concat_text(
            b_codes.take(pa.array(self.h_building)),
            "-",
            decimal_text(self.h_unit),
            "-",
            decimal_text(self.h_room, 4),
        )
        name_missing = rng.random(nh) < 0.03
        phone_missing = rng.random(nh) < 0.1
        names = pc.if_else(
            pa.array(name_missing),
            pa.scalar(None, pa.large_string()),
            person_names(rng, nh, self.words),
        )
        phones = pc.if_else(
            pa.array(phone_missing),
            pa.scalar(None, pa.large_string()),
            phone_numbers(rng, nh, self.words),
        )
        L["households"] = self._frame(
            "households",
            {
                "code": h_codes,
                "building": b_codes.take(pa.array(self.h_building)),
                "unit": decimal_text(self.h_unit),
                "floor": int_column(self.h_floor),
                "room": decimal_text(self.h_room, 4),
                "size": int_column(self.h_size, self.h_size_missing),
                "name": names,
                "phone": phones,
            },
            self.h_geom,
        )
        del self.h_geom, self.h_unit, self.h_floor, self.h_room, self.h_size, names, phones
        del self.h_building, self.mh, self.mh_ptr

        # organisations
        no = self.n_org
        o_codes = sequential_codes("O", no, 3)
        partner = np.flatnonzero(self.org_kind == "partner_unit")
        ri, bi_, ti = unique_combinations(
            rng,
            (len(self.words.regions), len(self.words.brands), len(self.words.unit_kinds)),
            len(partner),
        )
        pnames = concat_text(
            take_words(self.words.regions, ri), take_words(self.words.brands, bi_), take_words(self.words.unit_kinds, ti),
            take_words(self.words.unit_branches, ti),
        )  # fmt: skip
        cnames = concat_text(c_names.take(pa.array(self.org_comm)), "党委")
        is_partner = np.zeros(no, bool)
        is_partner[partner] = True
        slot = np.zeros(no, np.int64)
        slot[partner] = np.arange(len(partner))
        o_names = pc.if_else(pa.array(is_partner), pnames.take(pa.array(slot)), cnames)
        L["organisations"] = self._frame(
            "organisations",
            {
                "code": o_codes,
                "name": o_names,
                "kind": pa.array(self.org_kind.tolist(), pa.large_string()),
                "community": c_codes.take(pa.array(self.org_comm)),
            },
        )

        # members: leaders, cadres, grid workers, partner members
        nm = self.off_member + self.n_partner
        role = np.empty(nm, object)
        role[: self.off_cadre] = "leader"
        role[self.off_cadre : self.off_worker] = "cadre"
        role[self.off_worker : self.off_member] = "grid_worker"
        role[self.off_member :] = "member"
        m_org = np.full(nm, -1, np.int64)
        m_comm = np.full(nm, -1, np.int64)
        m_comm[self.off_cadre : self.off_worker] = self.cadre_comm
        g_comm_w = grids[self.wg1, 0]
        m_comm[self.off_worker : self.off_member] = g_comm_w
        m_org[self.off_cadre : self.off_member] = self.comm_org[
            m_comm[self.off_cadre : self.off_member]
        ]
        m_org[self.off_member :] = self.m_org
        m_comm[self.off_member :] = self.org_comm[self.m_org]
        m_codes = sequential_codes("M", nm, 5)
        L["members"] = self._frame(
            "members",
            {
                "code": m_codes,
                "name": person_names(rng, nm, self.words),
                "phone": phone_numbers(rng, nm, self.words),
                "role": pa.array(role.tolist(), pa.large_string()),
                "organisation": codes_at(o_codes, m_org),
                "community": codes_at(c_codes, m_comm),
            },
        )

        # assignments
        a = self.assign_rows
        na = len(a["kind"])
        a_codes = sequential_codes("A", na, 7)
        L["assignments"] = self._frame(
            "assignments",
            {
                "code": a_codes,
                "kind": pa.array(a["kind"], pa.large_string()),
                "member": codes_at(m_codes, a["member"]),
                "organisation": codes_at(o_codes, a["org"]),
                "community": codes_at(c_codes, a["community"]),
                "grid": codes_at(g_codes, a["grid"]),
                "building": codes_at(b_codes, a["building"]),
                "household": codes_at(h_codes, a["household"]),
                "valid_from": date_column(a["from"]),
                "valid_to": date_column(np.maximum(a["to"], 0), a["to"] < 0),
            },
        )
        del self.assign_rows, a

        # visits
        v = self.v
        nv = self.nv
        epoch = self.start_day * SECONDS_PER_DAY - UTC_OFFSET_SECONDS
        pools = [
            self.words.household_notes,
            self.words.building_notes,
            self.words.leader_notes,
            self.words.household_notes,
        ]
        note_pool = [
            *self.words.household_notes,
            *self.words.building_notes,
            *self.words.leader_notes,
        ]
        offsets = np.array(
            [
                0,
                len(self.words.household_notes),
                len(self.words.household_notes) + len(self.words.building_notes),
            ]
        )
        sizes = np.array([len(x) for x in pools])
        kind = v["kind"]  # 0 cadre, 1 worker, 2 leader, 3 member
        pool_of = np.select([kind == 1, kind == 2], [1, 2], 0)
        pool_of = np.where((kind != 2) & (v["household"] < 0), 1, pool_of)
        note = offsets[pool_of] + v["note_idx"] % sizes[pool_of]
        v_codes = sequential_codes("V", nv, 8)
        L["visits"] = self._frame(
            "visits",
            {
                "code": v_codes,
                "member": m_codes.take(pa.array(v["member"])),
                "household": codes_at(h_codes, v["household"]),
                "building": codes_at(b_codes, v["building"]),
                "visited_at": utc_column(epoch + v["t"]),
                "note": take_words(note_pool, note, v["note_missing"]),
            },
            self.v_geom,
        )
        del self.v, self.v_geom, v
        pa.default_memory_pool().release_unused()

        # meetings
        nmt = len(self.mt_grid)
        L["meetings"] = self._frame(
            "meetings",
            {
                "code": sequential_codes("MT", nmt, 6),
                "grid": g_codes.take(pa.array(self.mt_grid)),
                "held_on": date_column(self.mt_day),
                "attendance": int_column(self.mt_att),
                "topic": take_words(self.words.meeting_topics, self.mt_topic),
            },
        )

        # problems
        pr = self.pr
        npb = len(pr["t_rep"])
        never = self.never
        desc_flat = [d for group in self.words.descriptions for d in group]
        desc_off = np.cumsum([0] + [len(g) for g in self.words.descriptions])[:-1]
        statuses = ("open", "resolved_on_site", "escalated", "closed")
        fb_pool = [*self.words.feedback, *self.words.explanations]
        p_codes = sequential_codes("P", npb, 7)

        def when(t: np.ndarray) -> pd.api.extensions.ExtensionArray:
            return utc_column(epoch + np.where(t < never, t, 0), t >= never)

        L["problems"] = self._frame(
            "problems",
            {
                "code": p_codes,
                "category": take_words(self.words.categories, pr["cat"]),
                "description": take_words(desc_flat, desc_off[pr["cat"]] + pr["desc"]),
                "building": b_codes.take(pa.array(pr["building"])),
                "household": codes_at(h_codes, pr["household"]),
                "visit": codes_at(v_codes, pr["visit"]),
                "responsible": codes_at(m_codes, pr["resp"]),
                "reported_at": utc_column(epoch + pr["t_rep"]),
                "deadline": date_column(self.start_day + pr["deadline"], pr["no_deadline"]),
                "status": take_words(statuses, pr["status"]),
                "resolved_at": when(pr["resolved"]),
                "escalated_at": when(pr["escalated"]),
                "closed_at": when(pr["closed"]),
                "feedback_at": when(pr["fb"]),
                "feedback": take_words(fb_pool, pr["fb_text"], pr["fb"] >= never),
            },
            self.p_geom,
        )
        self.layers = L
        self._record_truth(c_codes, g_codes, b_codes, h_codes, o_codes, m_codes, a_codes, p_codes)

    def _frame(self, name: str, cols: dict[str, Any], geometry: np.ndarray | None = None):
        spec = LAYERS[name]
        assert list(cols) == spec.field_names, (name, list(cols), spec.field_names)
        data = {}
        for f in spec.fields:
            col = cols.pop(f.name)  # drop the caller's copy as soon as it is converted
            if isinstance(col, (pa.Array, pa.ChunkedArray)):
                col = text_column(col)
            data[f.name] = col
        df = pd.DataFrame(data, copy=False)
        if spec.geometry is None:
            return df
        return gpd.GeoDataFrame(
            df, geometry=gpd.GeoSeries(geometry, crs="EPSG:4326"), crs="EPSG:4326"
        )

    # ---------------------------------------------------------------- truth -------------

    def _record_truth(self, c_codes, g_codes, b_codes, h_codes, o_codes, m_codes, a_codes, p_codes):
        p = self.p
        D = self.defects
        b = self.b

        def codes(arr: pa.Array, idx) -> list[str]:
            return arr.take(pa.array(np.asarray(idx, np.int64))).to_pylist()

        start = p.start
        end = start + dt.timedelta(weeks=int(p.weeks))
        D["period"] = {
            "start": start,
            "end": end,
            "weeks": int(p.weeks),
            "emerging_from": start + dt.timedelta(days=self.emerge_day),
        }
        for kind in ("gap", "sliver", "overlap"):
            D[kind]["grids"] = codes(g_codes, D[kind]["grids"])
        # straddling buildings: share measured in metres
        strad = np.flatnonzero(b["planted"] >= 10)
        strad = strad[np.argsort(b["planted"][strad])]  # in the order they were planted
        tf_m = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
        out = []
        for k, (gl, gr) in zip(strad, self.straddlers, strict=True):
            poly = shapely.transform(
                self.b_geom[k], lambda c: np.column_stack(tf_m.transform(c[:, 0], c[:, 1]))
            )
            share = shapely.area(shapely.intersection(poly, self.grid_m[gl])) / shapely.area(poly)
            out.append({"building": b_codes[int(k)].as_py(), "grids": codes(g_codes, [gl, gr]),
                        "share": round(float(share), 3)})  # fmt: skip
        D["straddling_buildings"] = out
        gap = np.flatnonzero(b["planted"] == 2)
        D["buildings_outside_grids"] = codes(b_codes, gap)
        D["households_outside_grids"] = codes(
            h_codes, np.concatenate([np.arange(self.hh_ptr[k], self.hh_ptr[k + 1]) for k in gap])
        )
        D["unassigned_buildings"] = codes(b_codes, np.flatnonzero(~self.assigned))
        db, m1, m2 = self.double
        order = np.argsort(db)
        D["double_assigned_buildings"] = {
            bc: [a1, a2]
            for bc, a1, a2 in zip(
                codes(b_codes, db[order]),
                codes(m_codes, self.off_member + m1[order]),
                codes(m_codes, self.off_member + m2[order]),
                strict=True,
            )
        }
        D["expired_assignments"] = codes(a_codes, self.expired_rows)
        under = np.flatnonzero(self.m_hh_count < p.min_member_households)
        D["members_under_10"] = codes(m_codes, self.off_member + under)
        D["organisation_without_grid"] = o_codes[self.org_nogrid].as_py()
        two = D["grid_with_two_organisations"]
        two["grid"] = g_codes[two["grid"]].as_py()
        two["organisations"] = codes(o_codes, two["organisations"])
        D["community_without_leader"] = c_codes[self.c_noleader].as_py()
        D["leaders_without_visits"] = codes(
            m_codes, [self.silent_leader] if self.silent_leader >= 0 else []
        )
        D["never_visiting_members"] = codes(m_codes, self.off_member + np.flatnonzero(self.m_never))
        D["members_missing_weeks"] = codes(
            m_codes, self.off_member + np.flatnonzero(self.m_missing_weeks)
        )
        D["grids_missing_meetings"] = [
            [g_codes[g].as_py(), month] for g, month in self.missing_meetings
        ]
        pr = self.pr
        hot = []
        for k, centre in enumerate(self.hot_centres):
            lon, lat = self.lonlat(b["cx"][centre : centre + 1], b["cy"][centre : centre + 1])
            emerging = k == len(self.hot_centres) - 1
            hot.append(
                {
                    "center": (round(float(lon[0]), 6), round(float(lat[0]), 6)),
                    "sigma_m": round(float(self.hot_sigma[k]), 1),
                    "category": self.words.categories[int(self.hot_cat[k])],
                    "emerging": emerging,
                    "since": D["period"]["emerging_from"] if emerging else None,
                    "problems": int((pr["comp"] == k).sum()),
                }
            )
        D["hotspots"] = hot
        end_rel_day = self.end_rel // SECONDS_PER_DAY
        overdue = (
            np.isin(pr["status"], [0, 2])
            & (pr["resolved"] >= self.never)
            & ~pr["no_deadline"]
            & (pr["deadline"] < end_rel_day)
        )
        D["overdue_problems"] = codes(p_codes, np.flatnonzero(overdue))
        D["closed_without_feedback"] = codes(
            p_codes, np.flatnonzero((pr["status"] == 3) & (pr["fb"] >= self.never))
        )
        D["problems_without_responsible"] = codes(p_codes, np.flatnonzero(pr["resp"] < 0))
        D["problems_without_deadline"] = codes(p_codes, np.flatnonzero(pr["no_deadline"]))
