"""Core data types that flow between Walkout's algorithms.

They mirror `walkout_msgs` but hold plain floats (seconds of ROS time) and numpy
arrays, so the cores never depend on rclpy and the offline replay and the live nodes
pass the very same objects to the very same code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

ENTRY = 0
EXIT = 1


@dataclass
class LoadCellBatch:
    stamp: float  # time of the first sample (s)
    shelf_id: str
    sample_rate_hz: float
    plate_ids: list[str]
    grams: np.ndarray  # (samples, plates), NaN = lost

    def sample_times(self) -> np.ndarray:
        n = self.grams.shape[0]
        return self.stamp + np.arange(n) / self.sample_rate_hz


@dataclass
class GateEvent:
    stamp: float
    gate_id: str
    kind: int  # ENTRY | EXIT
    session_token: str


@dataclass
class PlateEvent:
    plate_id: str
    shelf_id: str
    start: float  # the plate left its last stable level
    end: float  # the plate settled at its new level
    delta_g: float  # new level - old level; negative = taken
    delta_std_g: float
    settled: bool = True
    event_id: str = ""
    # A disturbance that ended where it began (delta_g ~ 0) after the plate held this much
    # less for a moment: items were lifted and put back. A lower bound of what was lifted
    # (the hands may overlap); 0: no such dip.
    dip_g: float = 0.0
    # A change whose plate went this far beyond both ends for a moment (above the higher or
    # below the lower): a put-back and a take overlapping, a hand pressing, a fumble; 0: none.
    # With `unchanged`: how far it held above both as quietly as goods lie (no hand trembling
    # on it): units put down and lifted again, by one shopper or by two.
    beyond_g: float = 0.0
    # The plate settled back where it was (no change it can show): a touch, a knock, a hand
    # resting, or a unit too light for its noise; delta_g and delta_std_g say which may be.
    unchanged: bool = False


@dataclass
class PersonDetection:
    head: np.ndarray  # (3,) top of the head in map
    height_m: float
    hands: list[np.ndarray] = field(default_factory=list)  # (3,) arm tips in map
    num_points: int = 0


@dataclass
class DetectionFrame:
    stamp: float
    camera_id: str
    people: list[PersonDetection]


@dataclass
class ProductObservation:
    stamp: float
    camera_id: str
    hand: np.ndarray  # (3,) in map
    scores: dict[str, float]  # sku -> probability ("" = nothing in the hand)


@dataclass
class TrackSnapshot:
    """One track at one time, as the tracker saw it (what the association needs)."""

    track_id: str
    session_token: str
    state: int  # TENTATIVE, CONFIRMED, LOST, EXITED (walkout_msgs/Track)
    stamp: float
    position: np.ndarray  # (3,) head in map
    velocity: np.ndarray  # (2,)
    covariance: np.ndarray  # (2, 2) position covariance
    hands: list[np.ndarray] = field(default_factory=list)
    rivals: dict[str, float] = field(default_factory=dict)  # other sessions it may belong to -> probability
    # A rival's doubt may begin part way through the visit (two shoppers who met and may
    # have swapped tracks then, or who were lost from view together): rival -> when; a swap
    # moves only what came after. A rival not named here is doubtful over the whole visit
    # (a swapped entry).
    rival_since: dict[str, float] = field(default_factory=dict)
    # Since a detection last matched it: its position since is predicted, its hands are
    # that detection's (a coasting track's hands are old news).
    unseen_s: float = 0.0
    # Why each rival is one, for a reviewer: "met at t=41.3 s" and the like (the cause of
    # its likeliest doubt). May lack a rival.
    rival_why: dict[str, str] = field(default_factory=dict)

    def seen(self, stale_s: float) -> bool:
        """Was the track seen at this snapshot: not lost, nor coasting past stale_s?"""
        return self.state != LOST and self.unseen_s <= stale_s


TENTATIVE, CONFIRMED, LOST, EXITED = 0, 1, 2, 3


@dataclass
class TrackCandidate:
    track_id: str
    session_token: str
    probability: float


@dataclass
class ItemEvent:
    TAKE = 0
    RETURN = 1

    event_id: str
    stamp: float
    plate_id: str
    action: int
    sku: str
    quantity: int
    session_token: str
    probability: float
    candidates: list[TrackCandidate] = field(default_factory=list)
    alternatives: list[tuple[str, float]] = field(default_factory=list)  # (reading, probability)
    delta_g: float = 0.0
    note: str = ""
    reading: str = ""  # this reading, as a reviewer's verdict names it (Associator.verdict)


@dataclass
class BasketLine:
    sku: str
    name: str
    quantity: int
    unit_price_cents: int
    probability: float


@dataclass
class Basket:
    session_token: str
    stamp: float
    lines: list[BasketLine]
    currency: str
    confidence: float
    open: bool = True
    review_reasons: list[str] = field(default_factory=list)
    # Products the session may hold more of than its lines say (another reading of one of
    # its events: a unit billed to another session, or read as another product), the
    # likeliest number more each, with P(it holds more): where a reviewer looks first.
    maybe: list[BasketLine] = field(default_factory=list)

    @property
    def total_cents(self) -> int:
        return sum(line.quantity * line.unit_price_cents for line in self.lines)


@dataclass
class Receipt:
    store_id: str
    session_token: str
    exit_stamp: float
    status: str  # approved | review | open
    confidence: float
    lines: list[BasketLine]
    currency: str
    review_reasons: list[str] = field(default_factory=list)
    # 1; each later one amends it: the session closed again (a shopper of its group came in
    # after its receipt was issued), and the latest revision is the receipt
    revision: int = 1

    @property
    def total_cents(self) -> int:
        return sum(line.quantity * line.unit_price_cents for line in self.lines)

    def to_contract(self) -> dict:
        """The receipt as the contract's receipts file spells it."""
        return {
            "session_token": self.session_token,
            "exit_stamp": round(float(self.exit_stamp), 3),
            "status": self.status,
            "confidence": round(float(self.confidence), 4),
            "items": [{"sku": line.sku, "qty": int(line.quantity)} for line in self.lines if line.quantity > 0],
            "total_cents": int(self.total_cents),
            "review_reasons": list(self.review_reasons),
        }
