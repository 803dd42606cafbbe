"""Hands at the shelves and whose arm each one is, by what the camera can see.

Seen from above, people's regions in the height map do not tell whose a hand at a
shelf is: an arm reaching past a neighbour joins the neighbour's region, an arm hidden
behind its own head leaves the hand as a blob of its own, and a neighbour's body can
flood a hand that touches it. So hands at shelves are found apart from the bodies, as
the foreground blobs touching a shelf front ("contacts"), and each is given to the
people whose arm could reach it, judged by free space: an arm from a person's shoulder
to the hand is a 3D segment, and where the depth image sees *through* that segment
(the floor, or anything farther, where the arm would be), that person's arm is not
there. Samples hidden behind something nearer the camera say nothing. The person whose
segment the camera contradicts least owns the hand; when two are equally plausible,
both get it (the association weighs the ambiguity); when everyone's is contradicted,
the blob is no hand at all (shelf clutter, a product sticking out). Someone the camera
cannot report (head out of its view) competes too, by the best arm from out of view: the
hand is theirs rather than a worse-fitting neighbour's, and cameras that see them decide.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage


@dataclass
class Contact:
    tip: np.ndarray  # (3,) the blob's point nearest the shelf front (averaged)
    members: np.ndarray  # indices of its points in the cloud given


@dataclass
class ArmFit:
    supported: int  # samples along the arm where the camera sees a surface at the arm's depth
    contradicted: int  # samples where it sees through the arm's place (something farther)

    @property
    def seen(self) -> int:
        return self.supported + self.contradicted

    @property
    def contradicted_frac(self) -> float:
        return self.contradicted / self.seen if self.seen else 0.0

    def log_ratio(self, params) -> float:
        """log P(fit | this is the arm) / P(fit | it is not), samples tempered (neighbours along
        one arm are not independent)."""
        p = params
        own = self.supported * np.log(p.arm_seen_p / p.arm_chance_p) + self.contradicted * np.log((1 - p.arm_seen_p) / (1 - p.arm_chance_p))
        return float(own / p.arm_samples_per_look)


def contacts(pts: np.ndarray, shelf_distance: np.ndarray, zone_m: float, touch_m: float, cell_m: float,
             min_points: int) -> list[Contact]:
    """Foreground blobs within `zone_m` of a shelf front whose nearest point touches it
    (within `touch_m`): where hands can be. `shelf_distance` is per point."""
    near = shelf_distance < zone_m
    if near.sum() < min_points:
        return []
    where = np.flatnonzero(near)
    sub, dist = pts[near], shelf_distance[near]
    origin = sub[:, :2].min(axis=0) - cell_m
    idx = np.floor((sub[:, :2] - origin) / cell_m).astype(int)
    grid = np.zeros(tuple(idx.max(axis=0) + 2), dtype=bool)
    grid[idx[:, 0], idx[:, 1]] = True
    labels, n = ndimage.label(grid, structure=np.ones((3, 3), dtype=bool))
    of_pt = labels[idx[:, 0], idx[:, 1]]
    out = []
    for k in range(1, n + 1):
        mine = of_pt == k
        if mine.sum() < min_points:
            continue
        d = dist[mine]
        if d.min() > touch_m:
            continue
        tip = sub[mine][d <= d.min() + 0.02].mean(axis=0)
        out.append(Contact(tip, where[mine]))
    return out


def arm_fits(heads: np.ndarray, heights: np.ndarray, tip: np.ndarray, depth: np.ndarray, project, params) -> list[ArmFit]:
    """How well an arm from each person's shoulder (heads (m, 3), heights (m,)) to `tip`
    agrees with the depth image, all in one pass.

    `project(points (n, 3) in map) -> (u (n,), v (n,), z (n,))` gives pixel coordinates and
    depth along the optical axis; `depth` is the image in metres (0 = no reading). Each
    sample compares the median depth of a small window around its pixel with the arm's
    axis there: at it (the arm's near surface is up to a radius closer) supports, beyond it
    contradicts, in front of it (something nearer hides the arm) says nothing. Both
    shoulders are tried; the better one counts."""
    p = params
    if len(heads) == 0:
        return []
    h, w = depth.shape
    points, groups = [], []  # arm samples in map, and which (person, shoulder) each is of
    for k, (head, height) in enumerate(zip(heads, heights, strict=True)):
        to_tip = tip[:2] - head[:2]
        side = np.array([-to_tip[1], to_tip[0]]) / max(float(np.linalg.norm(to_tip)), 1e-9)
        for s in (0, 1):
            shoulder = np.array([*(head[:2] + (1.0 - 2 * s) * p.arm_shoulder_half_m * side), p.arm_shoulder_frac * height])
            seg = tip - shoulder
            length = float(np.linalg.norm(seg[:2]))
            steps = np.arange(p.arm_skip_m, length - p.arm_end_skip_m, p.arm_step_m)
            points.append(shoulder + (steps / max(length, 1e-9))[:, None] * seg)
            groups.append(np.full(len(steps), 2 * k + s))
    sup = np.zeros(2 * len(heads), dtype=int)
    con = np.zeros(2 * len(heads), dtype=int)
    pts, grp = np.concatenate(points), np.concatenate(groups)
    if len(pts):
        u, v, z = project(pts)
        ui, vi = np.round(u).astype(int), np.round(v).astype(int)
        ok = (z > 0) & (ui >= 0) & (ui < w) & (vi >= 0) & (vi < h)
        ui, vi, z, grp = ui[ok], vi[ok], z[ok], grp[ok]
        # the window around each sample's pixel, cut at the image border; no reading is no vote
        r = np.arange(-p.arm_window_px, p.arm_window_px + 1)
        dv, du = (a.ravel() for a in np.meshgrid(r, r, indexing="ij"))
        uu, vv = ui[:, None] + du[None, :], vi[:, None] + dv[None, :]
        inside = (uu >= 0) & (uu < w) & (vv >= 0) & (vv < h)
        win = np.where(inside, depth[np.clip(vv, 0, h - 1), np.clip(uu, 0, w - 1)], 0.0)
        n = (win > 0).sum(axis=1)
        win = np.sort(np.where(win > 0, win, np.inf), axis=1)  # readings first
        read = n > 0
        rows = np.flatnonzero(read)
        median = 0.5 * (win[rows, (n[read] - 1) // 2] + win[rows, n[read] // 2])
        residual = median - z[read]
        tol = p.arm_sight_tol_m + p.arm_sight_noise_frac * z[read]
        con = np.bincount(grp[read][residual > tol], minlength=len(sup))  # the camera sees through where the arm would be
        sup = np.bincount(grp[read][(residual <= tol) & (residual >= -(p.arm_radius_m + tol))], minlength=len(sup))  # a surface there
    out = []
    for k in range(len(heads)):
        fits = [ArmFit(int(sup[2 * k + s]), int(con[2 * k + s])) for s in (0, 1)]
        out.append(max(fits, key=lambda f: f.log_ratio(p)))  # ties: the first shoulder, as before
    return out


def owners(fits: list[ArmFit], params) -> list[int]:
    """Indices of the people a contact goes to: the arm that fits best, and any other
    nearly as likely; none when even the best is mostly seen through (no hand: shelf
    clutter, a product sticking out)."""
    if not fits:
        return []
    p = params
    scores = [f.log_ratio(p) for f in fits]
    top = int(np.argmax(scores))
    if fits[top].seen >= p.arm_min_seen and fits[top].contradicted_frac > p.arm_max_contradicted:
        return []
    return [i for i, sc in enumerate(scores) if sc >= scores[top] - np.log(p.arm_owner_ratio)]
