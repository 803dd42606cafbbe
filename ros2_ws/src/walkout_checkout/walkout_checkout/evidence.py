"""What the reviewer console keeps of the sensor side, as plain JSON-able dicts.

Only derived, anonymous facts are kept (plate weight changes, item decisions, head and
hand points of random track ids); never an image or a body measurement. Duck-typed on
the messages, so rclpy and rosbags messages both work; no rclpy import here.
"""

from __future__ import annotations

from typing import Any

from walkout_common.msgconv import stamp_to_sec


def plate_event(msg: Any) -> tuple[float, dict] | None:
    """(stamp, payload) of a settled plate event; None while the plate is still disturbed."""
    if not msg.settled:
        return None
    payload = {"plate_id": str(msg.plate_id), "delta_g": float(msg.delta_g), "start": stamp_to_sec(msg.start), "end": stamp_to_sec(msg.end)}
    dip = float(getattr(msg, "dip_g", 0.0))  # bags recorded before dips carry none
    if dip > 0:
        payload["dip_g"] = dip
    beyond = float(getattr(msg, "beyond_g", 0.0))
    if beyond > 0:
        payload["beyond_g"] = beyond
    if getattr(msg, "unchanged", False):  # settled back: a touch, or a unit too light for the plate
        payload["unchanged"] = True
        payload["delta_std_g"] = float(msg.delta_std_g)
    return stamp_to_sec(msg.end), payload


def item_event(msg: Any) -> tuple[float, str, dict]:
    """(stamp, session token, payload) of an ItemEvent, candidates and alternatives included."""
    payload = {
        "event_id": str(msg.event_id), "plate_id": str(msg.plate_id), "action": int(msg.action), "sku": str(msg.sku),
        "quantity": int(msg.quantity), "probability": float(msg.probability), "delta_g": float(msg.delta_g), "note": str(msg.note),
        "candidates": [{"track_id": str(c.track_id), "session_token": str(c.session_token), "probability": float(c.probability)}
                       for c in msg.candidates],
        "alternatives": [{"sku": str(a.sku), "probability": float(a.probability)} for a in msg.alternatives],
        "reading": str(msg.reading),
    }
    return stamp_to_sec(msg.header.stamp), str(msg.session_token), payload


def tracks(msg: Any) -> tuple[float, dict]:
    """(stamp, payload) of a TrackArray: head and hand points per track, in map."""
    return stamp_to_sec(msg.header.stamp), {"tracks": [
        {"track_id": str(t.track_id), "session_token": str(t.session_token), "state": int(t.state),
         "x": round(float(t.position.x), 3), "y": round(float(t.position.y), 3),
         "hands": [[round(float(h.position.x), 3), round(float(h.position.y), 3)] for h in t.hands],
         # the sessions this shopper may be instead (a binding the tracker doubts)
         "rivals": {str(k): round(float(v), 3) for k, v in zip(t.rival_tokens, t.rival_probabilities, strict=False)},
         "rival_why": {str(k): str(v) for k, v in zip(t.rival_tokens, t.rival_causes, strict=False) if v}}
        for t in msg.tracks]}
