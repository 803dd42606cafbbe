"""Sessions of shoppers: which tracks carry which token, and when a token has left.

A session token arrives with an ENTRY gate event, one event per person (a group shares
the token). Each event waits a few seconds for the track that crossed that gate around
its stamp (the track may be born only after the event). A session closes when every
track bound to it has exited and no ENTRY of it is still waiting for its person.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from walkout_common.store import Gate


@dataclass
class SessionClosed:
    token: str
    stamp: float


@dataclass
class Rebind:
    """A track seen again after an occlusion took over a LOST track's session."""

    new_id: str  # the id the reborn track had
    old_id: str  # the LOST track it continues (the id it carries on with)
    token: str
    probability: float  # of this choice among the LOST tracks that could have walked there
    stamp: float
    takeover: float = 0.0  # P(the person is another shopper's whose track took the LOST one's over): its likeliest check


@dataclass
class PendingEntry:
    gate: Gate
    token: str
    stamp: float


def gate_distance(xy: np.ndarray, gate: Gate, reach: float) -> float | None:
    """Distance of a floor point to a gate's line segment, or None when farther than
    `reach` from the line (or beside the gate)."""
    rel = np.asarray(xy, float)[:2] - gate.center
    along = np.array([-gate.normal[1], gate.normal[0]])
    a, n = float(rel @ along), float(rel @ gate.normal)
    if abs(a) > gate.width / 2 + 0.4 or abs(n) > reach:
        return None
    return float(np.hypot(max(abs(a) - gate.width / 2, 0.0), n))


@dataclass
class SessionBook:
    members: dict[str, set[str]] = field(default_factory=dict)  # token -> track ids bound to it
    exited: set[str] = field(default_factory=set)  # track ids that left
    closed: set[str] = field(default_factory=set)
    pending: list[PendingEntry] = field(default_factory=list)
    last_exit: dict[str, float] = field(default_factory=dict)  # gate id -> stamp of its last EXIT

    def add_entry(self, gate: Gate, token: str, stamp: float) -> None:
        self.members.setdefault(token, set())
        self.closed.discard(token)  # a token may come back after leaving: a new visit
        self.pending.append(PendingEntry(gate, token, stamp))

    def bind(self, token: str, track_id: str) -> None:
        self.members.setdefault(token, set()).add(track_id)

    def expire(self, now: float, window_s: float) -> list[PendingEntry]:
        """Drops ENTRY events that found no track in time; returns them."""
        gone = [p for p in self.pending if now - p.stamp >= window_s]
        self.pending = [p for p in self.pending if now - p.stamp < window_s]
        return gone

    def is_open(self, token: str) -> bool:
        return token in self.members and token not in self.closed

    def waiting(self) -> set[str]:
        """Tokens with an ENTRY still waiting for its person's track (someone of the group
        is still coming in)."""
        return {p.token for p in self.pending}

    def mark_exited(self, track_id: str, token: str, stamp: float) -> list[SessionClosed]:
        self.exited.add(track_id)
        return self.try_close(token, stamp)

    def try_close(self, token: str, stamp: float) -> list[SessionClosed]:
        if not token or not self.is_open(token):
            return []
        if token in self.waiting():
            return []  # someone of the group is still coming in
        if self.members[token] <= self.exited:
            self.closed.add(token)
            return [SessionClosed(token, stamp)]
        return []
