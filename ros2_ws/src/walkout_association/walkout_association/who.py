"""Who made a plate event: the probability that each track's hand did it.

The weight of a plate changes only while a hand is on it, so the actor's arm tip is at
the plate's front edge (arms are seen up to the shelf front) *while* the weight changes.
Each track's looks during the change, widened by the sensors' clock and frame
tolerance, are weighed as a likelihood ratio "actor" against "bystander": an arm tip
at the edge is likely for the actor and unlikely for anyone else; a look with no arm
tip there counts against. A head out of reach rules a track out. Looks of one reach
are not independent (one mis-attributed arm lasts a whole reach), so the evidence of a
track is capped: two tracks that both show an arm at the plate stay uncertain.

Shelves stack: a hand reaching into the shelf level above a plate is at that plate's
front too, and its tip (on the goods, above their plate) within the height band of the
plate below. A tip at the height of a plate stacked over this one (from hand_low_m below
it up) reaches that plate, not this one; nor is a tip nearer the front of a plate beside
this one, on the same shelf level, than this one's (a neighbour reaching into the next
plate, within hand_near_m of this plate's end).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from walkout_common.store import Plate
from walkout_common.types import EXITED, PlateEvent, TrackSnapshot


@dataclass
class WhoParams:
    window_before_s: float = 1.0  # history kept around an event (heads, for the reach)
    window_after_s: float = 0.5
    sync_s: float = 0.2  # clocks agree within 50 ms, a depth frame lasts up to 0.1 s, edges found to ~0.05 s
    during_s: float = 0.05  # "within the change itself": its edges widened by the clocks' agreement only
    look_s: float = 0.1  # snapshots of a track within this long are one look
    # A track no detection matched for this long is not looked at: its head is predicted
    # and its hands are old (depth frames come at 10 Hz or more, one may drop).
    stale_s: float = 0.25
    hand_sigma_m: float = 0.12  # spread of a seen arm tip around the plate's front edge
    hand_max_height_gap_m: float = 0.6  # arm tip height vs plate height (reaches above a plate still count)
    hand_seen_p: float = 0.8  # P(the actor's arm tip is seen at the edge in one look)
    hand_stray_p: float = 0.05  # P(a bystander's arm tip is seen near this plate in one look)
    stray_range_m: float = 0.6  # how near: a tip farther from the edge is no look at this plate
    # Caps on one track's evidence: looks of one reach are correlated, and an arm seen at
    # the edge during the change is strong but not unique (a neighbour's arm can be
    # taken for it), so the case for an actor is capped lower than the case against.
    max_log_ratio: float = 4.5
    min_log_ratio: float = -4.0
    past_m: float = 0.3  # an arm passing this close by a nearer head is seen as that head's arm
    over_head_m: float = 0.1  # an arm given to a farther head, its way this close over a nearer one's, may be the nearer one's
    past_tip_m: float = 0.45  # or an arm tip seen this near the plate's edge (short of it, or beside it)
    # How likely such an arm is the reacher's rather than the nearer one's. Fitted on the
    # 388 events of the evaluation library: of the 102 candidates (single-actor events, not
    # a member of the arm owner's own group) the rule gave shared evidence, 6 were the actor;
    # 0.15 makes their mean predicted probability match (calibration in the large).
    past_share: float = 0.15
    reach_m: float = 0.85  # how far a head can be from the front edge to reach it
    reach_soft_m: float = 0.25  # fall-off beyond reach_m
    unseen_p: float = 0.01  # a track nobody saw during the change (lost, a dark camera) reached unseen
    nobody_likelihood: float = 1e-4  # nobody tracked did it (every aisle point is seen)
    # Who made it: a conditional-logit choice among the tracks in reach, on what each one
    # showed during the change (see `choice_features`); weights fitted by `./walkout eval
    # --fit` on the scenario library (walkout_bringup/fit_who.py), on the scale of
    # nobody_likelihood. A look is "near" when an arm tip is within hand_near_m of the
    # plate's front and at the plate's height (hand_low_m below to hand_high_m above it).
    hand_near_m: float = 0.15
    hand_low_m: float = 0.15
    hand_high_m: float = 0.5
    beside_margin_m: float = 0.05  # a tip this much nearer the front of a plate beside this one is at that plate
    choice_bias: float = 0.074
    w_near_frac: float = 3.067  # fraction of its looks with an arm tip at the plate
    w_near_any: float = -0.228  # any such look
    w_unseen: float = 1.884  # nobody saw it during the change (lost)
    w_log_reach: float = 0.216  # log of the reach factor (head distance, its uncertainty)
    w_head_m: float = 0.339  # its head's distance from the plate's front during the change
    w_past_frac: float = -1.336  # near fraction of a nearer shopper it may reach past (its arm seen as theirs)
    w_old_lr: float = 0.056  # the capped arm likelihood ratio (looks scored one by one)
    w_alone_frac: float = 1.237  # fraction of its looks with an arm at the plate while no other track showed one there
    w_armless_m: float = -2.385  # no arm at the plate in any look while seen: its head's distance (to 1.5 m)
    # A track no session claimed (a raised arm or a shoulder split off someone, a person
    # seen again whom re-binding could not name) is seldom the billable actor, least of all
    # one lost during the change: it no longer outweighs a session's shopper at the shelf
    # whose arm the head hides.
    w_unbound: float = -3.46
    w_unbound_unseen: float = -0.817
    # A shopper who takes or puts back stands at the shelf; one walking by (its head
    # moving at a walking pace during the change) is seldom the actor, arm or no arm.
    w_head_speed: float = -1.055  # its speed during the change, m/s (to HEAD_SPEED_MAX_MPS)
    # Two shoppers acting in one change: one standing with its head this near the plate's
    # front, seen with no arm there, may hold its arm under its head (from above, the head
    # hides it); its case for a part of the change is then this share likelihood, a third of
    # a seen arm's at the cap (exp(max_log_ratio)). In a two-unit take beside one seen arm
    # that makes "one unit each" about 10 % likely: the evaluation's two such events (two
    # shoppers taking one unit each within 2 ms, one arm hidden) read "two by the seen
    # arm" at 0.994 and 0.996, beside 14 events where such a shopper stood by a lone actor.
    # Farther out the share falls e-fold every hidden_arm_falloff_m: beside another's arm in
    # the single-actor events of six suites, 3 of 21 such shoppers within 0.3 m were the
    # actor, 0 of 62 at 0.3-0.45 m, 2 of 280 at 0.45-0.8 m. The likelihood of a fall-off to
    # a floor is within 0.5 of its best from 20 per metre on; the gentlest of those is
    # taken (11 per metre, also near the best, would expect 3.7 actors where there were 0).
    # Not for a shopper whose arm tip was seen at another plate (stacked over this one,
    # beside it) during the change: that arm reached there, not under its head here.
    hidden_arm_m: float = 0.3
    hidden_arm_share: float = 30.0
    hidden_arm_falloff_m: float = 0.05


@dataclass
class Candidate:
    track_id: str
    session_token: str
    probability: float
    hand_distance_m: float  # best arm tip distance to the front edge during the change (inf if none seen)
    head_distance_m: float
    log_ratio: float = 0.0  # its choice utility: log likelihood on the scale of nobody_likelihood
    likelihood: float = 0.0  # exp(log_ratio)
    share_likelihood: float = 0.0  # reach x capped likelihood ratio of the looks that show its own arm (or hidden_arm_share): for a part beside another
    features: np.ndarray | None = None  # what the choice weighed (CHOICE_FEATURES)
    near_looks: int = 0  # looks with its own arm at the plate (ArmEvidence.near)
    during_looks: int = 0  # of those, the ones within the change itself (ArmEvidence.during)
    arm_shared: bool = False  # a tip at the plate that may be its arm or another's, or another plate's (ArmEvidence.shared)


def _reach_factor(d: float, p: WhoParams) -> float:
    if d <= p.reach_m:
        return 1.0
    return float(np.exp(-0.5 * ((d - p.reach_m) / p.reach_soft_m) ** 2))


# A plate this much higher is on a shelf level above, not beside (one level's plates share a height).
STACKED_RISE_M = 0.05


def _front_gap(plate: Plate, q: Plate) -> float:
    """How near plate q's front edge comes to five points along `plate`'s front edge."""
    ends = plate.front_center[:2] + np.outer(np.linspace(-0.5, 0.5, 5) * plate.size[0], plate.along)
    return float(np.min(q.distance_to_front(ends)))


def plates_above(plate: Plate, plates: Iterable[Plate], p: WhoParams) -> tuple[Plate, ...]:
    """The plates stacked over `plate`: higher up, their front edge within hand_near_m of
    some part of its front edge."""
    return tuple(q for q in plates if q.id != plate.id and q.center[2] > plate.center[2] + STACKED_RISE_M
                 and _front_gap(plate, q) <= p.hand_near_m)


def plates_beside(plate: Plate, plates: Iterable[Plate], p: WhoParams) -> tuple[Plate, ...]:
    """The plates beside `plate` on its shelf level whose front is in line with its front
    and within a hand's spread (stray_range_m) of it: where a neighbour's hand may be taken
    for one at this plate."""
    return tuple(q for q in plates if q.id != plate.id and abs(q.center[2] - plate.center[2]) <= STACKED_RISE_M
                 and float(q.front_normal @ plate.front_normal) > 0.9
                 and abs(float((q.front_center[:2] - plate.front_center[:2]) @ plate.front_normal)) < p.hand_near_m
                 and _front_gap(plate, q) <= p.stray_range_m)


def _between_levels(h: np.ndarray, plate: Plate, above: Sequence[Plate], p: WhoParams) -> bool:
    """Whether an arm tip at the shelf front is just under the surface of a plate stacked
    over this one and at this plate's height too: a hand reaching down into this shelf
    (the groups 29238 of a fresh suite), or one lowered with a product just lifted off the
    plate above (slow 27010); the camera cannot tell which."""
    return h[2] <= plate.center[2] + p.hand_high_m and any(
        q.center[2] - p.hand_low_m <= h[2] < q.center[2] and float(q.distance_to_front(h)) <= p.hand_near_m for q in above)


def _at_another(h: np.ndarray, plate: Plate, above: Sequence[Plate], beside: Sequence[Plate], p: WhoParams, *, between: bool) -> bool:
    """Whether an arm tip is at another plate: at the front of one stacked over this one, at
    its height (unless `between` levels, `_between_levels`), or clearly nearer the front of
    one beside it than this one's."""
    if not between and any(h[2] >= q.center[2] - p.hand_low_m and float(q.distance_to_front(h)) <= p.hand_near_m for q in above):
        return True
    here = float(plate.distance_to_front(h))
    return any(float(q.distance_to_front(h)) + p.beside_margin_m < here for q in beside)


