"""Multi-shopper tracker: Kalman filters on heads, gated GNN, gate-bound sessions.

Tracks are born from unmatched detections, confirmed after a few hits, LOST when they
go unseen (they coast and may be found again: where they are predicted, or, when a
false velocity sent them off, where they last stood), and deleted later. A track is bound to
a session token when it crosses an entry gate at the time of that gate's ENTRY event,
and EXITED by an EXIT event at an exit gate. A track born away from any entry gate (or
one no ENTRY claimed) is someone seen again after an occlusion: it inherits the session
of the LOST track that could most plausibly have walked there, its head at about that
track's height (re-binding), and the ambiguity of that choice is reported in `rebinds`.

A binding that may be wrong names its rivals: the other sessions whose shopper the track
may be instead, with the probability of each (two shoppers who crossed one gate so close
in time that each ENTRY's stamp fits either crossing; an uncertain re-binding, or one
that may be a takeover, the person seen again being another shopper's whose track took
over the LOST one's person; two shoppers so close that a detection fit the other's
track almost as well, read as one head or one of them unseen, whose other pairing still
fits better than the tracker's when they part: swaps.py). The association discounts those
sessions' baskets by it: a swapped token bills one shopper's items to another, the silent
error a receipt must never hide.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from filterpy.kalman import KalmanFilter
from scipy.optimize import linear_sum_assignment

from walkout_common.store import Gate, Store
from walkout_common.types import (
    CONFIRMED,
    ENTRY,
    EXITED,
    LOST,
    TENTATIVE,
    DetectionFrame,
    GateEvent,
    PersonDetection,
    TrackSnapshot,
)

from . import swaps
from .assignment import assign, mahalanobis_costs
from .history import TrackHistory
from .motion import HEIGHT_KEEP, make_filter, predict
from .sessions import PendingEntry, Rebind, SessionBook, SessionClosed, gate_distance

__all__ = ["Rebind", "SessionClosed", "Tracker", "TrackerParams", "UnboundTrack"]

_OUT_OF_BOUND = 1e7  # pairing cost added for a stamp farther from the crossing than the contract allows
_NO_PAIR = 1e12  # a track not at the gate at the stamp (or born too late) is no candidate


@dataclass
class TrackerParams:
    meas_std_m: float = 0.07  # head position noise of a detection
    accel_psd: float = 2.0  # m^2/s^3, white-acceleration density: people start, stop and turn
    max_speed: float = 2.0  # people walk at most 1.8 m/s
    lost_velocity_tau_s: float = 1.0  # a person nobody sees most likely stopped
    gate_chi2: float = 13.8  # 99.9 % for 2 dof (x, y)
    height_std_m: float = 0.06
    height_cost_cap: float = 6.0  # head height breaks ties, but a crouching shopper stays matched
    gate_max_m: float = 0.7  # never associate farther than this
    tentative_cost: float = 4.0  # extra association cost of a track not yet confirmed
    max_frame_lag_s: float = 0.1  # an older frame than this behind the newest is dropped
    confirm_hits: int = 3
    tentative_timeout_s: float = 0.6
    lost_after_s: float = 0.6
    # A track's velocity can be false: a raised arm read as the head for a frame or two
    # sends it off at walking speed while the person stands still, and the real head then
    # falls outside its gate. A track unseen this long may be found again at a place where
    # it stood (moved under reacquire_rest_mps over reacquire_rest_s) in the
    # reacquire_window_s before it went unseen, at a small extra cost (a track predicted
    # there wins). Places it only walked through are not: a follower treads them next.
    reacquire_after_s: float = 0.05
    reacquire_window_s: float = 0.6
    reacquire_rest_s: float = 0.3
    reacquire_rest_mps: float = 0.3
    reacquire_cost: float = 2.0
    # A LOST track (a short shopper hidden in a jam for seconds) is found again where it
    # stood, or where last seen if its velocity is under reacquire_rest_mps, as one
    # who shuffled about this much since, however far the motion model spread its place
    reacquire_rest_std_m: float = 0.1
    reacquire_moved_s: float = 0.25  # ... not once it was matched this long after its last rest (a frame or two at 10 Hz)
    # A track unseen longer than this (a missed frame at 10 Hz) starts to pay, fully from
    # twice this, for the spread its place gained since its last match (_coast_charge).
    coast_after_s: float = 0.1
    # A LOST shopper of an open session is kept a long while (re-binding, an EXIT with
    # nobody tracked at the gate); after this long unseen they have left unseen: the track
    # exits, so that the session closes (its receipt goes to review) instead of never.
    delete_lost_after_s: float = 600.0
    delete_unbound_lost_after_s: float = 3.0
    exited_linger_s: float = 1.5  # an exited track still absorbs its person walking out
    # ... who walks out, never in: not a head farther into the store than the track stood
    # at its EXIT by more than this (head noise, a sway). A shopper walking in through the
    # door as another walked out was taken by the leaver's track, never got one of their
    # own, and their session stayed open (`random_corner` 43134).
    exited_inward_m: float = 0.3
    birth_clearance_m: float = 0.34  # no new track this close to an existing one (heads keep 0.35 m apart)
    # A track born beside a confirmed one, away from the gates, is most often a raised arm
    # or a shoulder split off that person: it must last this long before it counts.
    crowded_birth_m: float = 0.6
    crowded_confirm_s: float = 2.0
    gate_reach_m: float = 1.2  # how far from a gate line a crossing person can be
    binding_window_s: float = 3.0  # an ENTRY waits this long for its person's track
    entry_walk_mps: float = 1.0  # to date a crossing not seen, of a track first seen past the line
    # Gates stamp within this of the crossing (the contract), the tracks' own crossing times
    # are this good (frames at 10 Hz, head noise): two entries whose stamps each fit the
    # other's crossing within the sum may be swapped, and under the contract's bound alone
    # either pairing is as likely.
    gate_stamp_error_s: float = 0.5
    crossing_error_s: float = 0.15
    rival_min_p: float = 0.001  # rival sessions less likely than this are not named
    # Two sessions' shoppers close enough that one detection fits either may swap tracks
    # (a crowd, heads alike): the other pairing of such a frame is followed as a shadow
    # hypothesis until they part (swaps.py); one still crossed then names each session the
    # other's rival, as likely as the shadow
    encounter_rivals: bool = True
    encounter_min_p: float = 0.01  # a frame's other pairing this likely is followed, and a swap this likely named
    encounter_part_m: float = 1.0  # two tracks this far apart have parted: the shadow is settled
    encounter_max_s: float = 4.0  # or this long after its last shadow's frame, at the latest
    encounter_shadows: int = 4  # shadows followed at once per meeting (the likeliest)
    # A camera's frames closer together than this weigh as one look between them: the
    # errors of one viewpoint on one body (a bent head, a backpack) last longer than a
    # frame. The shadows' noise was set on 10 Hz cameras; at 30 Hz, counting every frame in
    # full made a family's two tracks swapped at p 1.00 that were not (groups 35005).
    encounter_look_s: float = 0.1
    duplicate_exit_s: float = 1.0  # a second EXIT at a gate this soon, with nobody new there, is a duplicate
    exit_unseen_s: float = 0.3  # ... unless a session's track unseen this long (3 frames at 10 Hz) is near its line
    rebind_window_s: float = 30.0
    rebind_margin_m: float = 1.0
    # A person seen again keeps their height: the reborn track's head height is compared
    # with each LOST track's (hand-set: measured heads of one shopper standing agree within
    # a few cm, but one bending to a low shelf reads 0.15-0.2 m lower, hence the floor).
    rebind_height_std_m: float = 0.08
    rebind_height_outlier: float = 0.2  # share of looks whose height says nothing (bending, half seen): uniform over 1 m
    # The person seen again may not be the LOST track's: another shopper's track that came
    # near where the LOST one was last seen may have taken over its person (found "again"
    # in the dark, or where it stood), and the person it left is the one reborn. Heights
    # tell: the taker's head height went to the LOST one's, the reborn head has the taker's
    # old height. Each bound track that came within takeover_m of that place since is
    # weighed so, at takeover_prior odds each before the heights; a takeover names the two
    # sessions each other's rivals from then on. The odds are fitted (maximum likelihood,
    # within 0.6 of it from 0.5 to 1.5) on the 41 re-bindings with a known truth in the
    # `dark`, `crowd20` and `lost` scenarios of six suites (fitting, held-out, fresh 13000,
    # 19000, 21000, 23000): 15 right, 26 wrong, 22 of those in crowds of 22, where a lost
    # shopper is seen again among many; all four wrong ones under a dark camera were
    # takeovers. A taker's height follows its new person's within a few frames
    # (HEIGHT_KEEP): the check runs again for takeover_watch_s after the re-binding, the
    # likeliest doubt holding.
    takeover_m: float = 1.5
    takeover_prior: float = 0.8
    takeover_watch_s: float = 3.0
    rebind_retry_s: float = 5.0
    history_s: float = 30.0
    # Two confirmed tracks (both seen within lost_after_s) whose heads stay this close are
    # one person (heads keep 0.35 m apart): a ghost or a split-off that walked onto a
    # shopper, fed by one camera's frames while the shopper's own track is fed by
    # another's. The one a session claimed stays (else the older); two sessions' tracks
    # are left to the re-binding.
    merge_m: float = 0.2
    merge_s: float = 1.0  # close this long,
    merge_gap_s: float = 0.3  # apart for no longer than this meanwhile


@dataclass
class UnboundTrack:
    """A confirmed track no session claimed: its picks can't be billed."""

    track_id: str
    since: float  # when it was born
    position: np.ndarray  # (2,)


