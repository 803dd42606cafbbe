"""Overhead color images: flat colors of what each ray hits, and held products.

Products in a reaching hand are painted with their appearance (appearance.py) at the
hand's pixel, about 10 cm across, so the camera node has something to recognise.
"""

from __future__ import annotations

import numpy as np

from walkout_common.store import Camera, Store

from .appearance import render_product
from .bodies import PersonPose
from .depth_render import DepthRenderer

FLOOR = np.array([170, 170, 160], dtype=np.uint8)
SHELF = np.array([200, 180, 140], dtype=np.uint8)


class ColorRenderer:
    def __init__(self, store: Store, camera: Camera, width: int = 320, height: int = 240) -> None:
        self.caster = DepthRenderer(store, camera, width, height, noise_frac=0.0, hole_frac=0.0)
        self.width, self.height, self.K = width, height, self.caster.K
        depth = self.caster.render([])
        floor_hit = np.abs(depth - self._floor_depth()) < 0.02
        self.background = np.where(floor_hit[..., None], FLOOR, SHELF).astype(np.uint8)

    def _floor_depth(self) -> np.ndarray:
        d = self.caster.dirs
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(d[..., 2] < 0, -self.caster.t[2] / d[..., 2], np.inf)
        return t * self.caster.zscale

    def render(self, people: list[PersonPose]) -> np.ndarray:
        t_best, who = self.caster.cast(people)
        img = self.background.copy()
        for k, p in enumerate(people):
            img[who == k] = p.shirt
        for p in people:
            if not p.held_sku or not p.hands:
                continue
            uv = self.caster.project(p.hands[0])
            if uv is None:
                continue
            pc = self.caster.R.T @ (p.hands[0] - self.caster.t)
            half = max(int(self.K[0, 0] * 0.05 / max(pc[2], 0.1)), 2)
            u, v = int(round(uv[0])), int(round(uv[1]))
            if not (0 <= u < self.width and 0 <= v < self.height):
                continue
            if float(np.linalg.norm(pc)) - t_best[v, u] > 0.15:
                continue  # the hand is hidden (inside a shelf, behind someone): no product to see
            u0, u1, v0, v1 = max(u - half, 0), min(u + half, self.width), max(v - half, 0), min(v + half, self.height)
            if u0 < u1 and v0 < v1:
                patch = render_product(p.held_sku, 2 * half, 2 * half)
                img[v0:v1, u0:u1] = patch[v0 - (v - half) : v1 - (v - half), u0 - (u - half) : u1 - (u - half)]
        return img