def _nearest_arm(plate: Plate, hands: list[np.ndarray], p: WhoParams) -> float:
    """Distance of the arm tip nearest the plate's front edge (inf: none at its height)."""
    best = math.inf
    for h in hands:
        if abs(h[2] - plate.center[2]) <= p.hand_max_height_gap_m:
            best = min(best, float(plate.distance_to_front(h)))
    return best


def _look_log_ratio(d: float, p: WhoParams) -> float:
    """log P(look | actor) / P(look | bystander) for a look whose nearest arm tip is d
    from the edge. The actor's tip scatters half-normally around the edge when it is
    seen; a bystander's tip, when it strays near, lands anywhere within stray_range_m."""
    if d > p.stray_range_m:  # no arm tip near this plate in this look
        return math.log((1.0 - p.hand_seen_p) / (1.0 - p.hand_stray_p))
    actor = p.hand_seen_p * math.sqrt(2.0 / math.pi) / p.hand_sigma_m * math.exp(-0.5 * (d / p.hand_sigma_m) ** 2)
    bystander = p.hand_stray_p / p.stray_range_m
    return math.log(max(actor, 1e-300) / bystander)


@dataclass
class ArmEvidence:
    log_ratio: float  # all looks during the change, capped: the case for being its only actor
    share_log_ratio: float  # the looks that show an arm there only, capped: the case for a part of it
    nearest_m: float  # nearest arm tip seen during the change
    looks: int = 0  # looks at the track during the change
    near_looks: frozenset[int] = frozenset()  # of those, the ones (look_s bins) with an arm tip at this plate (front and height)
    unseen: bool = False  # not seen during the whole change (lost, or coasting past stale_s)
    elsewhere: bool = False  # an arm tip of it seen at another plate (stacked over this one, beside it) during the change
    shared: bool = False  # a tip at this plate a camera gave to it and another track at once (no look, but maybe its arm)
    during: int = 0  # near looks within the change itself (its edges widened by during_s), not its sync margins

    @property
    def near(self) -> int:
        return len(self.near_looks)

    @property
    def near_frac(self) -> float:
        return self.near / self.looks if self.looks else 0.0


