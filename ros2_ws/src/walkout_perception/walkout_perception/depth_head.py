"""Where a head is, from the part of it one camera sees.

A camera sees only the side of a head that faces it. The points near the top of a head
seen at a slant lie on that near side, so their mean sits between the head's axis and
the camera: on the evaluation library's overhead cameras by 0.02 m at 25 degrees off the
vertical and by 0.06 m at 65 degrees, so that two cameras seeing one shopper from
opposite sides placed them 0.1 m or more apart. A head is modelled as a sphere, the
points kept as those within the top band of its highest point, each weighted by how
squarely it faces the camera (the pixels it covers); the mean of that visible cap's
offset from the axis, at each angle off the vertical, is integrated once, and a head
seen is moved back by it, away from the camera.
"""

from __future__ import annotations

import numpy as np

_SAMPLES = 20000  # points on the sphere for the integration (Fibonacci lattice: deterministic, even)


def _sphere(n: int) -> np.ndarray:
    """n unit vectors spread evenly over the sphere."""
    i = np.arange(n) + 0.5
    z = 1.0 - 2.0 * i / n
    rho = np.sqrt(1.0 - z * z)
    phi = np.pi * (1.0 + 5.0**0.5) * i
    return np.column_stack([rho * np.cos(phi), rho * np.sin(phi), z])


def cap_offsets(radius_m: float, band_m: float, angles_rad: np.ndarray) -> np.ndarray:
    """How far toward the camera (m, along the floor) the mean of a sphere's visible points
    within band_m of its top lies from its axis, seen from each angle off the vertical."""
    n = _sphere(_SAMPLES)
    cap = n[n[:, 2] >= 1.0 - band_m / radius_m]
    out = np.zeros(len(angles_rad))
    for k, a in enumerate(np.asarray(angles_rad, dtype=float)):
        facing = cap @ np.array([np.sin(a), 0.0, np.cos(a)])
        w = np.clip(facing, 0.0, None)
        out[k] = radius_m * float((cap[:, 0] * w).sum() / w.sum()) if w.sum() > 0 else 0.0
    return out


class HeadCentre:
    """Moves head points seen by one camera back onto the head's axis."""

    def __init__(self, camera_xyz: np.ndarray, radius_m: float, band_m: float) -> None:
        self.camera = np.asarray(camera_xyz, dtype=float)
        self.angles = np.radians(np.arange(0.0, 90.5, 1.0))
        self.offsets = cap_offsets(radius_m, band_m, self.angles) if radius_m > 0 else np.zeros(len(self.angles))

    def __call__(self, head: np.ndarray) -> np.ndarray:
        """The head (x, y, z of its seen top) with x, y moved away from the camera."""
        away = head[:2] - self.camera[:2]
        dist = float(np.linalg.norm(away))
        drop = float(self.camera[2] - head[2])
        if dist < 1e-6 or drop <= 0:  # straight below, or not below the camera at all: nothing to correct
            return head
        shift = float(np.interp(np.arctan2(dist, drop), self.angles, self.offsets))
        out = np.array(head, dtype=float)
        out[:2] += away / dist * shift
        return out
