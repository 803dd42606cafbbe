"""Overhead depth images by ray casting the floor, gondolas and people.

The static scene (floor and gondolas) is cast once per camera; each frame only the
people's capsules are cast, and only inside each person's projected bounding box.
Noise (when a generator is given): Gaussian along the ray with a standard deviation of
`noise_frac` of the range, and `hole_frac` of pixels without a reading, preferring
depth edges as structured-light and stereo sensors do.
"""

from __future__ import annotations

import numpy as np

from walkout_common.store import Camera, Store

from .bodies import Box, PersonPose, gondolas


class DepthRenderer:
    def __init__(self, store: Store, camera: Camera, width: int = 160, height: int = 120, fx: float | None = None, fy: float | None = None,
                 noise_frac: float = 0.008, hole_frac: float = 0.04) -> None:
        self.width, self.height = width, height
        fx = fx or width / 2.0 / np.tan(np.radians(49.0))  # about 98 degrees across
        fy = fy or fx
        self.K = np.array([[fx, 0.0, (width - 1) / 2.0], [0.0, fy, (height - 1) / 2.0], [0.0, 0.0, 1.0]])
        self.noise_frac, self.hole_frac = noise_frac, hole_frac
        self.R, self.t = camera.rotation_matrix, camera.translation.astype(float)
        u, v = np.meshgrid(np.arange(width), np.arange(height))
        rays_cam = np.stack([(u - self.K[0, 2]) / fx, (v - self.K[1, 2]) / fy, np.ones_like(u, dtype=float)], -1)
        self.zscale = 1.0 / np.linalg.norm(rays_cam, axis=-1)  # range along a ray -> depth along the axis
        self.dirs = (rays_cam * self.zscale[..., None]) @ self.R.T  # unit rays in map
        self.dirs32 = self.dirs.astype(np.float32)  # people are cast in float32: mm precision, half the memory traffic
        self.static = self._cast_static(gondolas(store))

    def _cast_static(self, boxes: list[Box]) -> np.ndarray:
        d, o = self.dirs, self.t
        t_best = np.full(d.shape[:2], np.inf)
        down = d[..., 2] < -1e-9
        t_best[down] = -o[2] / d[..., 2][down]
        for box in boxes:
            t_best = np.minimum(t_best, _ray_box(o, d, box))
        return t_best

    def project(self, p: np.ndarray) -> np.ndarray | None:
        """Pixel (u, v) of a map point, or None behind the camera."""
        pc = self.R.T @ (np.asarray(p, dtype=float) - self.t)
        if pc[2] <= 1e-6:
            return None
        return np.array([self.K[0, 0] * pc[0] / pc[2] + self.K[0, 2], self.K[1, 1] * pc[1] / pc[2] + self.K[1, 2]])

    def cast(self, people: list[PersonPose]) -> tuple[np.ndarray, np.ndarray]:
        """(range along each ray, index of the person hit or -1)."""
        t_best = self.static.copy()
        who = np.full(t_best.shape, -1, dtype=int)
        for k, person in enumerate(people):
            a, b, radii = person.capsules()
            box = self._bbox(np.concatenate([a, b]), np.concatenate([radii, radii]))
            if box is None:
                continue
            u0, u1, v0, v1 = box
            tmin = _ray_capsules(self.t, self.dirs32[v0:v1, u0:u1].reshape(-1, 3), a, b, radii).reshape(v1 - v0, u1 - u0)
            sub = t_best[v0:v1, u0:u1]
            closer = tmin < sub
            sub[closer] = tmin[closer]
            who[v0:v1, u0:u1][closer] = k
        return t_best, who

    def render(self, people: list[PersonPose], rng: np.random.Generator | None = None) -> np.ndarray:
        """float32 (height, width) metres along the optical axis (z-depth), NaN = no reading; rng=None -> noise-free."""
        t_best, _ = self.cast(people)
        depth = (t_best * self.zscale).astype(np.float32)
        depth[~np.isfinite(depth)] = np.nan
        if rng is None:
            return depth
        # Gaussian along the ray, proportional to range (a fraction of depth is the same fraction of range)
        depth += rng.standard_normal(depth.shape, dtype=np.float32) * np.float32(self.noise_frac) * depth
        # Depth edges lose readings more often, as real sensors do; random pixels make up
        # the rest so that about `hole_frac` of the image has no reading.
        clean = np.nan_to_num(t_best * self.zscale, nan=0.0, posinf=0.0)
        edge = np.zeros(depth.shape, dtype=bool)
        jump_u = np.abs(np.diff(clean, axis=1)) > 0.25
        jump_v = np.abs(np.diff(clean, axis=0)) > 0.25
        edge[:, 1:] |= jump_u
        edge[1:, :] |= jump_v
        draw = rng.random(depth.shape, dtype=np.float32)
        holes = edge & (draw < 0.5)
        rest = max(self.hole_frac - holes.mean(), 0.0) / max(1.0 - holes.mean(), 1e-6)
        holes |= rng.random(depth.shape, dtype=np.float32) < rest
        depth[holes] = np.nan
        return depth

    def _bbox(self, centres: np.ndarray, radii: np.ndarray) -> tuple[int, int, int, int] | None:
        pc = (centres - self.t) @ self.R  # in the optical frame
        front = pc[:, 2] > 0.05
        if not front.any():
            return None
        pc, r = pc[front], radii[front]
        u = self.K[0, 0] * pc[:, 0] / pc[:, 2] + self.K[0, 2]
        v = self.K[1, 1] * pc[:, 1] / pc[:, 2] + self.K[1, 2]
        ru = self.K[0, 0] * r / pc[:, 2] * 1.5 + 2
        rv = self.K[1, 1] * r / pc[:, 2] * 1.5 + 2
        u0, u1 = int(max(np.floor((u - ru).min()), 0)), int(min(np.ceil((u + ru).max()) + 1, self.width))
        v0, v1 = int(max(np.floor((v - rv).min()), 0)), int(min(np.ceil((v + rv).max()) + 1, self.height))
        if u0 >= u1 or v0 >= v1:
            return None
        return u0, u1, v0, v1