def _tip_key(tip: np.ndarray) -> tuple[float, float, float]:
    """An arm tip to 0.1 mm: two tracks given one camera's hand carry equal copies of it
    (a coasting track its last ones), while two cameras' tips of one hand never agree so
    closely (depth noise)."""
    return (round(float(tip[0]), 4), round(float(tip[1]), 4), round(float(tip[2]), 4))


def shared_tips(window: dict[str, list[TrackSnapshot]], t0: float, t1: float) -> frozenset:
    """The arm tips between t0 and t1 that a camera gave to two tracks or more at once
    (depth.py gives a hand to every shopper whose arm fits it nearly as well as the best,
    `arm_owner_ratio`). Such a look says that camera could not tell whose hand it was: it
    makes neither of them, rather than the other, the one actor (`arm_evidence`). In the
    fitting suite's crowding, crossing, sameplate, touch,
    multi, put-back, group, hand-off and rest scenarios (34 scenarios, 547 candidates), 15
    of the 27 bystanders seen with an arm at the plate had only such shared looks there,
    and 57 of their 81 near looks were shared; of the 185 actors seen there, 20 of 1310
    looks were shared, and 2 actors had only shared ones."""
    owners: dict[tuple, set[str]] = {}
    for track_id, snaps in window.items():
        for s in snaps:
            if t0 <= s.stamp <= t1:
                for h in s.hands:
                    owners.setdefault(_tip_key(h), set()).add(track_id)
    return frozenset(k for k, who in owners.items() if len(who) > 1)


