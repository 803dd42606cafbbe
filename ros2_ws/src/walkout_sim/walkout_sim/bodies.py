"""People and shelves as simple solids the depth renderer can ray-cast.

A person is a handful of capsules (a sphere is a capsule of zero length): head, neck,
shoulders, a torso as two side-by-side columns (an ellipse seen from above), legs, and
arms hanging at the sides or reaching to a hand tip. Gondolas are oriented boxes from
the floor to just above their top plate, one per group of touching plates that face the
same way, so any store layout renders.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from walkout_common.store import Plate, Store

HEAD_R = 0.1
ARM_R = 0.045
SHOULDER_HALF = 0.16  # shoulder joints from the body axis; with the capsule radius ~0.45 m across
GONDOLA_CLEARANCE = 0.3  # gondola top above its highest plate surface


@dataclass
class PersonPose:
    """One person's body at one instant, in map."""

    head_xy: np.ndarray  # (2,)
    height: float  # top of the head above the floor, m
    facing: float  # heading, rad (0 = +x)
    hands: list[np.ndarray] = field(default_factory=list)  # (3,) tips of reaching arms (0, 1 or 2)
    held_sku: str | None = None  # product in a reaching hand (for color rendering)
    shirt: tuple[int, int, int] = (60, 90, 160)  # flat color for the color renderer

    @property
    def shoulder_z(self) -> float:
        return 0.818 * self.height

    @property
    def hip_z(self) -> float:
        return 0.53 * self.height

    def _side(self) -> np.ndarray:
        """Unit vector to the person's left, on the floor."""
        return np.array([-np.sin(self.facing), np.cos(self.facing)])

    def shoulders(self) -> list[np.ndarray]:
        """Left and right shoulder joints (3,)."""
        side = self._side()
        return [np.array([*(self.head_xy + s * SHOULDER_HALF * side), self.shoulder_z]) for s in (1.0, -1.0)]

    def capsules(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ends a (n, 3), ends b (n, 3), radii (n,)) of the capsules making up this person."""
        xy, h, side = np.asarray(self.head_xy, dtype=float), float(self.height), self._side()
        sz, hz = self.shoulder_z, self.hip_z

        def at(offset: float, z: float) -> np.ndarray:
            return np.array([*(xy + offset * side), z])

        caps: list[tuple[np.ndarray, np.ndarray, float]] = [
            (at(0, h - HEAD_R), at(0, h - HEAD_R), HEAD_R),
            (at(0, h - 0.17), at(0, sz), 0.055),  # neck
            (at(SHOULDER_HALF, sz - 0.02), at(-SHOULDER_HALF, sz - 0.02), 0.065),  # shoulder line
        ]
        for s in (0.06, -0.06):  # torso: two columns side by side, ~0.36 x 0.24 m from above
            caps.append((at(s, sz - 0.12), at(s, hz + 0.05), 0.12))
        for s in (0.09, -0.09):  # legs
            caps.append((at(s, hz), at(s * 1.1, 0.075), 0.075))
        shoulders = self.shoulders()
        free = [True, True]
        for hand in self.hands[:2]:
            hand = np.asarray(hand, dtype=float)
            # the arm leaves from the free shoulder nearest the hand
            order = sorted((0, 1), key=lambda i: float(np.linalg.norm(shoulders[i][:2] - hand[:2])))
            i = next(i for i in order if free[i])
            free[i] = False
            caps.append((shoulders[i], hand, ARM_R))
        for i, s in enumerate((1.0, -1.0)):
            if free[i]:  # hanging at the side
                caps.append((shoulders[i], at(s * (SHOULDER_HALF + 0.03), hz - 0.02), ARM_R))
        a = np.array([c[0] for c in caps])
        b = np.array([c[1] for c in caps])
        r = np.array([c[2] for c in caps])
        return a, b, r

    def extent(self) -> tuple[np.ndarray, np.ndarray]:
        """Axis-aligned bounds (lo (3,), hi (3,)) of the whole body in map."""
        a, b, r = self.capsules()
        return np.minimum(a, b).min(0) - r.max(), np.maximum(a, b).max(0) + r.max()


@dataclass(frozen=True)
class Box:
    """An oriented box standing on the floor."""

    center: np.ndarray  # (2,) floor centre
    axes: np.ndarray  # (2, 2) rows: unit x and y axes of the box in map
    half: np.ndarray  # (2,) half sizes along those axes
    top: float

    def contains_xy(self, xy: np.ndarray, margin: float = 0.0) -> np.ndarray:
        local = (np.asarray(xy)[..., :2] - self.center) @ self.axes.T
        return np.all(np.abs(local) <= self.half + margin, axis=-1)


def _plate_interval(p: Plate, axes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    corners = p.footprint() @ axes.T
    return corners.min(0), corners.max(0)


def group_plates(store: Store, along_gap: float = 0.5, across_gap: float = 0.06) -> list[list[Plate]]:
    """Plates of one gondola: same facing, on one shelf or side by side along the same
    front (gaps up to `along_gap` m are shelving between plates; an aisle is wider)."""
    plates = list(store.plates)
    parent = list(range(len(plates)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, p in enumerate(plates):
        axes = np.array([p.along, p.front_normal])
        lo_i, hi_i = _plate_interval(p, axes)
        for j in range(i + 1, len(plates)):
            q = plates[j]
            if float(p.front_normal @ q.front_normal) < 0.99:
                continue
            lo_j, hi_j = _plate_interval(q, axes)
            gap = np.array([along_gap, across_gap])
            if q.shelf_id == p.shelf_id or (np.all(lo_i <= hi_j + gap) and np.all(lo_j <= hi_i + gap)):
                parent[find(j)] = find(i)
    groups: dict[int, list[Plate]] = {}
    for i, p in enumerate(plates):
        groups.setdefault(find(i), []).append(p)
    return list(groups.values())


def gondolas(store: Store, clearance: float = GONDOLA_CLEARANCE) -> list[Box]:
    """One box per gondola: its plates' footprint, from the floor to its top plate + clearance."""
    boxes = []
    for group in group_plates(store):
        first = group[0]
        axes = np.array([first.along, first.front_normal])
        lo = np.min([_plate_interval(p, axes)[0] for p in group], axis=0)
        hi = np.max([_plate_interval(p, axes)[1] for p in group], axis=0)
        centre_local = (lo + hi) / 2.0
        top = max(float(p.center[2]) for p in group) + clearance
        boxes.append(Box(centre_local @ axes, axes, (hi - lo) / 2.0, top))
    return boxes