@dataclass
class _SeenAgain:
    """A LOST track a reborn one was re-bound to, as it was last seen: for the takeover check."""

    lost_at: float  # when it was last seen
    where: np.ndarray  # its place then
    height: float  # its head height
    rebind: Rebind  # the record of the re-binding (when; its takeover doubt is kept there)
    # track id -> (its closest approach to `where` since lost_at, its head height then):
    # read from the history once per track, then kept up at every check (Tracker._takeovers)
    suspects: dict[str, tuple[float, float]] = field(default_factory=dict)


@dataclass
class _Track:
    id: str
    kf: KalmanFilter
    t: float
    born: float
    height: float
    born_xy: np.ndarray
    state: int = TENTATIVE
    hits: int = 1
    last_seen: float = 0.0
    confirmed_at: float | None = None
    token: str = ""
    hands: list[np.ndarray] = field(default_factory=list)
    exited_at: float | None = None
    left_unseen: bool = False  # exited after delete_lost_after_s unseen: nobody there to absorb
    trail: deque = field(default_factory=deque)  # (t, x, y) of recent matches, a few seconds
    crowded_birth: bool = False  # born beside a confirmed track, away from the gates
    entry: tuple[Gate, float] | None = None  # the gate and stamp of the ENTRY that bound it
    exit: tuple[Gate, float] | None = None  # the gate it left by, and how far inside its line it stood then
    rivals: dict[str, float] = field(default_factory=dict)  # other sessions it may belong to -> probability
    rival_since: dict[str, float] = field(default_factory=dict)  # rival -> from when its doubt holds (-inf: the whole visit)
    rival_why: dict[str, str] = field(default_factory=dict)  # rival -> why, for a reviewer (its likeliest doubt's cause)
    rest_places: tuple[float, np.ndarray] | None = None  # (last_seen, places) cached by Tracker._rest_places
    matched_cov: np.ndarray | None = None  # its place's covariance just after its last match
    seen_again: _SeenAgain | None = None  # re-bound to a LOST track: what that one left (Tracker._takeovers)

    @property
    def xy(self) -> np.ndarray:
        return self.kf.x[:2]

    def _depths(self, gate: Gate, outward: bool) -> tuple[list[float], list[float]]:
        """Times and signed distances past the gate line (inward, or outward) of the track's
        recent matches (its current place if none)."""
        sign = -1.0 if outward else 1.0
        pts = list(self.trail) or [(self.t, *self.xy)]
        return [p[0] for p in pts], [sign * float((np.array(p[1:]) - gate.center) @ gate.normal) for p in pts]

    def crossing_seen(self, gate: Gate, outward: bool = False) -> float | None:
        """When its recent matches cross the gate line inward (the first time) or outward
        (the last); None when they don't."""
        ts, depth = self._depths(gate, outward)
        crossings = [ts[k - 1] + (ts[k] - ts[k - 1]) * -depth[k - 1] / max(depth[k] - depth[k - 1], 1e-9)
                     for k in range(1, len(ts)) if depth[k - 1] < 0 <= depth[k]]
        return (crossings[-1] if outward else crossings[0]) if crossings else None

    def crossed_at(self, gate: Gate, walk_mps: float) -> float:
        """When the track crossed the gate line inward: seen in its recent matches; else, first
        seen inside, that far back at `walk_mps`; else (still outside) when it will cross at
        its own pace inward (never, if it is not walking in)."""
        seen = self.crossing_seen(gate)
        if seen is not None:
            return seen
        ts, depth = self._depths(gate, outward=False)
        if depth[0] >= 0:
            return ts[0] - depth[0] / walk_mps
        inward = float(np.asarray(self.kf.x[2:4]).ravel() @ gate.normal)
        return ts[-1] - depth[-1] / inward if inward > 0.1 else math.inf

    def xy_at(self, t: float) -> np.ndarray:
        """Where the track was at t (from its recent matches; its first or current place
        outside them)."""
        if not self.trail:
            return self.xy.copy()
        ts = [p[0] for p in self.trail]
        if t <= ts[0]:
            return np.array(self.trail[0][1:])
        if t >= ts[-1]:
            return self.xy.copy() if self.state != LOST else np.array(self.trail[-1][1:])
        k = int(np.searchsorted(ts, t))
        (ta, xa, ya), (tb, xb, yb) = self.trail[k - 1], self.trail[k]
        w = (t - ta) / max(tb - ta, 1e-9)
        return np.array([xa + w * (xb - xa), ya + w * (yb - ya)])

    @property
    def match_cov(self) -> np.ndarray:
        """Its place's covariance just after its last match (its current one before any)."""
        return self.matched_cov if self.matched_cov is not None else self.kf.P[:2, :2]

    def snapshot(self, stamp: float) -> TrackSnapshot:
        return TrackSnapshot(self.id, self.token, self.state, stamp, np.array([self.kf.x[0], self.kf.x[1], self.height]),
                             self.kf.x[2:4].copy(), self.kf.P[:2, :2].copy(), [h.copy() for h in self.hands], dict(self.rivals),
                             {k: v for k, v in self.rival_since.items() if v > -math.inf}, max(0.0, stamp - self.last_seen),
                             dict(self.rival_why))

    def add_rival(self, token: str, p: float, since: float, why: str) -> None:
        """`token`'s session may be this track's, with probability p, from `since` on (a
        swap moves what came after; -inf: the whole visit), for the reason `why`. Of
        several doubts about one rival, the likeliest and the earliest hold (and the
        likeliest's reason)."""
        if token and token != self.token:
            if p >= self.rivals.get(token, 0.0):
                self.rival_why[token] = why
            self.rivals[token] = max(self.rivals.get(token, 0.0), p)
            self.rival_since[token] = min(self.rival_since.get(token, math.inf), since)


