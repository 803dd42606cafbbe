"""Conversions from ROS messages to core types.

Duck-typed on field names, so they accept rclpy messages in the live nodes and
rosbags' deserialized messages in the offline replay alike.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .types import (
    Basket,
    BasketLine,
    DetectionFrame,
    GateEvent,
    LoadCellBatch,
    PersonDetection,
    PlateEvent,
    ProductObservation,
    TrackSnapshot,
)


class BadMessageError(ValueError):
    """A message that breaks the contract; the text names the field at fault."""


def stamp_to_sec(stamp: Any) -> float:
    return float(stamp.sec) + float(stamp.nanosec) * 1e-9


def sec_to_stamp_fields(t: float) -> tuple[int, int]:
    """(sec, nanosec) of a time in seconds, rounded to the nanosecond."""
    ns = int(round(t * 1e9))
    return ns // 1_000_000_000, ns % 1_000_000_000


def load_cell_batch(msg: Any) -> LoadCellBatch:
    plate_ids = [str(p) for p in msg.plate_ids]
    grams = np.asarray(msg.grams, dtype=np.float64)
    shelf = str(msg.shelf_id)
    if not shelf:
        raise BadMessageError("LoadCellBatch with an empty shelf_id")
    if not plate_ids:
        raise BadMessageError(f"LoadCellBatch of shelf '{shelf}' names no plate_ids")
    if grams.size % len(plate_ids):
        raise BadMessageError(
            f"LoadCellBatch of shelf '{shelf}': {grams.size} grams do not divide into {len(plate_ids)} plates"
        )
    rate = float(msg.sample_rate_hz)
    if not np.isfinite(rate) or rate <= 0:
        raise BadMessageError(f"LoadCellBatch of shelf '{shelf}': sample_rate_hz is {rate}")
    return LoadCellBatch(
        stamp=stamp_to_sec(msg.header.stamp),
        shelf_id=shelf,
        sample_rate_hz=rate,
        plate_ids=plate_ids,
        grams=grams.reshape(-1, len(plate_ids)),
    )


def gate_event(msg: Any) -> GateEvent:
    kind = int(msg.kind)
    if kind not in (0, 1):
        raise BadMessageError(f"GateEvent at gate '{msg.gate_id}': kind {kind} is neither ENTRY (0) nor EXIT (1)")
    if kind == 0 and not str(msg.session_token).strip():
        raise BadMessageError(f"GateEvent ENTRY at gate '{msg.gate_id}' has an empty session_token")
    return GateEvent(stamp_to_sec(msg.header.stamp), str(msg.gate_id), kind, str(msg.session_token))


def plate_event(msg: Any) -> PlateEvent:
    return PlateEvent(
        plate_id=str(msg.plate_id),
        shelf_id=str(msg.shelf_id),
        start=stamp_to_sec(msg.start),
        end=stamp_to_sec(msg.end),
        delta_g=float(msg.delta_g),
        delta_std_g=float(msg.delta_std_g),
        settled=bool(msg.settled),
        event_id=f"{msg.plate_id}@{stamp_to_sec(msg.end):.3f}",
        dip_g=float(msg.dip_g),
        beyond_g=float(getattr(msg, "beyond_g", 0.0)),  # bags recorded before it carry none
        unchanged=bool(getattr(msg, "unchanged", False)),
    )


def _point(p: Any) -> np.ndarray:
    return np.array([p.x, p.y, p.z], dtype=float)


def detection_frame(msg: Any) -> DetectionFrame:
    people = [
        PersonDetection(
            head=_point(d.head),
            height_m=float(d.height_m),
            hands=[_point(h.position) for h in d.hands],
            num_points=int(d.num_points),
        )
        for d in msg.people
    ]
    return DetectionFrame(stamp_to_sec(msg.header.stamp), str(msg.camera_id), people)


def _rivals(t: Any) -> dict[str, float]:
    """A Track's rival sessions -> probability; BadMessageError when they don't pair up or
    a probability is not one."""
    tokens, probs = list(t.rival_tokens), [float(v) for v in t.rival_probabilities]
    if len(tokens) != len(probs) or not all(0.0 <= v <= 1.0 for v in probs):
        raise BadMessageError(f"Track '{t.track_id}': rival_tokens {tokens} and rival_probabilities {probs} "
                              "must pair up, each probability in [0, 1]")
    return {str(k): v for k, v in zip(tokens, probs, strict=True)}


def _rival_since(t: Any) -> dict[str, float]:
    """A Track's rivals -> from when their doubt holds (only those that begin part way);
    BadMessageError when rival_since_s is neither empty nor one time per rival."""
    tokens, since = list(t.rival_tokens), [float(v) for v in t.rival_since_s]
    if since and (len(since) != len(tokens) or any(math.isnan(v) for v in since)):
        raise BadMessageError(f"Track '{t.track_id}': rival_since_s {since} must be empty or one time per rival "
                              f"{tokens} (-inf: the whole visit)")
    return {str(k): v for k, v in zip(tokens, since, strict=False) if v > -math.inf}


def _rival_why(t: Any) -> dict[str, str]:
    """A Track's rivals -> why; BadMessageError when rival_causes is neither empty nor one per rival."""
    tokens, why = list(t.rival_tokens), [str(v) for v in t.rival_causes]
    if why and len(why) != len(tokens):
        raise BadMessageError(f"Track '{t.track_id}': rival_causes {why} must be empty or one per rival {tokens}")
    return {str(k): v for k, v in zip(tokens, why, strict=False) if v}


