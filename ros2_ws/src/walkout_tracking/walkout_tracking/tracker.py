"""Multi-shopper tracker: Kalman filters on heads, gated GNN, gate-bound sessions.

Tracks are born from unmatched detections, confirmed after a few hits, LOST when they
go unseen (they coast and may be found again), and deleted later. A track is bound to
a session token when it crosses an entry gate at the time of that gate's ENTRY event,
and EXITED by an EXIT event at an exit gate. A track born away from any entry gate is
someone seen again after an occlusion: it inherits the session of the LOST track that
could most plausibly have walked there (re-binding), and ambiguity is reported.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np

from walkout_common.store import Gate, Store
from walkout_common.types import CONFIRMED, ENTRY, EXITED, LOST, TENTATIVE, DetectionFrame, GateEvent, TrackSnapshot

from .assignment import assign, mahalanobis_costs
from .history import TrackHistory
from .motion import make_filter, predict


@dataclass
class TrackerParams:
    meas_std_m: float = 0.07  # head position noise of a detection
    accel_std: float = 2.0  # people start, stop and turn
    max_speed: float = 2.0
    gate_chi2: float = 16.3  # 99.9 % for 3 dof (x, y and head height)
    height_std_m: float = 0.06
    gate_max_m: float = 0.7  # never associate farther than this
    confirm_hits: int = 3
    tentative_timeout_s: float = 0.6
    lost_after_s: float = 0.6
    delete_lost_after_s: float = 60.0
    delete_unbound_lost_after_s: float = 3.0
    exited_linger_s: float = 1.5  # an exited track still absorbs its person walking out
    birth_clearance_m: float = 0.3  # no new track this close to an existing one
    gate_reach_m: float = 1.2  # how far from a gate line a crossing person can be
    binding_window_s: float = 3.0  # an ENTRY waits this long for its person's track
    rebind_window_s: float = 30.0
    rebind_margin_m: float = 1.0
    rebind_retry_s: float = 5.0
    history_s: float = 30.0


@dataclass
class SessionClosed:
    token: str
    stamp: float


@dataclass
class Rebind:
    new_id: str
    old_id: str
    token: str
    probability: float
    stamp: float


@dataclass
class _Track:
    id: str
    kf: object
    t: float
    born: float
    height: float
    state: int = TENTATIVE
    hits: int = 1
    last_seen: float = 0.0
    token: str = ""
    hands: list[np.ndarray] = field(default_factory=list)
    exited_at: float | None = None
    exit_gate: str = ""
    born_xy: np.ndarray | None = None

    @property
    def xy(self) -> np.ndarray:
        return self.kf.x[:2]

    def snapshot(self, stamp: float) -> TrackSnapshot:
        return TrackSnapshot(self.id, self.token, self.state, stamp, np.array([self.kf.x[0], self.kf.x[1], self.height]),
                             self.kf.x[2:4].copy(), self.kf.P[:2, :2].copy(), [h.copy() for h in self.hands])


@dataclass
class _Pending:
    gate: Gate
    kind: int
    token: str
    stamp: float


class Tracker:
    def __init__(self, store: Store, params: TrackerParams | None = None, seed: int | None = None) -> None:
        self.store = store
        self.p = params or TrackerParams()
        self.tracks: list[_Track] = []
        self.now = 0.0
        self._rng = random.Random(seed) if seed is not None else random.SystemRandom()
        self.pending: list[_Pending] = []
        self.members: dict[str, set[str]] = {}  # token -> track ids
        self.entered: dict[str, int] = {}  # token -> ENTRY events
        self.exited_count: dict[str, int] = {}
        self.closed: set[str] = set()
        self.rebinds: list[Rebind] = []
        self.exited_ids: set[str] = set()
        self.history = TrackHistory(self.p.accel_std)
        self.gates = store.gates_by_id

    def _new_id(self) -> str:
        return f"t{self._rng.getrandbits(40):010x}"  # random: never derived from a person

    # ---- detections ---------------------------------------------------------
    def update(self, frame: DetectionFrame) -> None:
        t = frame.stamp
        for tr in self.tracks:
            predict(tr.kf, t - tr.t, self.p.accel_std, self.p.max_speed)
            tr.t = max(tr.t, t)
        self.now = max(self.now, t)
        dets = [d for d in frame.people if np.all(np.isfinite(d.head))]
        live = [tr for tr in self.tracks if tr.exited_at is None or t - tr.exited_at < self.p.exited_linger_s]
        meas = np.array([d.head[:2] for d in dets]).reshape(-1, 2)
        means = np.array([tr.xy for tr in live]).reshape(-1, 2)
        covs = np.array([tr.kf.P[:2, :2] for tr in live]).reshape(-1, 2, 2)
        r = np.eye(2) * self.p.meas_std_m**2
        costs = mahalanobis_costs(means, covs, meas, r)
        # Head height keeps two people apart when their paths cross (used live, only
        # within a track's life: nothing about a body is kept or compared across visits).
        if len(live) and len(dets):
            dh = np.array([tr.height for tr in live])[:, None] - np.array([d.height_m for d in dets])[None, :]
            settled = np.array([tr.hits >= 5 for tr in live])[:, None]
            costs = costs + np.where(settled, (dh / self.p.height_std_m) ** 2, 0.0)
        dist = np.linalg.norm(means[:, None, :] - meas[None, :, :], axis=-1) if len(live) and len(dets) else np.zeros((len(live), len(dets)))
        # Established tracks choose first; tentative ones only get what is left, so a
        # spurious birth beside a person can never pull that person's detections away.
        established = np.array([tr.state != TENTATIVE for tr in live], dtype=bool)
        pairs = assign(np.where(established[:, None], costs, np.inf) if len(live) else costs, self.p.gate_chi2, dist, self.p.gate_max_m)
        taken = {di for _, di in pairs}
        rest = [k for k in range(len(dets)) if k not in taken]
        if rest and (~established).any():
            sub = assign(costs[~established][:, rest], self.p.gate_chi2, dist[~established][:, rest], self.p.gate_max_m)
            tent = np.flatnonzero(~established)
            pairs += [(int(tent[i]), rest[j]) for i, j in sub]
        used = set()
        for ti, di in pairs:
            tr, d = live[ti], dets[di]
            tr.kf.update(d.head[:2])
            tr.height = 0.8 * tr.height + 0.2 * d.height_m
            tr.hits += 1
            tr.last_seen = t
            tr.hands = [np.asarray(h, float) for h in d.hands]
            if tr.state == LOST:
                tr.state = CONFIRMED
            if tr.state == TENTATIVE and tr.hits >= self.p.confirm_hits:
                tr.state = CONFIRMED
                self._on_confirmed(tr)
            used.add(di)
        for di, d in enumerate(dets):
            if di in used:
                continue
            if any(np.linalg.norm(tr.xy - d.head[:2]) < self.p.birth_clearance_m for tr in live):
                continue
            kf = make_filter(d.head[:2], self.p.meas_std_m, 0.8)
            self.tracks.append(_Track(self._new_id(), kf, t, t, d.height_m, last_seen=t, hands=[np.asarray(h, float) for h in d.hands],
                                      born_xy=d.head[:2].copy()))
        for tr in self.tracks:
            # someone seen again may only be recognisable once the old track is LOST
            if tr.state == CONFIRMED and not tr.token and t - tr.born < self.p.rebind_retry_s:
                self._on_confirmed(tr)
        self._age(t)
        self._record(t)

    def _age(self, t: float) -> None:
        keep = []
        for tr in self.tracks:
            unseen = t - tr.last_seen
            if tr.state == TENTATIVE and unseen > self.p.tentative_timeout_s:
                continue
            if tr.state == CONFIRMED and unseen > self.p.lost_after_s:
                tr.state = LOST
                tr.hands = []
            if tr.state == LOST and unseen > self.p.delete_lost_after_s:
                continue
            if tr.state == LOST and not tr.token and unseen > self.p.delete_unbound_lost_after_s:
                continue  # never a shopper of any session: a ghost, not worth waiting for
            if tr.exited_at is not None and t - tr.exited_at > self.p.exited_linger_s and unseen > 0.5:
                continue
            keep.append(tr)
        self.tracks = keep
        self._bind_pending(t)

    def advance(self, stamp: float) -> list[SessionClosed]:
        """Time passes without detections: states age, pending bindings expire."""
        if stamp > self.now:
            for tr in self.tracks:
                if tr.state == LOST:
                    predict(tr.kf, stamp - tr.t, self.p.accel_std, self.p.max_speed)
                    tr.kf.x[2:] *= 0.9  # a lost person most likely stopped
                    tr.t = stamp
            self.now = stamp
            self._age(stamp)
        return []

    def _record(self, t: float) -> None:
        for tr in self.tracks:
            if tr.state != TENTATIVE:
                self.history.add(tr.snapshot(t))
        self.history.prune(t - self.p.history_s)

    # ---- sessions -----------------------------------------------------------
    def _near_gate(self, tr: _Track, gate: Gate, reach: float) -> float | None:
        """Distance of a track to a gate's line segment, if it is close enough."""
        return self._near_point(tr.xy, gate, reach)

    @staticmethod
    def _near_point(xy: np.ndarray, gate: Gate, reach: float) -> float | None:
        rel = xy - gate.center
        along = np.array([-gate.normal[1], gate.normal[0]])
        a, n = float(rel @ along), float(rel @ gate.normal)
        if abs(a) > gate.width / 2 + 0.4 or abs(n) > reach:
            return None
        return float(np.hypot(max(abs(a) - gate.width / 2, 0.0), n))

    def on_gate(self, event: GateEvent) -> list[SessionClosed]:
        gate = self.gates.get(event.gate_id)
        if gate is None:
            raise KeyError(f"GateEvent for unknown gate '{event.gate_id}'")
        if event.kind == ENTRY:
            if not event.session_token:
                raise ValueError(f"ENTRY at gate '{event.gate_id}' has an empty session_token")
            self.entered[event.session_token] = self.entered.get(event.session_token, 0) + 1
            self.members.setdefault(event.session_token, set())
            self.pending.append(_Pending(gate, ENTRY, event.session_token, event.stamp))
            self._bind_pending(event.stamp)
            return []
        return self._exit(gate, event.stamp)

    def _bind_pending(self, t: float) -> None:
        still = []
        for pend in sorted(self.pending, key=lambda p: p.stamp):
            cands = []
            for tr in self.tracks:
                if tr.token or tr.exited_at is not None or tr.state == LOST:
                    continue
                d = self._near_gate(tr, pend.gate, self.p.gate_reach_m + 0.5)
                if d is not None and abs(tr.born - pend.stamp) < self.p.binding_window_s + 2.0:
                    cands.append((d + 0.3 * abs(tr.born - pend.stamp), tr))
            if cands:
                _, best = min(cands, key=lambda c: c[0])
                best.token = pend.token
                self.members[pend.token].add(best.id)
            elif t - pend.stamp < self.p.binding_window_s:
                still.append(pend)
        self.pending = still

    def _exit(self, gate: Gate, stamp: float) -> list[SessionClosed]:
        cands = []
        for tr in self.tracks:
            if tr.exited_at is not None:
                continue
            d = self._near_gate(tr, gate, self.p.gate_reach_m + 0.6)
            if d is not None:
                cands.append((d + (0.5 if tr.state == LOST else 0.0) + (0.0 if tr.token else 0.3), tr))
        if not cands:
            # Nobody tracked at the gate: the nearest LOST member of an open session left.
            lost = [tr for tr in self.tracks if tr.state == LOST and tr.token and tr.exited_at is None]
            if lost:
                cands = [(float(np.linalg.norm(tr.xy - gate.center)), tr) for tr in lost]
        if not cands:
            return []  # a duplicate EXIT of someone just gone, or nobody we know: nothing to close
        _, tr = min(cands, key=lambda c: c[0])
        if not tr.token:
            # An unbound track leaving while a session's member is LOST: that is the
            # member, seen again under a new track; close the member.
            lost = [o for o in self.tracks if o.state == LOST and o.token and o.exited_at is None]
            if lost:
                member = min(lost, key=lambda o: float(np.linalg.norm(o.xy - tr.xy)))
                self.rebinds.append(Rebind(tr.id, member.id, member.token, 1.0 / len(lost), stamp))
                tr.exited_at, tr.exit_gate, tr.state = stamp, gate.id, EXITED
                tr = member
        tr.exited_at, tr.exit_gate, tr.state = stamp, gate.id, EXITED
        tr.hands = []
        self.history.add(tr.snapshot(max(stamp, self.now)))
        if not tr.token:
            return []
        self.exited_ids.add(tr.id)
        if tr.token not in self.closed and self.members.get(tr.token, set()) <= self.exited_ids:
            self.closed.add(tr.token)
            return [SessionClosed(tr.token, stamp)]
        return []

    def _on_confirmed(self, tr: _Track) -> None:
        """A track born away from every entry gate is someone seen again: re-bind."""
        born = tr.born_xy if tr.born_xy is not None else tr.xy
        near_entry = any(self._near_point(born, g, self.p.gate_reach_m + 0.5) is not None for g in self.store.gates if g.accepts("entry"))
        if near_entry or tr.token:
            return
        cands = []
        for old in self.tracks:
            if old is tr or old.state != LOST or not old.token or old.exited_at is not None:
                continue
            gap = tr.born - old.last_seen
            if gap > self.p.rebind_window_s:
                continue
            reach = self.p.max_speed * max(gap, 0.0) + self.p.rebind_margin_m
            d = float(np.linalg.norm(tr.xy - old.xy))
            if d <= reach:
                cands.append((d, old))
        if not cands:
            return
        weights = np.array([np.exp(-0.5 * (d / 0.7) ** 2) for d, _ in cands])
        weights /= weights.sum()
        k = int(np.argmax(weights))
        old = cands[k][1]
        # The person seen again carries on the old track: same id, same session.
        self.rebinds.append(Rebind(tr.id, old.id, old.token, float(weights[k]), tr.born))
        tr.id, tr.token, tr.born = old.id, old.token, old.born
        self.tracks.remove(old)

    # ---- output -------------------------------------------------------------
    def snapshots(self) -> list[TrackSnapshot]:
        return [tr.snapshot(self.now) for tr in self.tracks if tr.state != TENTATIVE]