def _rivals_of_each_other(a: _Track, b: _Track, p: float, since: float, why: str) -> None:
    """Each of two tracks may carry the other's shopper (a swapped entry, a meeting, an
    occlusion): each session names the other its rival, p likely, from `since` on
    (-inf: the whole visit), for the reason `why` (in a reviewer's words)."""
    a.add_rival(b.token, p, since, why)
    b.add_rival(a.token, p, since, why)


def _spread_growth(cov: np.ndarray, matched: np.ndarray, r: np.ndarray) -> np.ndarray:
    """log det S with the place's covariance `cov` against that just after the match
    (`matched`), never below 0: what a spread costs on the -2 log-likelihood scale.
    Broadcasts over leading axes."""
    return np.maximum(np.linalg.slogdet(cov + r)[1] - np.linalg.slogdet(matched + r)[1], 0.0)


def _seen(dets: list[PersonDetection], k: int | None) -> swaps.Seen:
    """Detection k as a swap shadow weighs it (head place, height); None for none."""
    return None if k is None else (dets[k].head[:2].astype(float), float(dets[k].height_m))


class Tracker:
    def __init__(self, store: Store, params: TrackerParams | None = None, seed: int | None = None) -> None:
        self.store = store
        self.p = params or TrackerParams()
        self.tracks: list[_Track] = []
        self.now = 0.0
        self._rng = random.Random(seed) if seed is not None else random.SystemRandom()
        self.sessions = SessionBook()
        self.rebinds: list[Rebind] = []
        self.dropped_frames = 0  # frames too late to use
        self.history = TrackHistory()
        self.gates = store.gates_by_id
        self._entry_gates = [g for g in store.gates if g.accepts("entry")]
        self._close: dict[tuple[str, str], tuple[float, float]] = {}  # track pair -> (close since, last close)
        self.merged = 0  # duplicate tracks merged into the one that stays
        self._swaps: dict[tuple[str, str], swaps.Encounter] = {}  # track ids -> the other pairings of their meeting
        self._last_frame: dict[str, float] = {}  # camera id -> its latest frame's stamp
        self._swap_params = swaps.SwapParams(self.p.meas_std_m, self.p.accel_psd, self.p.max_speed, self.p.height_std_m,
                                             self.p.height_cost_cap)
        self.unseen_exits = 0  # session tracks given up as having left unseen
        # EXITs that closed no session (given to an unbound track, or to nobody tracked, with
        # no session to close): each is someone leaving, so each waits, for the contract's
        # bound, for a session's shopper seen crossing out of that gate (_spend_spare_exits)
        self._spare_exits: list[tuple[Gate, float]] = []
        # A track's recent matches date its gate crossing: kept long enough to compare it
        # with an ENTRY that binds another track up to binding_window_s later.
        self._swap_s = self.p.gate_stamp_error_s + self.p.crossing_error_s
        self._entry_reach = self.p.gate_reach_m + 0.5  # how far from an entry line a track just in (or about to be) may be
        self._ripe_s = 2 * self._swap_s  # an ENTRY binds this long after its stamp (see _bind_pending)
        self._trail_s = self.p.binding_window_s + 2 * self._swap_s + 1.0

    def _new_id(self) -> str:
        return f"t{self._rng.getrandbits(40):010x}"  # random: never derived from a person

    # ---- motion -------------------------------------------------------------
    def _predict_to(self, t: float) -> None:
        for tr in self.tracks:
            dt = t - tr.t
            if dt <= 0:
                continue  # never predict backwards: a slightly late frame just updates
            predict(tr.kf, dt, self.p.accel_psd, self.p.max_speed)
            if tr.state == LOST:
                tr.kf.x[2:] *= np.exp(-dt / self.p.lost_velocity_tau_s)
            tr.t = t

    # ---- detections ---------------------------------------------------------
    def update(self, frame: DetectionFrame) -> None:
        t = frame.stamp
        if t < self.now - self.p.max_frame_lag_s:
            self.dropped_frames += 1
            return
        self._predict_to(t)
        self.now = max(self.now, t)
        dets = [d for d in frame.people if np.all(np.isfinite(d.head)) and np.isfinite(d.height_m)]
        live = [tr for tr in self.tracks if not tr.left_unseen and (tr.exited_at is None or t - tr.exited_at < self.p.exited_linger_s)]
        walking_in = self._walking_in(live, dets)
        pairs, stood = self._associate(live, dets, t, walking_in)
        since = t - self._last_frame.get(frame.camera_id, -math.inf)
        self._last_frame[frame.camera_id] = t
        self._follow_swaps(live, dets, pairs, t, min(1.0, since / self.p.encounter_look_s) if self.p.encounter_look_s > 0 else 1.0)
        used = set()
        for ti, di in pairs:
            if (ti, di) in stood:  # found again where it stood: its coasting was false
                live[ti].kf.x[:2], live[ti].kf.x[2:] = stood[ti, di], 0.0
            self._hit(live[ti], dets[di], t)
            used.add(di)
        for di, d in enumerate(dets):
            if di in used:
                continue
            if any(np.linalg.norm(tr.xy - d.head[:2]) < self.p.birth_clearance_m and not walking_in[i, di] for i, tr in enumerate(live)):
                continue
            kf = make_filter(d.head[:2], self.p.meas_std_m, 0.8)
            crowded = any(tr.state == CONFIRMED and np.linalg.norm(tr.xy - d.head[:2]) < self.p.crowded_birth_m for tr in live)
            tr = _Track(self._new_id(), kf, t, t, float(d.height_m), d.head[:2].copy(), last_seen=t,
                        hands=[np.asarray(h, float) for h in d.hands], crowded_birth=crowded and not self._near_entry(d.head[:2]))
            tr.trail.append((t, float(d.head[0]), float(d.head[1])))
            self.tracks.append(tr)
        if self._spare_exits:
            self._spend_spare_exits(t)
        self._age(t)
        self._record(t)

    def _walking_in(self, live: list[_Track], dets: list[PersonDetection]) -> np.ndarray:
        """(track, detection): True where the track has left and the head is farther into the
        store than it stood at its EXIT (by more than exited_inward_m): someone else, walking
        in, whom the leaver's track neither takes nor keeps from a track of their own."""
        out = np.zeros((len(live), len(dets)), dtype=bool)
        for i, tr in enumerate(live):
            if tr.exit is not None and dets:
                gate, depth = tr.exit
                inward = (np.array([d.head[:2] for d in dets]) - gate.center) @ gate.normal
                out[i] = inward > max(depth, 0.0) + self.p.exited_inward_m
        return out

    def _associate(self, live: list[_Track], dets: list[PersonDetection], t: float, walking_in: np.ndarray
                   ) -> tuple[list[tuple[int, int]], dict[tuple[int, int], np.ndarray]]:
        """Pairs (track, detection); and of those found again standing (_stood), the place.
        `walking_in`: pairs never made (_walking_in)."""
        if not live or not dets:
            return [], {}
        meas = np.array([d.head[:2] for d in dets]).reshape(-1, 2)
        means = np.array([tr.xy for tr in live]).reshape(-1, 2)
        covs = np.array([tr.kf.P[:2, :2] for tr in live]).reshape(-1, 2, 2)
        r = np.eye(2) * self.p.meas_std_m**2
        d2 = mahalanobis_costs(means, covs, meas, r)
        dist = np.linalg.norm(means[:, None, :] - meas[None, :, :], axis=-1)
        coast = self._coast_charge(live, covs, r, t)[:, None] * np.ones_like(d2)
        stood = self._stood(live, meas, covs, r, d2, coast, t)
        for (i, j), (cost, place, own) in stood.items():
            d2[i, j], dist[i, j] = cost, float(np.linalg.norm(meas[j] - place))
            if own:  # its own spread standing, not the motion model's
                coast[i, j] = 0.0
        # Head height keeps two people apart when their paths cross (used live, only
        # within a track's life: nothing about a body is kept or compared across visits).
        # Capped, so a shopper crouching to a low shelf keeps the track.
        dh = np.array([tr.height for tr in live])[:, None] - np.array([d.height_m for d in dets])[None, :]
        settled = np.array([tr.hits >= 5 for tr in live])[:, None]
        costs = d2 + np.where(settled, np.minimum((dh / self.p.height_std_m) ** 2, self.p.height_cost_cap), 0.0)
        inside = (d2 <= self.p.gate_chi2) & ~walking_in  # gate on position alone
        gate = self.p.gate_chi2 + self.p.height_cost_cap
        # A tentative track pays a little extra, so a spurious birth beside a person can't
        # pull that person's detections away; but it still competes, so an established
        # track whose person is out of this camera's view can't steal a newcomer's head.
        tentative = np.array([tr.state == TENTATIVE for tr in live], dtype=bool)
        costs = costs + np.where(tentative[:, None], self.p.tentative_cost, 0.0)
        costs = costs + coast
        pairs = assign(costs, gate + self.p.tentative_cost, dist, self.p.gate_max_m, allowed=inside)
        self._note_encounters(live, dets, pairs, np.where(inside & (dist <= self.p.gate_max_m), costs, np.inf),
                              (gate + self.p.tentative_cost) / 2, t)
        return pairs, {pair: stood[pair][1] for pair in pairs if pair in stood}

    def _note_encounters(self, live: list[_Track], dets: list[PersonDetection], pairs: list[tuple[int, int]], costs: np.ndarray,
                         miss: float, t: float) -> None:
        """Two sessions' shoppers close enough that a detection could be either's may have
        swapped tracks here (heights alike, one of them unseen for a frame): the other
        pairing against the one chosen (costs are -2 log-likelihoods; `miss`: what leaving
        one unpaired costs), when likely enough, is followed as a shadow (swaps.py)."""
        if not self.p.encounter_rivals:
            return
        took = dict(pairs)
        # each pair of tracks once a frame: its likeliest other pairing, and what that gives each
        # A track past its EXIT lingers beyond the gate: its shopper is out, so a meeting
        # with it moves nothing billable, whoever follows whom (a family's exited member and
        # another session's leaver read swapped at 0.93 by a head cut at the view's edge,
        # and the doubt fell on both families' last items, groups 35005).
        frame: dict[tuple[int, int], tuple[float, int | None, int | None]] = {}
        for i, a in pairs:
            if not live[i].token or live[i].exited_at is not None:
                continue
            for j in np.flatnonzero(np.isfinite(costs[:, a])):
                j = int(j)
                tj = live[j]
                if j == i or not tj.token or tj.token == live[i].token or tj.state == TENTATIVE or tj.exited_at is not None:
                    continue
                b = took.get(j)
                if b is None:  # j unpaired now: it takes a, i goes unpaired
                    delta, gets_i = costs[j, a] - costs[i, a], None
                elif np.isfinite(costs[i, b]):  # the two swap detections
                    delta, gets_i = costs[j, a] + costs[i, b] - costs[i, a] - costs[j, b], b
                else:  # j takes a, and both i and b go unpaired
                    delta, gets_i = costs[j, a] + 2 * miss - costs[i, a] - costs[j, b], None
                p = 1.0 / (1.0 + math.exp(min(delta / 2.0, 700.0)))
                key, gets = ((i, j), (gets_i, a)) if i < j else ((j, i), (a, gets_i))
                if p > frame.get(key, (0.0,))[0]:
                    frame[key] = (p, *gets)
        for (i, j), (p, gi, gj) in frame.items():
            if p < self.p.encounter_min_p:
                continue
            if live[j].id < live[i].id:  # one key per pair of tracks, whatever their order in `live`
                i, j, gi, gj = j, i, gj, gi
            shadow = swaps.spawn((self._head(live[i]), self._head(live[j])), (_seen(dets, gi), _seen(dets, gj)), p, t, self._swap_params)
            self._swaps.setdefault((live[i].id, live[j].id), swaps.Encounter([], t)).add(shadow, self.p.encounter_shadows)

    @staticmethod
    def _head(tr: _Track) -> swaps.Head:
        return swaps.Head(np.asarray(tr.kf.x, float).ravel().copy(), np.asarray(tr.kf.P, float).copy(), tr.height, tr.t)

    def _follow_swaps(self, live: list[_Track], dets: list[PersonDetection], pairs: list[tuple[int, int]], t: float,
                      weight: float = 1.0) -> None:
        """Each shadow of an earlier frame weighs this frame's detections of its two tracks
        (before the tracker's update), `weight` of a look (encounter_look_s); a settled one
        names its rivals (_settle_swap)."""
        if not self._swaps:
            return
        index = {tr.id: k for k, tr in enumerate(live)}
        took = dict(pairs)
        for key, enc in list(self._swaps.items()):
            ia, ib = index.get(key[0]), index.get(key[1])
            if ia is None or ib is None:  # one of them is gone (deleted, or lingered out after its exit)
                self._settle_swap(key)
                continue
            seen = (_seen(dets, took.get(ia)), _seen(dets, took.get(ib)))
            enc.step(t, (self._head(live[ia]), self._head(live[ib])), seen, self._swap_params, weight)
            if (not enc.shadows or t - enc.last > self.p.encounter_max_s
                    or np.linalg.norm(live[ia].xy - live[ib].xy) > self.p.encounter_part_m):
                self._settle_swap(key)

    def _settle_swap(self, key: tuple[str, str]) -> None:
        """An encounter whose shadows say the tracks swapped names each session the other's
        rival, as likely as that; one whose shadows all rejoined the tracker's pairing, nothing."""
        enc = self._swaps.pop(key)
        p = enc.p_swapped
        if p < self.p.encounter_min_p:
            return
        by_id = {tr.id: tr for tr in self.tracks}
        a, b = by_id.get(key[0]), by_id.get(key[1])
        if a is not None and b is not None:  # a swap moves only what came after they met
            _rivals_of_each_other(a, b, p, enc.since, f"passed too close to tell apart at t={enc.since:.1f} s")

    def _coast_charge(self, live: list[_Track], covs: np.ndarray, r: np.ndarray, t: float) -> np.ndarray:
        """What each track pays for the spread its place gained since its last match: the
        rest of the innovation's negative log-likelihood (log det S, from where its match
        left it). A head where a shopper seen just now is predicted stays theirs when a
        coasting neighbour's widened gate takes it in too, and of two coasting tracks the
        one found where it is predicted keeps its head. Not the whole log det S, nor from
        the first frame missed: two tracks on one shopper (fed by two cameras) would take
        turns, and the one that lost a single frame would starve for ever."""
        matched = np.array([tr.match_cov for tr in live]).reshape(-1, 2, 2)
        unseen = np.array([t - tr.last_seen for tr in live])
        weight = np.clip(unseen / max(self.p.coast_after_s, 1e-9) - 1.0, 0.0, 1.0)  # 0 up to coast_after_s, 1 from twice that
        return weight * _spread_growth(covs, matched, r[None])  # log det S now / after the match

    def _stood(self, live: list[_Track], meas: np.ndarray, covs: np.ndarray, r: np.ndarray, d2: np.ndarray, coast: np.ndarray,
               t: float) -> dict[tuple[int, int], tuple[float, np.ndarray, bool]]:
        """(track, detection) -> (cost, place, own spread) where a track unseen
        reacquire_after_s or more matches a detection at a place it recently stood
        (_rest_places) better than where its motion model puts it (`d2`).
        Before it is LOST (a false velocity): only with no detection where it is predicted,
        at its predicted spread. LOST (a shopper hidden for seconds in a jam): also where it
        was last matched if its velocity is a standstill now (one seen only now and then has
        no two matches in one place), at its own spread standing (reacquire_rest_std_m since its
        last match, no coast charge), against the model's cost with the charge: by then the
        model's spread is metres, and a neighbour whose own head a camera misses, with its
        track's gate widened a little by 0.1 s unseen, would take the head."""
        out: dict[tuple[int, int], tuple[float, np.ndarray, bool]] = {}
        for i, tr in enumerate(live):
            unseen = t - tr.last_seen
            lost = unseen >= self.p.lost_after_s
            if tr.state == TENTATIVE or unseen < self.p.reacquire_after_s or (not lost and d2[i].min() <= self.p.gate_chi2):
                continue  # not coasting, or someone where it is predicted
            places = self._rest_places(tr)
            if lost and tr.trail and float(np.linalg.norm(tr.kf.x[2:4])) <= self.p.reacquire_rest_mps:
                # at a standstill by its velocity now (seen so, or stopped since by lost_velocity_tau_s,
                # the model's own belief): a short shopper seen once in a jam has no two matches there
                places = np.vstack([places.reshape(-1, 2), np.array(tr.trail[-1][1:])[None]])
            if not len(places):
                continue
            spread, now, grown = covs[i], d2[i], 0.0
            if lost:
                spread = tr.match_cov + np.eye(2) * self.p.reacquire_rest_std_m**2
                grown = float(_spread_growth(spread, tr.match_cov, r))
                now = d2[i] + coast[i]
            there = mahalanobis_costs(places, np.repeat(spread[None], len(places), axis=0), meas, r)  # (places, dets)
            best = np.argmin(there, axis=0)
            cost = there[best, np.arange(len(meas))] + grown + self.p.reacquire_cost
            for j in np.flatnonzero(cost < now):
                out[i, int(j)] = (float(cost[j]), places[best[j]].copy(), lost)
        return out

    def _rest_places(self, tr: _Track) -> np.ndarray:
        """(n, 2) places where the track stood in the reacquire_window_s before it went
        unseen: matches under reacquire_rest_mps from its match reacquire_rest_s earlier.
        Kept until its next match (a track goes unseen for many frames)."""
        if tr.rest_places is not None and tr.rest_places[0] == tr.last_seen:
            return tr.rest_places[1]
        since = tr.last_seen - self.p.reacquire_window_s - self.p.reacquire_rest_s
        tail = list(itertools.takewhile(lambda m: m[0] >= since, reversed(tr.trail)))[::-1]
        if len(tail) < len(tr.trail):
            tail.insert(0, tr.trail[len(tr.trail) - len(tail) - 1])  # the match just before, for the earliest
        pts = np.array(tail).reshape(-1, 3)
        ts, xy = pts[:, 0], pts[:, 1:]
        k = np.flatnonzero((ts >= tr.last_seen - self.p.reacquire_window_s) & (ts - self.p.reacquire_rest_s >= ts[:1]))
        before = ts[k] - self.p.reacquire_rest_s
        j = np.clip(np.searchsorted(ts, before), 1, max(len(ts) - 1, 1))  # the matches either side of `before`,
        j = np.where(np.abs(ts[j - 1] - before) < np.abs(ts[j] - before), j - 1, j)  # the nearer of the two
        dt = ts[k] - ts[j]
        rest = (dt >= self.p.reacquire_rest_s / 2) & (np.linalg.norm(xy[k] - xy[j], axis=1) <= self.p.reacquire_rest_mps * dt)
        # A false velocity comes from a frame or two; a track matched walking away from its
        # last rest for longer than that walked (a shopper who stood for a hand-over and
        # walked on must not be pulled back onto the one who stays)
        if rest.any() and tr.last_seen - float(ts[k[rest]].max()) > self.p.reacquire_moved_s:
            rest[:] = False
        places = xy[k[rest]]
        tr.rest_places = (tr.last_seen, places)
        return places

    def _hit(self, tr: _Track, d: PersonDetection, t: float) -> None:
        tr.kf.update(d.head[:2])
        tr.matched_cov = tr.kf.P[:2, :2].copy()
        tr.height = HEIGHT_KEEP * tr.height + (1.0 - HEIGHT_KEEP) * float(d.height_m)
        tr.hits += 1
        tr.last_seen = max(tr.last_seen, t)
        tr.hands = [np.asarray(h, float) for h in d.hands]
        tr.trail.append((t, float(tr.kf.x[0]), float(tr.kf.x[1])))
        while tr.trail[0][0] < t - self._trail_s:
            tr.trail.popleft()
        if tr.state == LOST:
            tr.state = CONFIRMED
        if tr.state == TENTATIVE and tr.hits >= self.p.confirm_hits and (not tr.crowded_birth or t - tr.born >= self.p.crowded_confirm_s):
            tr.state = CONFIRMED
            tr.confirmed_at = t

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
                if tr.token and tr.exited_at is None:
                    self._mark_exited(tr, t)  # reported EXITED once, then dropped like any exited track
                    tr.left_unseen = True
                    self.sessions.mark_exited(tr.id, tr.token, t)
                    self.unseen_exits += 1
                    keep.append(tr)
                continue
            if tr.state == LOST and not tr.token and unseen > self.p.delete_unbound_lost_after_s:
                continue  # never a shopper of any session: a ghost, not worth waiting for
            if tr.exited_at is not None and t - tr.exited_at > self.p.exited_linger_s and unseen > 0.5:
                continue
            keep.append(tr)
        self.tracks = keep
        if self.p.merge_m > 0:
            self._merge_duplicates(t)
        self._bind_pending()
        for pend in self.sessions.expire(t, self.p.binding_window_s):
            self._never_tracked(pend)
        for tr in self.tracks:
            if tr.state == CONFIRMED and not tr.token and t - tr.born < self.p.rebind_retry_s + self.p.binding_window_s:
                self._try_rebind(tr, t)
            elif tr.seen_again is not None and t - tr.seen_again.rebind.stamp <= self.p.takeover_watch_s:
                self._check_takeovers(tr)

    def _merge_duplicates(self, t: float) -> None:
        """Drops the second of two confirmed tracks on one person (see merge_m)."""
        live = [tr for tr in self.tracks if tr.state == CONFIRMED and tr.exited_at is None]
        close: dict[tuple[str, str], tuple[float, float]] = {}
        if len(live) >= 2:  # every update: one distance matrix, then only the close pairs
            xy = np.array([tr.xy for tr in live])
            near = np.linalg.norm(xy[:, None, :] - xy[None, :, :], axis=-1) < self.p.merge_m
            for i, j in zip(*np.nonzero(np.triu(near, 1)), strict=True):
                key = tuple(sorted((live[i].id, live[j].id)))
                prev = self._close.get(key)
                close[key] = (prev[0] if prev else t, t)
        by_id = {tr.id: tr for tr in live}
        for key, prev in self._close.items():  # apart a moment: still counted as close
            if key not in close and key[0] in by_id and key[1] in by_id and t - prev[1] <= self.p.merge_gap_s:
                close[key] = prev
        self._close = close
        for (ia, ib), (since, last) in close.items():
            a, b = by_id.get(ia), by_id.get(ib)
            if a is None or b is None or last < t or t - since < self.p.merge_s or (a.token and b.token):
                continue
            keep, drop = sorted((a, b), key=lambda tr: (not tr.token, tr.born))
            keep.hits += drop.hits
            keep.last_seen = max(keep.last_seen, drop.last_seen)
            self.tracks.remove(drop)
            del by_id[drop.id]
            self.merged += 1

    def advance(self, stamp: float) -> list[SessionClosed]:
        """Time passes without detections: states age, pending bindings expire."""
        if stamp > self.now:
            self._predict_to(stamp)
            self.now = stamp
            self._age(stamp)
            self._record(stamp)
        return []

    def _record(self, t: float) -> None:
        for tr in self.tracks:
            if tr.state != TENTATIVE:
                self.history.add(tr.snapshot(t))
        self.history.prune(t - self.p.history_s)

    # ---- sessions -----------------------------------------------------------
    def _near_entry(self, xy: np.ndarray) -> bool:
        return any(gate_distance(xy, g, self._entry_reach) is not None for g in self._entry_gates)

    def on_gate(self, event: GateEvent) -> list[SessionClosed]:
        """Raises KeyError for an unknown gate, ValueError for an ENTRY without a token."""
        gate = self.gates.get(event.gate_id)
        if gate is None:
            raise KeyError(f"GateEvent for unknown gate '{event.gate_id}'")
        if not np.isfinite(event.stamp):
            raise ValueError(f"GateEvent at gate '{event.gate_id}' has a non-finite stamp")
        if event.kind == ENTRY:
            if not event.session_token:
                raise ValueError(f"ENTRY at gate '{event.gate_id}' has an empty session_token")
            self.sessions.add_entry(gate, event.session_token, event.stamp)
            self._bind_pending()
            return []
        return self._exit(gate, event.stamp)

    def _bind_pending(self) -> None:
        """Binds waiting ENTRYs to the unbound confirmed tracks near their gate, by when each
        track crossed the gate line (seen, or extrapolated at its own pace) against the
        event's stamp. Gates stamp within gate_stamp_error_s of the crossing (the contract),
        so an ENTRY waits until every crossing and every other ENTRY it could be confused
        with has come (twice that, plus the crossing times' error, after its stamp); then
        the ENTRYs waiting at its gate and the tracks there are paired jointly: as many
        pairs within the bound as can be, then the least squared stamp error. A gate that
        stamps every crossing 0.4 s late still pairs two shoppers 0.7 s apart in order,
        though the crossing nearest in time to the first stamp is the second shopper's."""
        reach = self._entry_reach
        by_gate: dict[str, list[PendingEntry]] = {}
        for pend in self.sessions.pending:
            by_gate.setdefault(pend.gate.id, []).append(pend)
        for pends in by_gate.values():
            if not any(self.now >= pend.stamp + self._ripe_s for pend in pends):
                continue
            gate = pends[0].gate
            tracks = [tr for tr in self.tracks if not tr.token and tr.exited_at is None and tr.state == CONFIRMED]
            if not tracks:
                continue
            crossed = [tr.crossed_at(gate, self.p.entry_walk_mps) for tr in tracks]
            cost = np.full((len(pends), len(tracks)), _NO_PAIR)
            for i, pend in enumerate(pends):
                for j, tr in enumerate(tracks):
                    if tr.born <= pend.stamp + self.p.binding_window_s and gate_distance(tr.xy_at(pend.stamp), gate, reach) is not None:
                        err = min(abs(crossed[j] - pend.stamp), 1e3)  # inf: not walking in, a last resort
                        cost[i, j] = err * err + (0.0 if err <= self._swap_s else _OUT_OF_BOUND)
            for i, j in zip(*linear_sum_assignment(cost), strict=True):
                pend, tr = pends[i], tracks[j]
                if cost[i, j] >= _NO_PAIR or self.now < pend.stamp + self._ripe_s:
                    continue
                self._bind(tr, pend)

    def _bind(self, tr: _Track, pend: PendingEntry) -> None:
        """Binds `tr` to a waiting ENTRY's session and names the entries it may be swapped with."""
        tr.token, tr.entry = pend.token, (pend.gate, pend.stamp)
        self.sessions.bind(pend.token, tr.id)
        self.sessions.pending.remove(pend)
        self._note_swaps(tr)

    def _note_swaps(self, tr: _Track) -> None:
        """Names as rivals the sessions entered through the same gate whose ENTRY stamp fits
        this track's crossing while this one's stamp fits theirs: within the contract's
        bound either pairing of the two tokens with the two shoppers is possible, and
        nothing in the stamps favours one (a uniform error within the bound): 0.5 each."""
        assert tr.entry is not None
        gate, stamp = tr.entry
        crossed = tr.crossed_at(gate, self.p.entry_walk_mps)
        for o in self.tracks:
            if o is tr or o.entry is None or o.token == tr.token or o.entry[0].id != gate.id:
                continue
            o_stamp = o.entry[1]
            if abs(o_stamp - stamp) > 2 * self._swap_s:
                continue
            if abs(stamp - o.crossed_at(gate, self.p.entry_walk_mps)) <= self._swap_s and abs(o_stamp - crossed) <= self._swap_s:
                _rivals_of_each_other(tr, o, 0.5, -math.inf, f"entered through gate {gate.id} too close in time to tell apart")

    def _exit(self, gate: Gate, stamp: float) -> list[SessionClosed]:
        """Marks the track that made an EXIT: one seen crossing the line outward within the
        contract's bound of the stamp (the nearest in time), else the one nearest the line
        at the stamp. By time, a gate that reports late can't give a shopper's EXIT to
        the next one still walking up to the line while the first is already out."""
        previous = self.sessions.last_exit.get(gate.id, -np.inf)
        recent = stamp - previous < self.p.duplicate_exit_s
        self.sessions.last_exit[gate.id] = stamp
        # Right after an EXIT only someone right at the line, or across it, makes a second one.
        near_m = self.p.gate_reach_m + 0.6
        reach = 0.8 if recent else near_m
        cands, leaving, crossed = [], [], []
        for tr in self.tracks:
            if tr.exited_at is not None or tr.state == TENTATIVE:
                continue
            penalty = (0.5 if tr.state == LOST else 0.0) + (0.0 if tr.token else 0.3)  # metres, or seconds at a walk
            xy = tr.xy_at(stamp)
            out_at = tr.crossing_seen(gate, outward=True)
            if out_at is not None:
                crossed.append((out_at, tr))
            if out_at is not None and abs(out_at - stamp) <= self._swap_s and gate_distance(xy, gate, near_m) is not None:
                leaving.append((abs(out_at - stamp) + penalty, tr))
            d = gate_distance(xy, gate, reach)
            if d is not None:
                cands.append((d + penalty, tr))
        if leaving:
            cands = leaving
        lost = [o for o in self.tracks if o.state == LOST and o.token and o.exited_at is None]
        if not cands and recent:
            # The same person's EXIT twice, unless another was seen crossing out within the
            # bound of the last one: a late gate gave that EXIT to the later of two leaving
            # close together (crossed nearer its stamp), and this one is the other's
            # (`touch` 33008: 0.4 s apart, stamps 0.4-0.5 s late; the first stayed open).
            other = [(abs(out_at - previous), o) for out_at, o in crossed
                     if o.token and abs(out_at - previous) <= self._swap_s and out_at <= stamp]
            if not other:
                # ... or a session's shopper unseen near the line is the one who left (the
                # contract has one EXIT per person). Two shoppers left 0.45 s apart: the first
                # one's track had taken the second, whose own was unseen 0.5 s, 1.1 m from the
                # line; the second EXIT, read as a duplicate, left that session open (`slow` 43010).
                lost = [o for o in self.tracks if o.token and o.exited_at is None and o.state != TENTATIVE  # LOST, or unseen a while
                        and self.now - o.last_seen >= self.p.exit_unseen_s and gate_distance(o.xy_at(stamp), gate, near_m) is not None]
                if not lost:
                    return []
            cands = other
        if not cands and lost:
            # Nobody tracked at the gate: the nearest LOST member of an open session left.
            member = min(lost, key=lambda o: float(np.linalg.norm(o.xy - gate.center)))
            self._left_unseen_among(member, lost)
            cands = [(0.0, member)]
        if not cands:
            return self._close_untracked(gate, stamp)
        _, tr = min(cands, key=lambda c: c[0])
        closed: list[SessionClosed] = []
        twin = None if tr.token else self._bound_twin(tr, stamp)
        if twin is not None:
            # A split-off of a session's shopper, its head within merge_m of theirs at the
            # line (seen crossing while the shopper's own track was briefly unseen): one
            # person leaving, under the session's token.
            self._mark_exited(tr, stamp, gate)
            tr = twin
        if not tr.token and (pend := self._entry_of(tr, stamp)) is not None:
            # In and out again before its ENTRY was bound (that waits for every crossing
            # it could be confused with): bound now, so that its session closes.
            self._bind(tr, pend)
        if not tr.token and not lost:
            # An unbound track leaving with no session's member LOST: the shopper whose
            # ENTRY found no track, if any such session is open.
            return self._close_untracked(gate, stamp, tr)
        if not tr.token and lost:
            # An unbound track leaving while a session's member is LOST: that is the
            # member, seen again under a new track; close the member.
            member = min(lost, key=lambda o: float(np.linalg.norm(o.xy - tr.xy)))
            self.rebinds.append(Rebind(tr.id, member.id, member.token, 1.0 / len(lost), stamp))
            self._left_unseen_among(member, lost)
            self._mark_exited(tr, stamp, gate)
            tr = member
        self._mark_exited(tr, stamp, gate)
        if tr.token:
            closed += self.sessions.mark_exited(tr.id, tr.token, stamp)
        return closed

    def _spend_spare_exits(self, t: float) -> None:
        """A spare EXIT (one that closed no session) goes to a session's shopper seen
        crossing out of its gate within the contract's bound of its stamp (the nearest in
        time). Four shoppers left within 0.9 s (`crowd20` 35016): a split-off track took the
        last EXIT, stamped 0.2 s before its own shopper crossed, and that session stayed
        open."""
        keep = []
        for gate, stamp in self._spare_exits:
            fits = [(abs(out_at - stamp), tr) for tr in self.tracks
                    if tr.token and tr.exited_at is None and tr.state == CONFIRMED
                    and (out_at := tr.crossing_seen(gate, outward=True)) is not None and abs(out_at - stamp) <= self._swap_s]
            if fits:
                tr = min(fits, key=lambda f: f[0])[1]
                self._mark_exited(tr, stamp, gate)
                self.sessions.mark_exited(tr.id, tr.token, stamp)
            elif t - stamp <= self._swap_s or any(self._may_be_of(stamp, p) for p in self.sessions.pending):
                keep.append((gate, stamp))  # (or until the ENTRYs it may be of find their tracks)
        self._spare_exits = keep

    def _bound_twin(self, tr: _Track, stamp: float) -> _Track | None:
        """The session's track, not yet out, whose head is within merge_m of `tr`'s at `stamp`
        (the nearest): the same person."""
        xy = tr.xy_at(stamp)
        near = [(float(np.linalg.norm(o.xy_at(stamp) - xy)), o) for o in self.tracks
                if o is not tr and o.token and o.exited_at is None and o.state != TENTATIVE]
        near = [(d, o) for d, o in near if d <= self.p.merge_m]
        return min(near, key=lambda c: c[0])[1] if near else None

    @staticmethod
    def _left_unseen_among(member: _Track, lost: list[_Track]) -> None:
        """`member` is taken for the LOST shopper who left, but any of `lost` may be (nothing
        saw which): each other one's session is a rival of the member's, and the other way."""
        for o in lost:
            if o is not member:
                # what they did while seen is theirs
                since = min(member.last_seen, o.last_seen)
                _rivals_of_each_other(member, o, 1.0 / len(lost), since, f"both unseen from t={since:.1f} s when one of them left")

    def _close_untracked(self, gate: Gate, stamp: float, leaver: _Track | None = None) -> list[SessionClosed]:
        """An EXIT nobody tracked made, or an unbound track: the oldest open session whose
        person was never tracked (its ENTRY found no track) is the one that left. A stand-in
        at the gate, never seen, leaves under its token, so that everyone watching the
        tracks sees the session close; the association, having never seen its shopper, sends
        it to review. (Not the unbound leaver itself: which session's shopper it was is a
        guess, and what it did unbound was billed to nobody.)"""
        if leaver is not None:
            self._mark_exited(leaver, stamp, gate)
        waiting = self.sessions.waiting()
        for token, ids in self.sessions.members.items():
            if not ids and self.sessions.is_open(token) and token not in waiting:
                if closed := self._stand_in_leaves(token, gate, stamp):
                    return closed
                break
        # Closed nobody: still someone leaving, who may be a session's shopper crossing out
        # within the contract's bound (_spend_spare_exits), or one whose ENTRY waits for a
        # track it will never find (_never_tracked).
        self._spare_exits.append((gate, stamp))
        return []

    def _stand_in_leaves(self, token: str, gate: Gate, stamp: float) -> list[SessionClosed]:
        """A stand-in for a session's shopper never tracked leaves through `gate` at `stamp`."""
        kf = make_filter(gate.center, self.p.meas_std_m, 0.8)
        stand_in = _Track(self._new_id(), kf, stamp, stamp, 0.0, gate.center.copy(), last_seen=stamp, token=token)
        self.tracks.append(stand_in)
        self.sessions.bind(token, stand_in.id)
        self._mark_exited(stand_in, stamp, gate)
        return self.sessions.mark_exited(stand_in.id, token, stamp)

    def _never_tracked(self, pend: PendingEntry) -> None:
        """An ENTRY that found no track in time: its session's shopper was never tracked. An
        EXIT that closed nobody while it waited, stamped after it (within the contract's
        bound), is theirs: in and out while someone else's track took them, the session would
        otherwise stay open (a stand-in leaves; the association, having seen nobody, sends
        the receipt to review)."""
        if self.sessions.members.get(pend.token) or not self.sessions.is_open(pend.token):
            return
        spare = [k for k, (_, stamp) in enumerate(self._spare_exits) if self._may_be_of(stamp, pend)]
        if spare:
            gate, stamp = self._spare_exits.pop(min(spare, key=lambda k: self._spare_exits[k][1]))
            self._stand_in_leaves(pend.token, gate, stamp)

    def _may_be_of(self, exit_stamp: float, pend: PendingEntry) -> bool:
        """Whether an EXIT so stamped may be the shopper of that ENTRY's (each stamp within
        the contract's bound of its crossing, the way out after the way in)."""
        return exit_stamp >= pend.stamp - 2 * self.p.gate_stamp_error_s

    def _entry_of(self, tr: _Track, stamp: float) -> PendingEntry | None:
        """The waiting ENTRY, stamped before `stamp`, whose stamp fits `tr`'s own inward
        crossing of that gate within the contract's bound (the nearest in time), if any."""
        reach = self._entry_reach
        fits = [(abs(tr.crossed_at(p.gate, self.p.entry_walk_mps) - p.stamp), p) for p in self.sessions.pending
                if p.stamp <= stamp and gate_distance(tr.xy_at(p.stamp), p.gate, reach) is not None]
        fits = [(err, p) for err, p in fits if err <= self._swap_s]
        return min(fits, key=lambda f: f[0])[1] if fits else None

    def _mark_exited(self, tr: _Track, stamp: float, gate: Gate | None = None) -> None:
        for key in [k for k in self._swaps if tr.id in k]:  # settled before the session may close
            self._settle_swap(key)
        tr.exited_at, tr.state = stamp, EXITED
        if gate is not None:
            tr.exit = (gate, float((tr.xy_at(stamp) - gate.center) @ gate.normal))
        tr.hands = []
        self.history.add(tr.snapshot(max(stamp, self.now)))

    def _try_rebind(self, tr: _Track, t: float) -> None:
        """A track born away from every entry gate (or one no ENTRY claimed in time) is
        someone seen again: it carries on the LOST track that most plausibly walked there,
        its head at about that track's height (a person keeps their height; one bending to a
        low shelf reads lower). The shoppers whose track may have taken over that person
        instead become its rivals (_takeovers)."""
        near_entry = self._near_entry(tr.born_xy)
        if near_entry and t - tr.born < self.p.binding_window_s:
            return  # its ENTRY may still come
        cands: list[tuple[float, _Track]] = []
        for old in self.tracks:
            if old is tr or old.state != LOST or not old.token or old.exited_at is not None:
                continue
            gap = max(tr.born - old.last_seen, 0.0)
            if gap > self.p.rebind_window_s:
                continue
            reach = self.p.max_speed * gap + self.p.rebind_margin_m
            d = float(np.linalg.norm(tr.born_xy - old.xy))
            if d <= reach:
                sigma2 = self.p.rebind_margin_m**2 / 4 + (0.5 * gap) ** 2  # grows with the time unseen
                cands.append((d * d / sigma2 + 2 * np.log(sigma2) - 2 * np.log(self._same_height(tr.height, old.height)), old))
        if not cands:
            return
        scores = np.array([c for c, _ in cands])
        weights = np.exp(-0.5 * (scores - scores.min()))
        weights /= weights.sum()
        k = int(np.argmax(weights))
        old = cands[k][1]
        # The person seen again carries on the old track: same id, same session (and its
        # doubts); the other LOST tracks that could have walked there are its rivals.
        rebind = Rebind(tr.id, old.id, old.token, float(weights[k]), t)
        self.rebinds.append(rebind)
        tr.id, tr.token, tr.born, tr.entry = old.id, old.token, old.born, old.entry
        tr.rivals, tr.rival_since, tr.rival_why = dict(old.rivals), dict(old.rival_since), dict(old.rival_why)
        for w, (_, other) in zip(weights, cands, strict=True):
            if other is not old and w >= self.p.rival_min_p:
                # what they did while seen is theirs (tr carries old's token and doubts on)
                since = min(old.last_seen, other.last_seen)
                _rivals_of_each_other(tr, other, float(w), since, f"both unseen from t={since:.1f} s; the one seen again at t={t:.1f} s may be either")
        tr.seen_again = _SeenAgain(old.last_seen, old.xy_at(old.last_seen), old.height, rebind)
        self._check_takeovers(tr)
        tr.trail = deque([*old.trail, *tr.trail])
        self.tracks.remove(old)

    def _check_takeovers(self, tr: _Track) -> None:
        """Names the sessions of the tracks that may have taken over the person of the LOST
        track `tr` was re-bound to (_takeovers) `tr`'s rivals, and `tr`'s theirs."""
        takers = self._takeovers(tr)
        for taker, p in takers:
            _rivals_of_each_other(tr, taker, p, tr.seen_again.lost_at,
                                  f"unseen from t={tr.seen_again.lost_at:.1f} s; one of the two tracks may have taken over the other's shopper "
                                  f"before the re-binding at t={tr.seen_again.rebind.stamp:.1f} s")
        tr.seen_again.rebind.takeover = max(tr.seen_again.rebind.takeover, sum(p for _, p in takers))

    def _takeovers(self, tr: _Track) -> list[tuple[_Track, float]]:
        """The bound tracks that may have taken over the person of the LOST track `tr` was
        re-bound to, leaving their own to be reborn as `tr`: (taker, P(takeover)), against
        `tr` being that person (see takeover_m). A taker's height then is its recorded head
        height when the LOST track went unseen; a person keeps their height, so its change
        since says whom it follows now."""
        lost = tr.seen_again
        if lost is None or self.p.takeover_prior <= 0:
            return []
        odds: list[tuple[_Track, float]] = []
        for c in self.tracks:
            if c is tr or not c.token or c.token == tr.token or c.exited_at is not None:
                continue
            known = lost.suspects.get(c.id)
            if known is None:
                snaps = self.history.of(c.id, lost.lost_at - self.p.lost_after_s, self.now)
                if not snaps:
                    continue  # not recorded yet: weighed from its first snapshot on
                near = np.linalg.norm(np.array([s.position[:2] for s in snaps]) - lost.where, axis=1)
                known = (float(near.min()), float(snaps[0].position[2]))  # height when the LOST track went unseen (or c first was seen after)
            lost.suspects[c.id] = known = (min(known[0], float(np.hypot(*(c.xy - lost.where)))), known[1])
            near_m, h_was = known
            if near_m > self.p.takeover_m:
                continue  # never came near the place the LOST shopper was last seen
            odds.append((c, self.p.takeover_prior * self._same_height(tr.height, h_was) * self._same_height(c.height, lost.height)
                         / (self._same_height(tr.height, lost.height) * self._same_height(c.height, h_was))))
        total = 1.0 + sum(o for _, o in odds)
        return [(c, o / total) for c, o in odds if o / total >= self.p.rival_min_p]

    def _same_height(self, h: float, h_old: float) -> float:
        """Likelihood (per metre) of a reborn head at height h for the person a LOST track
        at h_old followed: close, or anywhere within a metre (bending, half seen)."""
        sd, out = self.p.rebind_height_std_m, self.p.rebind_height_outlier
        return (1.0 - out) * math.exp(-0.5 * ((h - h_old) / sd) ** 2) / (sd * math.sqrt(2 * math.pi)) + out

    # ---- output -------------------------------------------------------------
    def snapshots(self) -> list[TrackSnapshot]:
        return [tr.snapshot(self.now) for tr in self.tracks if tr.state != TENTATIVE]

    def waiting_tokens(self) -> list[str]:
        """Sessions with an ENTRY still waiting for its shopper's track (a group member
        coming in): they must not close yet, though every member bound so far has left."""
        return sorted(self.sessions.waiting())

    def unbound(self) -> list[UnboundTrack]:
        """Confirmed tracks no session claimed after their binding window: whatever they
        take can't be billed to anyone (the association reports it)."""
        return [UnboundTrack(tr.id, tr.born, tr.xy.copy()) for tr in self.tracks
                if tr.state in (CONFIRMED, LOST) and not tr.token and tr.exited_at is None
                and self.now - tr.born >= self.p.binding_window_s]