def _unseen(t: Any) -> float:
    """A Track's unseen_s; BadMessageError when it is negative or not a number."""
    v = float(t.unseen_s)
    if not v >= 0.0:
        raise BadMessageError(f"Track '{t.track_id}': unseen_s {v} must be a number of seconds >= 0")
    return v


def track_snapshots(msg: Any) -> list[TrackSnapshot]:
    """The tracks of a walkout_msgs/TrackArray as core snapshots."""
    stamp = stamp_to_sec(msg.header.stamp)
    out = []
    for t in msg.tracks:
        cov = np.asarray(t.position_covariance, dtype=float).reshape(2, 2)
        out.append(
            TrackSnapshot(
                track_id=str(t.track_id),
                session_token=str(t.session_token),
                state=int(t.state),
                stamp=stamp,
                position=_point(t.position),
                velocity=np.array([t.velocity.x, t.velocity.y], dtype=float),
                covariance=cov,
                hands=[_point(h.position) for h in t.hands],
                rivals=_rivals(t),
                rival_since=_rival_since(t),
                unseen_s=_unseen(t),
                rival_why=_rival_why(t),
            )
        )
    return out


def waiting_tokens(msg: Any) -> list[str]:
    """A walkout_msgs/TrackArray's sessions whose ENTRY still waits for its shopper's track."""
    return [str(t) for t in msg.waiting_tokens]


def product_observation(msg: Any) -> ProductObservation:
    return ProductObservation(
        stamp=stamp_to_sec(msg.header.stamp),
        camera_id=str(msg.camera_id),
        hand=_point(msg.hand),
        scores={str(s.sku): float(s.probability) for s in msg.scores},
    )


def set_stamp(stamp: Any, t: float) -> Any:
    """Writes a time in seconds into a builtin_interfaces/Time (rclpy or rosbags)."""
    stamp.sec, stamp.nanosec = sec_to_stamp_fields(t)
    return stamp


def basket(msg: Any) -> Basket:
    """A walkout_msgs/Basket as the core type."""
    if not str(msg.session_token):
        raise BadMessageError("basket without a session_token")
    def lines(msgs: Any) -> list[BasketLine]:
        return [BasketLine(str(ln.sku), str(ln.name), int(ln.quantity), int(ln.unit_price_cents), float(ln.probability)) for ln in msgs]

    return Basket(str(msg.session_token), stamp_to_sec(msg.header.stamp), lines(msg.lines), str(msg.currency), float(msg.confidence),
                  bool(msg.open), [str(r) for r in msg.review_reasons], lines(msg.maybe))
