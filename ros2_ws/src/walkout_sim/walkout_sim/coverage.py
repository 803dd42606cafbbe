"""Does a store's depth-camera rig see everyone? (the contract: every aisle point where a
person can stand is seen by at least one depth camera), and is the rig in the envelope?

A standing point counts as seen when the top of a head there, at every height of the
contract's people (1.45 to 2.05 m), falls inside some depth camera's image (a few pixels
in from the border) with nothing static (a gondola) between it and the camera. The
points are the people simulator's walkable floor cells, so what is checked is exactly
where simulated people can be.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from walkout_common.store import Camera, Store

from .depth_render import DepthRenderer
from .people import CELL, Grid

HEAD_HEIGHTS = (1.45, 1.75, 2.05)
HEIGHT_RANGE = (2.4, 3.6)  # metres above the floor
MAX_TILT_DEG = 25.0  # optical axis from straight down


def standing_points(store: Store) -> np.ndarray:
    """(n, 2) floor points inside the store where a head can be: the walkable grid cells
    that can be reached from a gate (a nook closed off behind a gondola is not)."""
    grid = Grid(store)
    labels, _ = ndimage.label(grid.free)
    reachable = {int(labels[grid.nearest_free(g.center + g.normal * 0.8)]) for g in store.gates}
    cells = np.argwhere(np.isin(labels, sorted(reachable)))
    xy = grid.origin + cells * CELL
    inside = np.all((xy >= store.floor_min) & (xy <= store.floor_max), axis=1)
    return xy[inside]


def seen_by(renderer: DepthRenderer, points: np.ndarray, margin_px: float = 2.0) -> np.ndarray:
    """Which 3D points (n, 3) the camera sees: in its image and not behind a gondola."""
    pc = (points - renderer.t) @ renderer.R  # optical frame
    front = pc[:, 2] > 0.05
    z = np.where(front, pc[:, 2], 1.0)
    u = renderer.K[0, 0] * pc[:, 0] / z + renderer.K[0, 2]
    v = renderer.K[1, 1] * pc[:, 1] / z + renderer.K[1, 2]
    inside = front & (u >= margin_px) & (u <= renderer.width - 1 - margin_px) & (v >= margin_px) & (v <= renderer.height - 1 - margin_px)
    ui = np.clip(np.round(u).astype(int), 0, renderer.width - 1)
    vi = np.clip(np.round(v).astype(int), 0, renderer.height - 1)
    rng = np.linalg.norm(points - renderer.t, axis=1)
    clear = rng <= renderer.static[vi, ui] + 0.02  # the static scene is no nearer than the point
    return inside & clear


def unseen_points(store: Store, size: tuple[int, int] = (160, 120), heights: tuple[float, ...] = HEAD_HEIGHTS) -> np.ndarray:
    """(m, 2) standing points where a head at some height is seen by no depth camera."""
    xy = standing_points(store)
    renderers = [DepthRenderer(store, cam, *size) for cam in store.cameras_of_kind("depth")]
    ok = np.ones(len(xy), dtype=bool)
    for h in heights:
        pts = np.column_stack([xy, np.full(len(xy), h)])
        seen = np.zeros(len(xy), dtype=bool)
        for r in renderers:
            seen |= seen_by(r, pts)
        ok &= seen
    return xy[~ok]


def tilt_deg(camera: Camera) -> float:
    """Angle of the optical axis from straight down."""
    axis = camera.rotation_matrix[:, 2]
    return float(np.degrees(np.arccos(np.clip(-axis[2], -1.0, 1.0))))


def envelope_problems(store: Store) -> list[str]:
    """Depth cameras outside the contract's mounting envelope (height, tilt)."""
    out = []
    for cam in store.cameras_of_kind("depth"):
        z = float(cam.translation[2])
        if not HEIGHT_RANGE[0] <= z <= HEIGHT_RANGE[1]:
            out.append(f"{cam.id}: {z:.2f} m high")
        if tilt_deg(cam) > MAX_TILT_DEG:
            out.append(f"{cam.id}: tilted {tilt_deg(cam):.1f} deg")
    return out
