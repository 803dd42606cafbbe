"""Which sessions exist and when they close, seen from the tracks alone.

The live association node only sees /tracking/tracks, so the offline replay uses the
same watcher on the tracker's snapshots: a session opens when a token is first bound
to a track and closes when every track bound to it has exited.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from walkout_common.types import EXITED, TrackSnapshot


@dataclass
class SessionWatcher:
    members: dict[str, set[str]] = field(default_factory=dict)  # token -> track ids
    exited: set[str] = field(default_factory=set)  # track ids
    closed: set[str] = field(default_factory=set)  # tokens

    def observe(self, snaps: list[TrackSnapshot]) -> tuple[list[str], list[tuple[str, float]]]:
        """(tokens seen for the first time, (token, stamp) of sessions that just closed)."""
        new: list[str] = []
        touched: dict[str, float] = {}
        for s in snaps:
            if not s.session_token:
                continue
            if s.session_token not in self.members:
                self.members[s.session_token] = set()
                new.append(s.session_token)
            self.members[s.session_token].add(s.track_id)
            if s.state == EXITED and s.track_id not in self.exited:
                self.exited.add(s.track_id)
                touched[s.session_token] = s.stamp
        closed = []
        for token, stamp in touched.items():
            if token not in self.closed and self.members[token] <= self.exited:
                self.closed.add(token)
                closed.append((token, stamp))
        return new, closed
