"""Which sessions exist and when they close, seen from the tracks alone.

The live association node only sees /tracking/tracks, so the offline replay uses the
same watcher on the tracker's snapshots: a session opens when a token is first bound
to a track and closes when every track bound to it has exited; it opens again when one
more track is bound to it later. Each track's exit time is kept: an item stays billed
once the person who took it has left (billing rule).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from walkout_common.types import EXITED, LOST, TrackSnapshot


@dataclass
class SessionWatcher:
    members: dict[str, set[str]] = field(default_factory=dict)  # token -> track ids
    exited: set[str] = field(default_factory=set)  # track ids
    exit_stamp: dict[str, float] = field(default_factory=dict)  # track id -> when it exited
    closed: set[str] = field(default_factory=set)  # tokens
    seen: dict[str, float] = field(default_factory=dict)  # track id -> when last seen (not LOST)
    born: dict[str, float] = field(default_factory=dict)  # track id -> its first snapshot's stamp
    reach_m: float = 1.6  # two shoppers' heads this close can hand an item over,
    hands_m: float = 0.35  # when arm tips of both are this close
    # two tokens -> the times their shoppers' hands met, as [start, end] intervals
    met: dict[frozenset[str], list[list[float]]] = field(default_factory=dict)
    # token -> the other sessions its shoppers may belong to instead -> probability
    rivals: dict[str, dict[str, float]] = field(default_factory=dict)
    # token -> rival -> from when that doubt holds (-inf: the whole visit)
    rival_since: dict[str, dict[str, float]] = field(default_factory=dict)
    rival_why: dict[str, dict[str, str]] = field(default_factory=dict)  # token -> rival -> why (its likeliest doubt's cause)

    def left_by(self, track: str, t: float) -> float | None:
        """When the track exited, if by `t` (else None)."""
        left = self.exit_stamp.get(track)
        return left if left is not None and left <= t else None

    def met_between(self, a: str, b: str, t0: float, t1: float) -> bool:
        """Whether shoppers of sessions a and b held their hands together in [t0, t1]."""
        return a == b or any(s <= t1 and e >= t0 for s, e in self.met.get(frozenset((a, b)), []))

    def observe(self, snaps: list[TrackSnapshot]) -> tuple[list[str], list[tuple[str, float]]]:
        """(tokens seen for the first time or again after their session closed, (token,
        stamp) of sessions that just closed). A closed session opens again when a shopper
        not yet its member comes in with its token (a group member entering after the
        others left)."""
        new: list[str] = []
        touched: dict[str, float] = {}
        for s in snaps:
            self.born.setdefault(s.track_id, s.stamp)
            if s.state not in (LOST, EXITED):
                self.seen[s.track_id] = s.stamp  # before a session claims it too (bound as it leaves)
            if not s.session_token:
                continue
            if s.session_token not in self.members:
                self.members[s.session_token] = set()
                new.append(s.session_token)
            elif s.session_token in self.closed and s.track_id not in self.members[s.session_token] and s.state != EXITED:
                self.closed.discard(s.session_token)
                new.append(s.session_token)
            self.members[s.session_token].add(s.track_id)
            for other, p in s.rivals.items():
                mine, since = self.rivals.setdefault(s.session_token, {}), self.rival_since.setdefault(s.session_token, {})
                if other in s.rival_why and p >= mine.get(other, 0.0):
                    self.rival_why.setdefault(s.session_token, {})[other] = s.rival_why[other]
                mine[other] = max(mine.get(other, 0.0), p)  # the likeliest and the earliest of its doubts hold
                since[other] = min(since.get(other, math.inf), s.rival_since.get(other, -math.inf))
            if s.state == EXITED and s.track_id not in self.exited:
                self.exited.add(s.track_id)
                self.exit_stamp[s.track_id] = s.stamp
                touched[s.session_token] = s.stamp
        self._meetings([s for s in snaps if s.session_token and s.state != EXITED])
        closed = []
        for token, stamp in touched.items():
            if token not in self.closed and self.members[token] <= self.exited:
                self.closed.add(token)
                closed.append((token, stamp))
        return new, closed

    def ever_seen(self, token: str) -> bool:
        """Whether a shopper of this session was ever seen (not LOST, not EXITED), also on
        their track before the session claimed it."""
        return any(t in self.seen for t in self.members.get(token, ()))

    def unseen_before(self, token: str, stamp: float) -> float:
        """How long before `stamp` a shopper of the session was last seen (0: never seen)."""
        seen = [self.seen[t] for t in self.members.get(token, ()) if t in self.seen]
        return max(stamp - max(seen), 0.0) if seen else 0.0

    def _meetings(self, snaps: list[TrackSnapshot]) -> None:
        snaps = [s for s in snaps if s.hands]
        if len({s.session_token for s in snaps}) < 2:
            return
        xy = np.array([s.position[:2] for s in snaps])
        d2 = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)
        for i, j in zip(*np.nonzero(d2 < self.reach_m**2), strict=True):
            a, b = snaps[i].session_token, snaps[j].session_token
            if i < j and a != b and min(float(np.linalg.norm(h - k)) for h in snaps[i].hands for k in snaps[j].hands) < self.hands_m:
                t = max(snaps[i].stamp, snaps[j].stamp)
                spans = self.met.setdefault(frozenset((a, b)), [])
                if spans and t - spans[-1][1] <= 1.0:
                    spans[-1][1] = max(spans[-1][1], t)
                else:
                    spans.append([t, t])
