"""Did two shoppers who met swap tracks? The other pairing, followed until they part.

When two sessions' shoppers come so close that a detection fits either's track, the
tracker picks the likelier pairing and goes on. Whether it picked right shows only later:
people keep their pace and their height, so the wrong pairing leaves each track with a
velocity jump and a height it has to unlearn, while the right one goes on as before. One
frame's odds say little (a crowd has many near-even frames that the next frames settle),
and a swap can come about through several such frames, none of them decisive.

So the other pairing of such a frame is kept as a shadow hypothesis: a copy of both
filters, updated with the swapped detections, then with the detections the tracker gives
the two tracks, each frame paired the way that fits the shadow best. Its odds against the
tracker's own start at the frame's and follow both hypotheses' likelihood of what is seen
(positions and head heights). A shadow that pairs the detections as the tracker does again
has rejoined it (no swap); one still crossed when the two part, or when one of them
leaves, says the tracks swapped with its posterior probability.

Plain numpy on the tracker's motion model (motion.transition): a crowd keeps a few
shadows going at every camera frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .motion import HEIGHT_KEEP, cap_speed, transition

_MAX_LOG_ODDS = 50.0  # weights beyond exp(50) say nothing more (and several must not overflow)


@dataclass
class SwapParams:
    meas_std_m: float = 0.07
    accel_psd: float = 2.0
    max_speed: float = 2.0
    height_std_m: float = 0.06
    height_cost_cap: float = 6.0
    dead_p: float = 1e-4  # a shadow less likely than this is dropped
    switch_cost: float = 1.0  # a shadow changes its pairing only for one this much likelier (-2 log-likelihood)


@dataclass
class Head:
    """A head's floor state [x, y, vx, vy], its covariance and its height."""

    x: np.ndarray
    P: np.ndarray
    height: float
    t: float

    def copy(self) -> Head:
        return Head(self.x.copy(), self.P.copy(), self.height, self.t)

    def predict(self, t: float, p: SwapParams) -> None:
        dt = t - self.t
        if dt <= 0:
            return
        F, Q = transition(dt, p.accel_psd)
        self.x = F @ self.x
        self.P = F @ self.P @ F.T + Q
        cap_speed(self.x, p.max_speed)
        self.t = t

    def _innovation(self, p: SwapParams) -> tuple[np.ndarray, float]:
        """The inverse of the innovation covariance S (2 x 2, written out: this runs for
        every shadow at every camera frame) and det S."""
        r = p.meas_std_m**2
        a, b, d = self.P[0, 0] + r, self.P[0, 1], self.P[1, 1] + r
        det = a * d - b * b
        return np.array([[d, -b], [-b, a]]) / det, det

    def cost(self, z: np.ndarray, height: float, p: SwapParams) -> float:
        """-2 log-likelihood of a detection (head place z, its height), up to a constant."""
        inv, det = self._innovation(p)
        e = z - self.x[:2]
        dh = (self.height - height) / p.height_std_m
        return float(e @ inv @ e) + math.log(det) + min(dh * dh, p.height_cost_cap)

    def update(self, z: np.ndarray, height: float, p: SwapParams) -> None:
        inv, _ = self._innovation(p)
        K = self.P[:, :2] @ inv
        self.x = self.x + K @ (z - self.x[:2])
        self.P = self.P - K @ self.P[:2, :]
        self.height = HEIGHT_KEEP * self.height + (1.0 - HEIGHT_KEEP) * height


Seen = tuple[np.ndarray, float] | None  # a detection given to a track this frame (head place, height), or none


@dataclass
class SwapShadow:
    """The other pairing of two tracks a and b since `since`: `heads[0]` is the head of a's
    shopper under it, `heads[1]` b's; `crossed`: they follow the detections the tracker
    now gives b and a (the tracks are swapped); `log_odds`: log P(shadow) / P(tracker)."""

    heads: tuple[Head, Head]
    log_odds: float
    since: float
    crossed: bool = True

    def step(self, t: float, tracker_heads: tuple[Head, Head], seen: tuple[Seen, Seen], p: SwapParams, weight: float = 1.0) -> None:
        """One frame: `tracker_heads`, the two tracks' filters predicted to t (before this
        frame's update); `seen`, the detections the tracker gave each; `weight`, how much of
        an independent look the frame is (a camera's frames soon after its last say less)."""
        for h in self.heads:
            h.predict(t, p)
        if seen[0] is None and seen[1] is None:
            return
        ours = sum(h.cost(*s, p) for h, s in zip(tracker_heads, seen, strict=True) if s is not None)
        options = []
        for crossed in (False, True):
            order = (seen[1], seen[0]) if crossed else seen
            options.append((sum(h.cost(*s, p) for h, s in zip(self.heads, order, strict=True) if s is not None), crossed))
        # Either pairing about as good: the shadow keeps its own (heads on top of each other
        # say nothing, and must not read as rejoining the tracker's pairing)
        if abs(options[0][0] - options[1][0]) < p.switch_cost:
            theirs = options[int(self.crossed)][0]
        else:
            theirs, self.crossed = min(options, key=lambda o: o[0])
        self.log_odds += weight * 0.5 * (ours - theirs)
        for h, s in zip(self.heads, (seen[1], seen[0]) if self.crossed else seen, strict=True):
            if s is not None:
                h.update(*s, p)


def spawn(heads: tuple[Head, Head], seen: tuple[Seen, Seen], p_other: float, t: float, p: SwapParams) -> SwapShadow:
    """The shadow of a frame whose other pairing (p_other likely) gives track a's shopper
    `seen[0]` and b's `seen[1]` (the tracker's heads copied, predicted to t)."""
    heads = (heads[0].copy(), heads[1].copy())
    for h, s in zip(heads, seen, strict=True):
        if s is not None:
            h.update(*s, p)
    return SwapShadow(heads, math.log(p_other) - math.log1p(-min(p_other, 1.0 - 1e-12)), t)


@dataclass
class Encounter:
    """Two tracks' meeting: the shadows of its frames, each a hypothesis against the
    tracker's own (weights exp(log_odds), the tracker's 1). A shadow that rejoined the
    tracker's pairing carries on as the tracker's: its weight joins `agreed`."""

    shadows: list[SwapShadow]
    since: float  # the first frame that started a shadow: the meeting began
    last: float = -math.inf  # the latest frame that started a shadow
    agreed: float = 0.0

    def add(self, shadow: SwapShadow, most: int) -> None:
        """A new frame's shadow; at most `most` kept (the likeliest)."""
        self.shadows.append(shadow)
        self.shadows.sort(key=lambda sh: -sh.log_odds)
        del self.shadows[most:]
        self.last = shadow.since

    def step(self, t: float, tracker_heads: tuple[Head, Head], seen: tuple[Seen, Seen], p: SwapParams, weight: float = 1.0) -> None:
        for sh in self.shadows:
            if sh.since < t:
                sh.step(t, tracker_heads, seen, p, weight)
        self.agreed += sum(math.exp(min(sh.log_odds, _MAX_LOG_ODDS)) for sh in self.shadows if not sh.crossed)
        self.shadows = [sh for sh in self.shadows if sh.crossed and sh.log_odds >= math.log(p.dead_p)]

    @property
    def p_swapped(self) -> float:
        """P(the tracks are swapped now)."""
        w = [math.exp(min(sh.log_odds, _MAX_LOG_ODDS)) for sh in self.shadows]
        return sum(w) / (1.0 + self.agreed + sum(w))