def _ray_box(o: np.ndarray, d: np.ndarray, box: Box) -> np.ndarray:
    """Range to an oriented floor-standing box along each ray (inf if missed)."""
    ax = np.array([[*box.axes[0], 0.0], [*box.axes[1], 0.0], [0.0, 0.0, 1.0]])
    lo = np.array([-box.half[0], -box.half[1], 0.0])
    hi = np.array([box.half[0], box.half[1], box.top])
    o_l = ax @ (o - np.array([*box.center, 0.0]))
    d_l = d @ ax.T
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / d_l
        t1, t2 = (lo - o_l) * inv, (hi - o_l) * inv
    tmin = np.nanmax(np.minimum(t1, t2), axis=-1)
    tmax = np.nanmin(np.maximum(t1, t2), axis=-1)
    hit = (tmax >= np.maximum(tmin, 0.0)) & np.isfinite(tmin)
    return np.where(hit & (tmin > 0), tmin, np.inf)


def _capsule_constants(o: np.ndarray, a: np.ndarray, b: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Ray-independent terms of the capsule tests (5, n): |o-a|^2-r^2, |o-b|^2-r^2, baba, baoa, qc."""
    oa, ob, ba = o - a, o - b, b - a
    r2 = r * r
    ca = np.einsum("ij,ij->i", oa, oa)
    cb = np.einsum("ij,ij->i", ob, ob) - r2
    baba = np.einsum("ij,ij->i", ba, ba)
    baoa = np.einsum("ij,ij->i", ba, oa)
    qc = baba * (ca - r2) - baoa * baoa
    return np.stack([ca - r2, cb, baba, baoa, qc])


def _ray_capsules(o: np.ndarray, d: np.ndarray, a: np.ndarray, b: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Range to the nearest of n capsules along each of P unit rays d (P, 3) from o; inf if missed.

    A capsule is the union of its two end spheres and the finite cylinder between them,
    so its first hit is the nearest first hit of those three convex parts. Computed in
    d's dtype (float32 in the renderer); the ray-independent terms in float64 first.
    """
    n = a.shape[0]
    dt = d.dtype
    dots = d @ np.concatenate([o - a, o - b, b - a]).T.astype(dt)  # (P, 3n)
    rdoa, rdob, bard = dots[:, :n], dots[:, n : 2 * n], dots[:, 2 * n :]
    ca, cb, baba, baoa, qc = _capsule_constants(o, a, b, r).astype(dt)
    t = np.full(rdoa.shape, np.inf, dtype=dt)
    for bb, c in ((rdoa, ca), (rdob, cb)):  # end spheres
        disc = bb * bb - c
        root = -bb - np.sqrt(np.maximum(disc, 0.0))
        np.copyto(t, root, where=(disc >= 0) & (root > 0) & (root < t))
    qa = baba - bard * bard  # cylinder body; zero for spheres (a == b)
    qb = baba * rdoa - baoa * bard
    h = qb * qb - qa * qc
    with np.errstate(divide="ignore", invalid="ignore"):
        root = (-qb - np.sqrt(np.maximum(h, 0.0))) / qa
    y = baoa + root * bard
    np.copyto(t, root, where=(h >= 0) & (qa > 1e-9) & (root > 0) & (y > 0) & (y < baba) & (root < t))
    return t.min(axis=1).astype(np.float64)