def _at_plate(h: np.ndarray, plate: Plate, z: float, p: WhoParams) -> bool:
    """Is arm tip h at the plate: within hand_near_m of its front, at its height?"""
    return z - p.hand_low_m <= h[2] <= z + p.hand_high_m and float(plate.distance_to_front(h)) <= p.hand_near_m


def arm_evidence(plate: Plate, event: PlateEvent, snaps: list[TrackSnapshot], p: WhoParams,
                 above: Sequence[Plate] = (), beside: Sequence[Plate] = (), shared: frozenset = frozenset()) -> ArmEvidence:
    """log P(looks | actor) - log P(looks | bystander) over the change. One of two
    shoppers taking in one long disturbance needs its arm there only for its own part of
    it, so its case counts the looks that show the arm, not those that miss it. Tips at
    the plates `above` or `beside` it are not at this plate. A tip in `shared` (`shared_tips`:
    a hand a camera gave to two shoppers at once), or one between this shelf level and the
    one above (`_between_levels`), is no look for the one actor: it may be either's, or at
    either plate. It counts for a part beside another actor: two arms at one plate, seen
    from above as one, look just like that."""
    t0, t1 = event.start - p.sync_s, event.end + p.sync_s
    looks: dict[int, float] = {}
    with_shared: dict[int, float] = {}  # the looks with the shared tips too (for a part)
    near: set[int] = set()
    during: set[int] = set()
    unseen = elsewhere = given = False
    z = float(plate.center[2])
    for s in snaps:
        if not t0 <= s.stamp <= t1:
            continue
        if not s.seen(p.stale_s):
            unseen = True
            continue
        k = int((s.stamp - t0) // p.look_s)
        here = [(h, between) for h in s.hands
                if not _at_another(h, plate, above, beside, p, between=(between := _between_levels(h, plate, above, p)))]
        elsewhere = elsewhere or len(here) < len(s.hands)
        hands: list[np.ndarray] = []
        shared_here: list[np.ndarray] = []
        for h, between in here:  # a tip two shoppers were given, or one between two shelf levels, may be this plate's or not
            (shared_here if between or _tip_key(h) in shared else hands).append(h)
        d_own, d_shared = _nearest_arm(plate, hands, p), _nearest_arm(plate, shared_here, p)
        looks[k] = min(looks.get(k, math.inf), d_own)  # any view of the look that shows the arm
        with_shared[k] = min(with_shared.get(k, math.inf), d_own, d_shared)
        if any(_at_plate(h, plate, z, p) for h in hands):
            near.add(k)
            if event.start - p.during_s <= s.stamp <= event.end + p.during_s:
                during.add(k)
        given = given or any(_at_plate(h, plate, z, p) for h in shared_here)
    if not looks and unseen:  # nobody saw this shopper during the change: only the prior of a hidden reach
        return ArmEvidence(math.log(p.unseen_p), math.log(p.unseen_p), math.inf, unseen=True)
    ratios = [_look_log_ratio(d, p) for d in looks.values()]
    whole = float(np.clip(sum(ratios), p.min_log_ratio, p.max_log_ratio))
    shown = [r for d in with_shared.values() if (r := _look_log_ratio(d, p)) > 0]
    part = float(min(sum(shown), p.max_log_ratio)) if shown else whole  # never seen there: no part either
    return ArmEvidence(whole, part, min(looks.values(), default=math.inf), len(looks), frozenset(near), elsewhere=elsewhere, shared=given,
                       during=len(during))


CHOICE_FEATURES = ("w_near_frac", "w_near_any", "w_unseen", "w_log_reach", "w_head_m", "w_past_frac", "w_old_lr",
                   "w_alone_frac", "w_armless_m", "w_unbound", "w_unbound_unseen", "w_head_speed")
ARMLESS_MAX_M = 1.5  # beyond this a missing arm says no more
HEAD_SPEED_MAX_MPS = 1.5  # a brisk walk: faster says no more


def choice_features(ev: ArmEvidence, reach: float, head_m: float, past_frac: float, old_lr: float,
                    alone_frac: float | None = None, unbound: bool = False, head_speed: float = 0.0) -> np.ndarray:
    """What a track showed during a change, for the choice of who made it (CHOICE_FEATURES order).
    `alone_frac`: its looks with an arm at the plate while no other track's was (default:
    all its near looks). A track seen with no arm there: how far its head was, for an arm
    hidden under a head close to the shelf is common and one missing at arm's length is not;
    unless a nearer shopper it may reach past showed one (seen as theirs, it may be its own),
    or a camera gave it a hand at the plate that it gave another track too (`shared_tips`).
    `unbound`: no session claimed the track. `head_speed`: how fast its head moved during
    the change (`head_speed`)."""
    armless = 0.0 if ev.near or ev.unseen or ev.shared or past_frac > 0 else min(head_m, ARMLESS_MAX_M)
    alone = ev.near_frac if alone_frac is None else alone_frac
    return np.array([ev.near_frac, float(ev.near > 0), float(ev.unseen), math.log(max(reach, 1e-9)), head_m, past_frac, old_lr,
                     alone, armless, float(unbound), float(unbound and ev.unseen), min(head_speed, HEAD_SPEED_MAX_MPS)])


def choice_weights(p: WhoParams) -> np.ndarray:
    return np.array([getattr(p, name) for name in CHOICE_FEATURES])


def full_arm_likelihood(p: WhoParams, alone: bool = True) -> float:
    """The choice likelihood of a shopper in easy reach with an arm at the plate in every
    look (on nobody_likelihood's scale); not `alone`: another's arm was there in every look too."""
    full = ArmEvidence(p.max_log_ratio, p.max_log_ratio, 0.05, looks=5, near_looks=frozenset(range(5)))
    x = choice_features(full, 1.0, p.reach_m / 2, 0.0, p.max_log_ratio, 1.0 if alone else 0.0)
    return math.exp(p.choice_bias + float(choice_weights(p) @ x))


def _head_during(event: PlateEvent, snaps: list[TrackSnapshot], p: WhoParams) -> np.ndarray:
    """The head's mean floor position during the change (the nearest snapshot if none)."""
    inside = [s.position[:2] for s in snaps if event.start - p.sync_s <= s.stamp <= event.end + p.sync_s]
    if inside:
        return np.mean(inside, axis=0)
    mid = 0.5 * (event.start + event.end)
    return min(snaps, key=lambda s: abs(s.stamp - mid)).position[:2]


def head_speed(event: PlateEvent, snaps: list[TrackSnapshot], p: WhoParams) -> float:
    """The head's floor speed over the change, m/s: from its mean position in the first
    look to that in the last (means, so the tracker's jitter does not read as walking);
    0 when seen in under two looks."""
    t0 = event.start - p.sync_s
    looks: dict[int, list[np.ndarray]] = {}
    for s in snaps:
        if s.seen(p.stale_s) and t0 <= s.stamp <= event.end + p.sync_s:
            looks.setdefault(int((s.stamp - t0) // p.look_s), []).append(s.position[:2])
    if len(looks) < 2:
        return 0.0
    first, last = min(looks), max(looks)
    moved = float(np.linalg.norm(np.mean(looks[last], axis=0) - np.mean(looks[first], axis=0)))
    return moved / ((last - first) * p.look_s)


def _reaches_past(plate: Plate, x: np.ndarray, x_arm_m: float, y: np.ndarray, p: WhoParams) -> bool:
    """May shopper x's arm reach the plate past (or across) shopper y, nearer the plate?
    Seen from above, such an arm joins y's body and its tip is taken for y's, and y's
    for x's when arms cross: when the way from x's head to the plate's front passes by
    y's head, or when an arm tip of x was seen near the plate (short of it, or at the
    plate beside it) during the change."""
    if float(plate.distance_to_front(y)) >= float(plate.distance_to_front(x)):
        return False
    return x_arm_m <= p.past_tip_m or _passes_by(plate, x, y, p.past_m)


def _arm_over(plate: Plate, x: np.ndarray, tip: np.ndarray, y: np.ndarray, within_m: float) -> bool:
    """Does x's arm, from its head to `tip` (floor), pass within `within_m` of y's head, y
    nearer the plate?"""
    if float(plate.distance_to_front(y)) >= float(plate.distance_to_front(x)):
        return False
    seg = tip - x
    u = float(np.clip((y - x) @ seg / max(float(seg @ seg), 1e-9), 0.0, 1.0))
    return float(np.linalg.norm(x + u * seg - y)) <= within_m


def _passes_by(plate: Plate, x: np.ndarray, y: np.ndarray, within_m: float) -> bool:
    """Does the way from x's head to the plate's front pass within `within_m` of y's head,
    y nearer the plate?"""
    front = plate.front_center[:2] + plate.along * np.clip((x - plate.front_center[:2]) @ plate.along, -plate.size[0] / 2, plate.size[0] / 2)
    return _arm_over(plate, x, front, y, within_m)


def hidden_arm_share(head_m: float, p: WhoParams) -> float:
    """The case for a part of a change of a shopper seen with no arm at the plate, its head
    `head_m` from the front: p.hidden_arm_share up to hidden_arm_m, then falling e-fold
    every hidden_arm_falloff_m (the head hides less of an arm the farther it stands)."""
    return p.hidden_arm_share * math.exp(-max(head_m - p.hidden_arm_m, 0.0) / p.hidden_arm_falloff_m)


@dataclass
class _InReach:
    """A track in reach of the plate during a change: what who_made weighs of it."""

    track_id: str
    token: str
    reach: float  # reach factor (head distance, its uncertainty)
    head_distance_m: float  # nearest its head came to the plate's front
    arm: ArmEvidence
    head: np.ndarray  # mean floor position during the change
    speed: float  # head speed during the change (head_speed)
    snaps: list[TrackSnapshot]  # its snapshots in the window, not past its EXIT


def who_made(plate: Plate, event: PlateEvent, window: dict[str, list[TrackSnapshot]], params: WhoParams,
             above: Sequence[Plate] = (), beside: Sequence[Plate] = ()) -> list[Candidate]:
    """Candidates sorted by probability (the rest, to 1, is that nobody tracked did it).
    `above`, `beside`: the plates stacked over this one and beside it (plates_above, plates_beside)."""
    found: list[_InReach] = []
    shared = shared_tips(window, event.start - params.sync_s, event.end + params.sync_s)
    for track_id, snaps in window.items():
        snaps = [s for s in snaps if s.state != EXITED]
        if not snaps:
            continue
        # The head's uncertainty widens how far it may really be from the plate, and
        # spreads a long-lost track's chance of being there thin.
        reach = 0.0
        best_head = math.inf
        for s in snaps:
            sd = math.sqrt(float(np.trace(s.covariance)) / 2.0) if s.covariance is not None else 0.0
            d_head = float(plate.distance_to_front(s.position))
            best_head = min(best_head, d_head)
            spread = 1.0 - math.exp(-0.5 * (params.reach_m / sd) ** 2) if sd > 0 else 1.0
            reach = max(reach, _reach_factor(max(d_head - sd, 0.0), params) * spread)
        if reach <= 1e-9:
            continue
        found.append(_InReach(track_id, snaps[-1].session_token, reach, best_head, arm_evidence(plate, event, snaps, params, above, beside, shared),
                              _head_during(event, snaps, params), head_speed(event, snaps, params), snaps))
    # An arm the camera gave a farther shopper, its way to the plate right over a nearer
    # one's head, may be the nearer one's (hands go by free space: a long arm hidden behind
    # the nearer body is rarely seen through, and can fit better than the nearer one's own
    # short arm): its tips here are the camera's doubt, as if given to both (shared_tips).
    # On the fitting suite and the fresh one from 45000, of 8 such nearer shoppers (within
    # over_head_m) with no arm of their own seen, 4 were the actor, two of them at 0.01
    # against 0.99 (`groups` 45354, `noisy` 1014).
    for f in found:
        if not f.arm.near:
            continue
        during = [h for s in f.snaps if event.start - params.sync_s <= s.stamp <= event.end + params.sync_s for h in s.hands]
        at = [h[:2] for h in during if float(plate.distance_to_front(h)) <= params.stray_range_m / 4]  # its tips at the plate
        if at and any(g is not f and _arm_over(plate, f.head, np.mean(at, axis=0), g.head, params.over_head_m) for g in found):
            f.arm = arm_evidence(plate, event, f.snaps, params, above, beside, shared | frozenset(_tip_key(h) for h in during))
    # A shopper reaching past another may own the arm seen as the other's: as the one
    # actor. Its case for a part beside another actor stays its own arm's (the share): one
    # arm seen is one hand, not two shoppers' at once.
    past = math.log(params.past_share)
    w = choice_weights(params)
    scored = []
    for f in found:
        ev = f.arm
        lr, past_frac = ev.log_ratio, 0.0
        others: set[int] = set()  # looks in which another track showed an arm at the plate
        for g in found:
            if g is f:
                continue
            others |= g.arm.near_looks
            if _reaches_past(plate, f.head, ev.nearest_m, g.head, params):
                lr = max(lr, g.arm.log_ratio + past)
                past_frac = max(past_frac, g.arm.near_frac)
        alone = len(ev.near_looks - others) / ev.looks if ev.looks else 0.0
        x = choice_features(ev, f.reach, float(plate.distance_to_front(f.head)), past_frac, lr, alone, unbound=not f.token,
                            head_speed=f.speed)
        # A part beside another actor is weighed on its arm alone, but a shopper walking by
        # takes no part either: the share carries the choice's walking term too. One seen
        # standing near the plate's front with no arm there may have its arm under its
        # head: its case for a part is at least `hidden_arm_share`, whatever its looks say;
        # not one whose arm was seen at another plate meanwhile (reaching there, not here).
        share = f.reach * math.exp(ev.share_log_ratio + params.w_head_speed * min(f.speed, HEAD_SPEED_MAX_MPS))
        if not ev.near and not ev.unseen and not ev.elsewhere:
            share = max(share, hidden_arm_share(x[4], params))
        scored.append((params.choice_bias + float(w @ x), share, x))
    total = sum(math.exp(u) for u, _, _ in scored) + params.nobody_likelihood
    cands = [
        Candidate(f.track_id, f.token, math.exp(u) / total, f.arm.nearest_m, f.head_distance_m, u, math.exp(u), share, x, f.arm.near, f.arm.during,
                  f.arm.shared)
        for f, (u, share, x) in zip(found, scored, strict=True)
    ]
    cands.sort(key=lambda c: -c.probability)
    return cands
