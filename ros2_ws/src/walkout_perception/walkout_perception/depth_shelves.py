"""Where the shelves are, as floor rasters: one lookup per point instead of one test per plate.

Built once per store from the plates' footprints (any rotation). Three questions are
asked of every frame's points: inside a gondola (grown by a margin)? near one (grown by
a clearance)? and how far from the nearest plate footprint? Testing 24+ rotated
rectangles against ~19 000 points per frame was most of the depth pipeline's time.
Above a gondola's footprint everything counts as shelf: from above, a shelf hides what
is below its top edge, and a reaching arm is only seen up to the shelf front. Plates side
by side on one front line with a gap up to `gondola_gap_m` are one gondola: the gap
between them is shelf structure too (its top is as high as the plates').
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from walkout_common.store import Plate

MAX_CELLS = 4_000_000  # a bigger store gets coarser cells, not more memory

Rect = tuple[np.ndarray, np.ndarray, np.ndarray]  # centre (2,), axes (2, 2) rows, half sizes (2,)


def _gaps(plates: Sequence[Plate], max_gap: float) -> list[Rect]:
    """Rectangles filling the gaps between neighbouring plates on one front line."""
    out: list[Rect] = []
    for i, a in enumerate(plates):
        axes = np.array([a.along, a.front_normal])
        for b in plates[i + 1:]:
            if float(a.front_normal @ b.front_normal) < 0.99:
                continue
            da, db = (a.center[:2] @ axes.T), (b.center[:2] @ axes.T)
            # same front line and depth (within 5 cm), side by side with a gap
            if abs(da[1] + a.size[1] / 2 - db[1] - b.size[1] / 2) > 0.05:
                continue
            lo_a, hi_a = da[0] - a.size[0] / 2, da[0] + a.size[0] / 2
            lo_b, hi_b = db[0] - b.size[0] / 2, db[0] + b.size[0] / 2
            gap_lo, gap_hi = (hi_a, lo_b) if hi_a <= lo_b else (hi_b, lo_a)
            if not 0.0 < gap_hi - gap_lo <= max_gap:
                continue
            depth_lo = min(da[1] - a.size[1] / 2, db[1] - b.size[1] / 2)
            depth_hi = max(da[1] + a.size[1] / 2, db[1] + b.size[1] / 2)
            centre_local = np.array([(gap_lo + gap_hi) / 2, (depth_lo + depth_hi) / 2])
            half = np.array([(gap_hi - gap_lo) / 2, (depth_hi - depth_lo) / 2])
            out.append((centre_local @ axes, axes, half))
    return out


class ShelfMap:
    def __init__(self, plates: Sequence[Plate], margin_m: float, clearance_m: float, gondola_gap_m: float = 0.5,
                 pad_m: float = 0.5, cell_m: float = 0.01) -> None:
        self.pad_m = pad_m
        self.empty = len(plates) == 0
        if self.empty:
            return
        corners = np.concatenate([pl.footprint(max(margin_m, clearance_m)) for pl in plates])
        self.origin = corners.min(axis=0) - pad_m
        extent = corners.max(axis=0) + pad_m - self.origin
        self.cell = max(cell_m, float(np.sqrt(extent[0] * extent[1] / MAX_CELLS)))
        self.shape = tuple(np.ceil(extent / self.cell).astype(int) + 1)
        ix, iy = np.meshgrid(np.arange(self.shape[0]), np.arange(self.shape[1]), indexing="ij")
        xy = self.origin + (np.stack([ix, iy], axis=-1) + 0.5) * self.cell
        rects = [(pl.center[:2], np.array([pl.along, pl.front_normal]), pl.size / 2) for pl in plates]
        rects += _gaps(plates, gondola_gap_m)
        self.inside = self._grown(rects, xy, margin_m)
        self.near = self._grown(rects, xy, clearance_m)
        # distance from the plain footprints, in metres (0 inside)
        footprint = self._grown(rects, xy, 0.0)
        self.distance = ndimage.distance_transform_edt(~footprint).astype(np.float32) * self.cell

    @staticmethod
    def _grown(rects: list[Rect], xy: np.ndarray, grow: float) -> np.ndarray:
        mask = np.zeros(xy.shape[:2], dtype=bool)
        for centre, axes, half in rects:
            local = (xy - centre) @ axes.T
            mask |= np.all(np.abs(local) <= half + grow, axis=-1)
        return mask

    def _cells(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        idx = np.floor((np.asarray(xy, dtype=float)[..., :2] - self.origin) / self.cell).astype(np.int64)
        ok = np.all((idx >= 0) & (idx < np.array(self.shape)), axis=-1)
        return idx[..., 0].clip(0, self.shape[0] - 1), idx[..., 1].clip(0, self.shape[1] - 1), ok

    def in_shelf(self, xy: np.ndarray) -> np.ndarray:
        """(n,) bool: the points lie over a gondola (plate footprints grown by the margin)."""
        if self.empty:
            return np.zeros(len(xy), dtype=bool)
        i, j, ok = self._cells(xy)
        return self.inside[i, j] & ok

    def near_shelf(self, xy: np.ndarray) -> np.ndarray:
        """bool per point: within the clearance of a gondola (footprints grown by it)."""
        if self.empty:
            return np.zeros(np.shape(xy)[:-1], dtype=bool)
        i, j, ok = self._cells(xy)
        return self.near[i, j] & ok

    def distance_to(self, xy: np.ndarray) -> np.ndarray:
        """(n,) horizontal metres to the nearest plate footprint; at least pad_m where the raster ends."""
        if self.empty:
            return np.full(len(xy), np.inf)
        i, j, ok = self._cells(xy)
        return np.where(ok, self.distance[i, j], self.pad_m)


_CACHE: list[tuple[Sequence[Plate], tuple[float, float, float], ShelfMap]] = []


def shelf_map(plates: Sequence[Plate], margin_m: float, clearance_m: float, gondola_gap_m: float) -> ShelfMap:
    """The ShelfMap of these plates, shared by the cameras of one store (built once)."""
    key = (margin_m, clearance_m, gondola_gap_m)
    for cached, k, sm in _CACHE:
        if cached is plates and k == key:
            return sm
    sm = ShelfMap(plates, margin_m, clearance_m, gondola_gap_m)
    _CACHE.append((plates, key, sm))
    del _CACHE[:-8]  # a few stores at most (tests); the list keeps their plates alive
    return sm
