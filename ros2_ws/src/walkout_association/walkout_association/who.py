"""Who made a plate event: the probability that each track's hand did it.

Evidence comes from the tracks' own history around the event: arm tips seen at the
plate's front edge (strong: arms are seen up to the shelf front), and the head's
Kalman-predicted position with its covariance (weak: a person close enough to reach).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from walkout_common.store import Plate
from walkout_common.types import EXITED, PlateEvent, TrackSnapshot


@dataclass
class WhoParams:
    window_before_s: float = 1.0  # the hand reaches the plate before the weight starts to change
    window_after_s: float = 0.5
    hand_sigma_m: float = 0.12  # spread of a seen arm tip around the plate's front edge
    hand_max_height_gap_m: float = 0.6  # arm tip height vs plate height (reaches above a plate still count)
    reach_m: float = 0.85  # how far a head can be from the front edge to reach it
    reach_soft_m: float = 0.25  # fall-off beyond reach_m
    head_only_weight: float = 0.02  # a head in reach without a seen hand is weak evidence
    nobody_likelihood: float = 1e-4  # nobody tracked did it (every aisle point is seen)


@dataclass
class Candidate:
    track_id: str
    session_token: str
    probability: float
    hand_distance_m: float  # best arm tip distance to the front edge (inf if none seen)
    head_distance_m: float


def _reach_factor(d: float, p: WhoParams) -> float:
    if d <= p.reach_m:
        return 1.0
    return float(np.exp(-0.5 * ((d - p.reach_m) / p.reach_soft_m) ** 2))


def who_made(plate: Plate, event: PlateEvent, window: dict[str, list[TrackSnapshot]], params: WhoParams) -> tuple[list[Candidate], float]:
    """Candidates sorted by probability, and the probability that nobody tracked did it."""
    scored: list[tuple[str, str, float, float, float]] = []
    for track_id, snaps in window.items():
        snaps = [s for s in snaps if s.state != EXITED]
        if not snaps:
            continue
        best_hand, best_head, like = np.inf, np.inf, 0.0
        for s in snaps:
            var = float(np.trace(s.covariance)) / 2.0 if s.covariance is not None else 0.0
            d_head = float(plate.distance_to_front(s.position))
            best_head = min(best_head, d_head)
            # The head's uncertainty widens how far it may really be from the plate.
            head_like = params.head_only_weight * _reach_factor(max(d_head - np.sqrt(var), 0.0), params)
            like = max(like, head_like)
            for h in s.hands:
                if abs(h[2] - plate.center[2]) > params.hand_max_height_gap_m:
                    continue
                d_hand = float(plate.distance_to_front(h))
                best_hand = min(best_hand, d_hand)
                hand_like = float(np.exp(-0.5 * (d_hand / params.hand_sigma_m) ** 2)) * _reach_factor(d_head, params)
                like = max(like, hand_like)
        if like > 0.0:
            session = snaps[-1].session_token
            scored.append((track_id, session, like, best_hand, best_head))
    total = sum(s[2] for s in scored) + params.nobody_likelihood
    cands = [Candidate(t, s, like / total, dh, dd) for t, s, like, dh, dd in scored]
    cands.sort(key=lambda c: -c.probability)
    return cands, params.nobody_likelihood / total


def by_session(cands: list[Candidate]) -> dict[str, float]:
    """Probability per session token (tracks of a group add up; '' = unbound track)."""
    out: dict[str, float] = {}
    for c in cands:
        out[c.session_token] = out.get(c.session_token, 0.0) + c.probability
    return out
