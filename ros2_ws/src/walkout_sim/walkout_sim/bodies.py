"""People and shelves as simple solids the depth renderer can ray-cast.

A person is a set of spheres: head, neck, torso column, shoulders, and a chain of small
spheres per reaching arm. Gondolas are oriented boxes from the floor to just above their
top plate, derived from the store's plates, so any store layout renders.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from walkout_common.store import Store

HEAD_R = 0.1
ARM_R = 0.05


@dataclass
class PersonPose:
    """One person's body at one instant, in map."""

    head_xy: np.ndarray  # (2,)
    height: float  # top of the head above the floor
    facing: float  # heading, rad (0 = +x)
    hands: list[np.ndarray] = field(default_factory=list)  # (3,) tips of reaching arms
    held_sku: str | None = None  # product in a reaching hand (for color rendering)
    shirt: tuple[int, int, int] = (60, 90, 160)

    def shoulders(self) -> list[np.ndarray]:
        side = np.array([-np.sin(self.facing), np.cos(self.facing)])
        z = self.height - 0.3
        return [np.array([*(self.head_xy + s * 0.2 * side), z]) for s in (1.0, -1.0)]

    def spheres(self) -> tuple[np.ndarray, np.ndarray]:
        """(centres (n, 3), radii (n,)) of the solids making up this person."""
        h = self.height
        centres = [np.array([*self.head_xy, h - HEAD_R])]
        radii = [HEAD_R]
        centres.append(np.array([*self.head_xy, h - 0.24]))
        radii.append(0.07)
        for z in np.arange(h - 0.45, 0.35, -0.18):
            centres.append(np.array([*self.head_xy, z]))
            radii.append(0.16)
        shoulders = self.shoulders()
        for s in shoulders:
            centres.append(s)
            radii.append(0.09)
        for hand in self.hands:
            # the arm leaves from the shoulder nearest the hand
            s = min(shoulders, key=lambda p: float(np.linalg.norm(p[:2] - hand[:2])))
            n = max(int(np.linalg.norm(hand - s) / (ARM_R * 0.9)), 2)
            for a in np.linspace(0.0, 1.0, n):
                centres.append(s + a * (hand - s))
                radii.append(ARM_R)
        return np.array(centres), np.array(radii)


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


def gondolas(store: Store, clearance: float = 0.25) -> list[Box]:
    """One box per plate footprint, from the floor to its highest plate + clearance."""
    boxes: dict[tuple, Box] = {}
    for p in store.plates:
        key = (round(float(p.center[0]), 2), round(float(p.center[1]), 2))
        top = float(p.center[2]) + clearance
        if key in boxes and boxes[key].top >= top:
            continue
        axes = np.array([p.along, p.front_normal])
        boxes[key] = Box(p.center[:2].copy(), axes, np.array([p.size[0] / 2, p.size[1] / 2]), top)
    return list(boxes.values())
