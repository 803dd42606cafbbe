"""What each depth pixel sees when nobody is there: a learned background per camera.

The store files give the floor and the plates, but not everything that stands still in
a camera's view: shelf faces seen at a slant (noise pushes their points into the
aisle), products and price rails sticking out, a display, a parked cart. Such static
surfaces near a shelf front look like hands. So every pixel learns the depth of what
stays put there, and only what comes closer than that counts as foreground.

A pixel learns a depth when it has seen the same depth (within the noise) for
`learn_s` seconds while it was no part of a detected person (body, a hand given to
them, anything within `protect_m` of a head; the caller says which pixels those are):
standing shoppers are never learned, however long they stay. A learned pixel follows slow
changes, takes a farther depth as soon as it sees one again and again (something was
taken away), and learns a new nearer one the same way it learned the first (something
was put there and left). Until a pixel has learned anything it passes everything (the
store geometry alone decides), so the first frames of a bag lose nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class BackgroundParams:
    learn_s: float = 1.5  # a depth seen this long, with nobody near, is background
    protect_m: float = 0.5  # pixels this near (on the floor plan) a detected head never learn (the caller applies it)
    tol_m: float = 0.04  # depth agreement: at least this,
    tol_sigmas: float = 3.0  # or this many noise sd
    noise_frac: float = 0.015  # depth noise sd as a fraction of range, until measured (the contract's most)
    follow: float = 0.05  # how fast a learned depth follows slow change, per frame
    farther_frames: int = 2  # frames in a row beyond the learned depth before it moves there


class DepthBackground:
    def __init__(self, shape: tuple[int, int], params: BackgroundParams | None = None) -> None:
        self.p = params or BackgroundParams()
        self.depth = np.full(shape, np.nan, dtype=np.float32)  # learned background (NaN: nothing yet)
        self.cand = np.zeros(shape, dtype=np.float32)  # the depth being learned
        self.since = np.full(shape, np.inf, dtype=np.float64)  # since when it has held
        self.farther = np.zeros(shape, dtype=np.int16)
        self.noise_frac = self.p.noise_frac
        self.last: float | None = None

    def _tol(self, d: np.ndarray) -> np.ndarray:
        return np.maximum(self.p.tol_m, self.p.tol_sigmas * self.noise_frac * d)

    def foreground(self, depth: np.ndarray) -> np.ndarray:
        """bool per pixel: a reading nearer than the learned background (or none learned yet)."""
        valid = depth > 0
        known = np.isfinite(self.depth)
        return valid & (~known | (depth < self.depth - self._tol(depth)))

    def update(self, stamp: float, depth: np.ndarray, protected: np.ndarray) -> None:
        """Learn from one frame (metres, 0 = no reading); `protected` pixels (near people) never
        learn a nearer depth."""
        if self.last is not None and stamp < self.last:
            return  # an older frame: learning keeps to time order
        self.last = stamp
        p = self.p
        valid = depth > 0
        known = np.isfinite(self.depth)
        tol = self._tol(depth)
        diff = depth - self.depth
        same = valid & known & (np.abs(diff) <= tol)
        beyond = valid & known & (diff > tol)
        if same.sum() > 200:  # the noise of this camera, from what matches the background
            mad = float(np.median(np.abs(diff[same]) / depth[same]))
            self.noise_frac = float(np.clip(0.9 * self.noise_frac + 0.1 * 1.4826 * mad, 0.002, p.noise_frac))
        # learned pixels follow slow change; something taken away shows as farther, again and again
        self.depth[same] += p.follow * diff[same]
        self.farther[beyond] += 1
        self.farther[~beyond] = 0
        moved = self.farther >= p.farther_frames
        self.depth[moved] = depth[moved]
        self.farther[moved] = 0
        # a new depth (nothing learned, or nearer than learned) is learned once it has held
        new = valid & ~same & ~beyond & ~protected
        held = new & (np.abs(depth - self.cand) <= tol)
        restart = new & ~held
        self.cand[restart] = depth[restart]
        self.since[restart] = stamp
        self.since[valid & ~new] = np.inf  # a missing reading neither breaks nor counts as holding
        learned = held & (stamp - self.since >= p.learn_s)
        self.depth[learned] = self.cand[learned]
        self.since[learned] = np.inf
