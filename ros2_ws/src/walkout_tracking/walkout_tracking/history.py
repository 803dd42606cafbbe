"""Recent states of every track, for asking "where was everyone when this plate moved?"."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict

import numpy as np

from walkout_common.types import TrackSnapshot


class TrackHistory:
    def __init__(self, accel_std: float = 1.5) -> None:
        self._snaps: dict[str, list[TrackSnapshot]] = defaultdict(list)
        self._times: dict[str, list[float]] = defaultdict(list)
        self.accel_std = accel_std

    def add(self, snap: TrackSnapshot) -> None:
        times = self._times[snap.track_id]
        if times and snap.stamp <= times[-1]:
            if snap.stamp == times[-1]:
                self._snaps[snap.track_id][-1] = snap  # a newer view of the same instant
            return
        times.append(snap.stamp)
        self._snaps[snap.track_id].append(snap)

    def window(self, t0: float, t1: float) -> dict[str, list[TrackSnapshot]]:
        return {tid: snaps for tid in self._times if (snaps := self.of(tid, t0, t1))}

    def of(self, track_id: str, t0: float, t1: float) -> list[TrackSnapshot]:
        """One track's snapshots from t0 to t1."""
        times = self._times.get(track_id, [])
        return self._snaps[track_id][bisect_left(times, t0):bisect_right(times, t1)] if times else []

    def at(self, track_id: str, t: float) -> TrackSnapshot | None:
        """The track's state at t: interpolated between snapshots, or predicted past the
        nearest one at constant velocity with the covariance grown accordingly."""
        times = self._times.get(track_id)
        if not times:
            return None
        snaps = self._snaps[track_id]
        i = bisect_left(times, t)
        if 0 < i < len(times):
            a, b = snaps[i - 1], snaps[i]
            w = (t - a.stamp) / max(b.stamp - a.stamp, 1e-9)
            seen = b.stamp - b.unseen_s if b.stamp - b.unseen_s <= t else a.stamp - a.unseen_s  # last match by t
            return TrackSnapshot(a.track_id, b.session_token, a.state, t, (1 - w) * a.position + w * b.position,
                                 (1 - w) * a.velocity + w * b.velocity, (1 - w) * a.covariance + w * b.covariance, [],
                                 unseen_s=max(0.0, t - seen))
        s = snaps[0] if i == 0 else snaps[-1]
        dt = t - s.stamp
        pos = s.position.copy()
        pos[:2] += s.velocity * dt
        grow = (self.accel_std * dt * dt / 2) ** 2 + (np.linalg.norm(s.velocity) * 0.2 * abs(dt)) ** 2
        return TrackSnapshot(s.track_id, s.session_token, s.state, t, pos, s.velocity.copy(), s.covariance + np.eye(2) * grow, [],
                             unseen_s=s.unseen_s + abs(dt))  # predicted, not seen

    def session_of(self, track_id: str) -> str:
        snaps = self._snaps.get(track_id)
        return snaps[-1].session_token if snaps else ""

    def prune(self, before: float) -> None:
        for tid in list(self._times):
            times = self._times[tid]
            i = bisect_left(times, before)
            if i:
                del times[:i]
                del self._snaps[tid][:i]
            if not times:
                del self._times[tid]
                del self._snaps[tid]
