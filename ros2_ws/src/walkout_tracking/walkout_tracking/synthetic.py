"""Synthetic shoppers and depth-camera detections, for the tests and the benchmark.

People follow piecewise-linear paths; each camera sees a floor rectangle at its own
rate and phase, with head noise, dropped frames and dark spells. Scoring counts how
often a person's track id changes (identity switches) and how many tracks appear.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from walkout_common.types import CONFIRMED, DetectionFrame, PersonDetection, TrackSnapshot


@dataclass
class Walker:
    pid: str
    path: list[tuple[float, float, float]]  # (t, x, y), time-ordered
    height: float = 1.75

    def at(self, t: float) -> np.ndarray | None:
        """Head (x, y) at t, or None when not in the store."""
        ts = [p[0] for p in self.path]
        if t < ts[0] or t > ts[-1]:
            return None
        return np.array([np.interp(t, ts, [p[1] for p in self.path]), np.interp(t, ts, [p[2] for p in self.path])])


@dataclass
class CameraView:
    camera_id: str
    area: tuple[float, float, float, float]  # xmin, ymin, xmax, ymax of the floor it sees
    rate_hz: float = 10.0
    phase_s: float = 0.0
    dark: list[tuple[float, float]] = field(default_factory=list)  # spells with no frames

    def sees(self, xy: np.ndarray) -> bool:
        x0, y0, x1, y1 = self.area
        return x0 <= xy[0] <= x1 and y0 <= xy[1] <= y1


def frames(walkers: list[Walker], cameras: list[CameraView], t0: float, t1: float, rng: np.random.Generator,
           noise_m: float = 0.03, drop: float = 0.0, height_noise_m: float = 0.02) -> list[DetectionFrame]:
    """Every camera's detection frames in [t0, t1), in stamp order."""
    out = []
    for cam in cameras:
        for t in np.arange(t0 + cam.phase_s, t1, 1.0 / cam.rate_hz):
            t = float(t)
            if rng.random() < drop or any(a <= t < b for a, b in cam.dark):
                continue
            people = []
            for w in walkers:
                xy = w.at(t)
                if xy is None or not cam.sees(xy):
                    continue
                head = np.array([xy[0] + rng.normal(0, noise_m), xy[1] + rng.normal(0, noise_m), w.height])
                h = w.height + rng.normal(0, height_noise_m)
                people.append(PersonDetection(head, h, [head + np.array([0.3, 0.0, -0.5])], 200))
            out.append(DetectionFrame(t, cam.camera_id, people))
    return sorted(out, key=lambda f: f.stamp)


@dataclass
class Score:
    switches: int = 0  # a person's matched track id changed
    tracks: int = 0  # distinct confirmed track ids ever matched to somebody
    ids_per_person: dict[str, set[str]] = field(default_factory=dict)
    unmatched_steps: int = 0  # (person, step) pairs with no track within the radius


class IdentityScorer:
    """Matches people to confirmed tracks after each frame (Hungarian on distance)."""

    def __init__(self, walkers: list[Walker], radius_m: float = 0.3) -> None:
        self.walkers = walkers
        self.radius = radius_m
        self.last: dict[str, str] = {}
        self.score = Score(ids_per_person={w.pid: set() for w in walkers})

    def observe(self, t: float, snaps: list[TrackSnapshot]) -> None:
        people = [(w.pid, w.at(t)) for w in self.walkers]
        people = [(pid, xy) for pid, xy in people if xy is not None]
        snaps = [s for s in snaps if s.state == CONFIRMED]  # LOST ones coast: guesses
        if not people:
            return
        if not snaps:
            self.score.unmatched_steps += len(people)
            return
        d = np.array([[np.linalg.norm(s.position[:2] - xy) for s in snaps] for _, xy in people])
        rows, cols = linear_sum_assignment(d)
        matched = set()
        for r, c in zip(rows, cols, strict=True):
            if d[r, c] > self.radius:
                continue
            pid, tid = people[r][0], snaps[c].track_id
            matched.add(pid)
            if pid in self.last and self.last[pid] != tid:
                self.score.switches += 1
            self.last[pid] = tid
            self.score.ids_per_person[pid].add(tid)
        self.score.unmatched_steps += len(people) - len(matched)
        self.score.tracks = len(set().union(*self.score.ids_per_person.values()))


def lanes(n: int, t1: float, x0: float = 0.6, y0: float = 0.5, lane_gap: float = 0.5, per_lane: int = 5,
          slot_gap: float = 0.9, amplitude: float = 1.2, speed: float = 1.0) -> list[Walker]:
    """n people in lanes `lane_gap` apart, `slot_gap` apart within a lane; each lane
    sways back and forth along x by `amplitude` at its own speed, neighbouring lanes in
    opposite directions, so people keep passing each other `lane_gap` apart."""
    walkers = []
    for i in range(n):
        lane, slot = divmod(i, per_lane)
        y = y0 + lane * lane_gap
        spd = speed * (0.7 + 0.15 * (lane % 4))
        path = []
        for t in np.arange(0.0, t1 + 0.1, 0.1):
            s = (spd * t + (amplitude if lane % 2 else 0.0)) % (2 * amplitude)  # opposite phase in odd lanes
            sway = s if s <= amplitude else 2 * amplitude - s
            path.append((float(t), float(x0 + slot * slot_gap + sway), y))
        walkers.append(Walker(f"p{i}", path, height=1.55 + 0.4 * ((i * 7) % 10) / 10))
    return walkers
