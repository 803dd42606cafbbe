"""People and shelves as simple solids the depth renderer can ray-cast.

A person is a handful of capsules (a sphere is a capsule of zero length): head, neck,
shoulders, a torso as two side-by-side columns (an ellipse seen from above), legs, and
arms hanging at the sides or reaching to a hand tip. Every person has the same build
(`STANDARD`) unless the scenario asks for varied ones (`varied_build`): other head, arm
and shoulder sizes, arms bent at the elbow, backpacks and carried baskets, the habits of
another simulator or of real shoppers, to check that perception does not lean on one
body. Gondolas are oriented boxes from the floor to just above their top plate, one per
group of touching plates that face the same way, so any store layout renders.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from walkout_common.store import Plate, Store

HEAD_R = 0.1
ARM_R = 0.045
SHOULDER_HALF = 0.16  # shoulder joints from the body axis; with the capsule radius ~0.45 m across
GONDOLA_CLEARANCE = 0.3  # gondola top above its highest plate surface


@dataclass(frozen=True)
class BodyBuild:
    """A person's proportions and what they carry (metres)."""

    head_r: float = HEAD_R
    arm_r: float = ARM_R
    shoulder_half: float = SHOULDER_HALF
    torso_r: float = 0.12
    elbow_drop: float = 0.0  # a reaching arm bends this far below the straight shoulder-hand line
    backpack: bool = False  # a pack on the back, from the shoulders to the waist
    basket: bool = False  # a shopping basket in a hanging hand


STANDARD = BodyBuild()


def varied_build(rng: np.random.Generator) -> BodyBuild:
    """One person's build, drawn: slight to broad, thin or thick sleeves, straight or bent
    reaching arms; a third carry a backpack, four in ten a basket."""
    return BodyBuild(head_r=float(rng.uniform(0.085, 0.115)), arm_r=float(rng.uniform(0.033, 0.06)),
                     shoulder_half=float(rng.uniform(0.13, 0.2)), torso_r=float(rng.uniform(0.1, 0.15)),
                     elbow_drop=float(rng.uniform(0.0, 0.15)), backpack=bool(rng.uniform() < 0.33),
                     basket=bool(rng.uniform() < 0.4))


@dataclass
class PersonPose:
    """One person's body at one instant, in map."""

    head_xy: np.ndarray  # (2,)
    height: float  # top of the head above the floor, m
    facing: float  # heading, rad (0 = +x)
    hands: list[np.ndarray] = field(default_factory=list)  # (3,) tips of reaching arms (0, 1 or 2)
    held_sku: str | None = None  # product in a reaching hand (for color rendering)
    shirt: tuple[int, int, int] = (60, 90, 160)  # flat color for the color renderer
    build: BodyBuild = STANDARD

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
        return [np.array([*(self.head_xy + s * self.build.shoulder_half * side), self.shoulder_z]) for s in (1.0, -1.0)]

    def capsules(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ends a (n, 3), ends b (n, 3), radii (n,)) of the capsules making up this person."""
        xy, h, side, body = np.asarray(self.head_xy, dtype=float), float(self.height), self._side(), self.build
        sz, hz, half = self.shoulder_z, self.hip_z, body.shoulder_half
        back = -np.array([np.cos(self.facing), np.sin(self.facing)])

        def at(offset: float, z: float, behind: float = 0.0) -> np.ndarray:
            return np.array([*(xy + offset * side + behind * back), z])

        caps: list[tuple[np.ndarray, np.ndarray, float]] = [
            (at(0, h - body.head_r), at(0, h - body.head_r), body.head_r),
            (at(0, h - 0.17), at(0, sz), 0.055),  # neck
            (at(half, sz - 0.02), at(-half, sz - 0.02), 0.065),  # shoulder line
        ]
        for s in (0.06, -0.06):  # torso: two columns side by side, ~0.36 x 0.24 m from above
            caps.append((at(s, sz - 0.12), at(s, hz + 0.05), body.torso_r))
        for s in (0.09, -0.09):  # legs
            caps.append((at(s, hz), at(s * 1.1, 0.075), 0.075))
        if body.backpack:
            caps.append((at(0, sz - 0.08, body.torso_r + 0.08), at(0, hz + 0.12, body.torso_r + 0.08), 0.11))
        shoulders = self.shoulders()
        free = [True, True]
        for hand in self.hands[:2]:
            hand = np.asarray(hand, dtype=float)
            # the arm leaves from the free shoulder nearest the hand
            order = sorted((0, 1), key=lambda i: float(np.linalg.norm(shoulders[i][:2] - hand[:2])))
            i = next(i for i in order if free[i])
            free[i] = False
            if body.elbow_drop > 0:  # upper arm and forearm, the elbow below their straight line
                elbow = (shoulders[i] + hand) / 2 - np.array([0.0, 0.0, body.elbow_drop])
                caps += [(shoulders[i], elbow, body.arm_r), (elbow, hand, body.arm_r * 0.85)]
            else:
                caps.append((shoulders[i], hand, body.arm_r))
        basket = body.basket
        for i, s in enumerate((1.0, -1.0)):
            if free[i]:  # hanging at the side
                tip = at(s * (half + 0.03), hz - 0.02)
                caps.append((shoulders[i], tip, body.arm_r))
                if basket:  # in the first free hand: a rim and a bottom, 0.3-0.4 m fore and aft
                    fore = np.array([*back, 0.0])
                    caps += [(tip - 0.15 * fore, tip + 0.15 * fore, 0.06),
                             (tip - 0.12 * fore - [0, 0, 0.2], tip + 0.12 * fore - [0, 0, 0.2], 0.1)]
                    basket = False
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
