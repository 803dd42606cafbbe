"""The tracker node over real rclpy topics: detections + gate events in, tracks out."""

import math
from pathlib import Path

import numpy as np
import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy

from walkout_bringup.testing import spin_until, wait_matched
from walkout_common.msgconv import set_stamp
from walkout_msgs import msg as wm
from walkout_tracking.tracker_node import EVENTS_QOS, TRACKS_QOS, TrackerNode

ROOT = Path(__file__).resolve().parents[4]


def detections(t, heads):
    m = wm.PersonDetectionArray(camera_id="depth1")
    set_stamp(m.header.stamp, t)
    for x, y in heads:
        d = wm.PersonDetection(height_m=1.7)
        d.head.x, d.head.y, d.head.z = x, y, 1.7
        hand = wm.HandPoint()
        hand.position.x, hand.position.y, hand.position.z = x + 0.3, y, 1.2
        d.hands = [hand]
        m.people.append(d)
    return m


def gate(t, gate_id, kind, token=""):
    g = wm.GateEvent(gate_id=gate_id, kind=kind, session_token=token)
    set_stamp(g.header.stamp, t)
    return g


def path(t):
    """In at gate-in (1, 0), along the aisle, out at gate-out (5, 0)."""
    if t < 1.5:
        return 1.0, -0.3 + t
    if t < 5.5:
        return 1.0 + (t - 1.5), 1.2
    return 5.0, 1.2 - (t - 5.5)


def test_tracks_bind_at_entry_exit_and_bad_messages_are_skipped():
    rclpy.init()
    try:
        node = TrackerNode(parameter_overrides=[Parameter("store_file", value=str(ROOT / "calibration/nanostore/store.yaml"))])
        probe = rclpy.create_node("probe")
        tracks: list[wm.TrackArray] = []
        probe.create_subscription(wm.TrackArray, "/tracking/tracks", tracks.append, TRACKS_QOS)
        pub_det = probe.create_publisher(wm.PersonDetectionArray, "/perception/people", QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE))
        pub_gate = probe.create_publisher(wm.GateEvent, "/gates/events", EVENTS_QOS)
        ex = SingleThreadedExecutor()
        ex.add_node(node)
        ex.add_node(probe)
        wait_matched(ex, [pub_det, pub_gate])
        t0 = node.get_clock().now().nanoseconds * 1e-9  # stamps on the node's clock, as in a store
        for k in range(75):
            t = t0 + k * 0.1
            msg = detections(t, [path(k * 0.1)])
            if k == 12:  # a detection with a NaN head beside the real one
                bad = wm.PersonDetection(height_m=1.7)
                bad.head.x = math.nan
                msg.people.append(bad)
            pub_det.publish(msg)
            assert spin_until(ex, lambda t=t: node.core.now >= t - 1e-6, timeout=5.0)
            if k == 8:
                for g in (gate(t0 + 0.4, "gate-in", wm.GateEvent.ENTRY),  # empty token
                          gate(t0 + 0.4, "back-door", wm.GateEvent.ENTRY, "x"),  # unknown gate
                          gate(t0 + 0.4, "gate-in", wm.GateEvent.ENTRY, "tok-9")):
                    pub_gate.publish(g)
            if k == 70:
                pub_gate.publish(gate(t0 + 6.8, "gate-out", wm.GateEvent.EXIT))
        assert spin_until(ex, lambda: any(tr.state == wm.Track.EXITED for m in tracks for tr in m.tracks))
        seen = [tr for m in tracks for tr in m.tracks]
        assert {tr.track_id for tr in seen} and len({tr.track_id for tr in seen}) == 1  # one person, one track
        assert all(tr.session_token == "tok-9" for tr in seen if tr.state == wm.Track.EXITED)
        mid = [tr for m in tracks for tr in m.tracks if tr.state == wm.Track.CONFIRMED and tr.session_token == "tok-9"][-1]
        assert len(mid.hands) == 1 and len(mid.position_covariance) == 4
        assert np.all(np.isfinite([mid.position.x, mid.position.y, mid.velocity.x]))
        assert node.core.sessions.closed == {"tok-9"}
    finally:
        rclpy.try_shutdown()


def test_rival_sessions_and_staleness_travel_in_the_track_message():
    from walkout_common.msgconv import BadMessageError, track_snapshots, waiting_tokens
    from walkout_common.types import CONFIRMED, TrackSnapshot
    from walkout_tracking.tracker_node import tracks_msg

    snap = TrackSnapshot("t1", "tok-a", CONFIRMED, 3.0, np.array([1.0, 2.0, 1.7]), np.zeros(2), np.eye(2) * 0.01,
                         rivals={"tok-b": 0.5, "tok-c": 0.125}, rival_since={"tok-c": 2.25}, unseen_s=0.375,
                         rival_why={"tok-c": "passed too close to tell apart at t=2.2 s"})
    [back] = track_snapshots(tracks_msg([snap], 3.0))
    assert back.rivals == {"tok-b": 0.5, "tok-c": 0.125}
    assert back.rival_since == {"tok-c": 2.25}  # tok-b: the whole visit
    assert back.unseen_s == 0.375
    assert back.rival_why == {"tok-c": "passed too close to tell apart at t=2.2 s"}  # tok-b: none given
    [plain] = track_snapshots(tracks_msg([TrackSnapshot("t2", "tok-d", CONFIRMED, 3.0, np.zeros(3), np.zeros(2), np.eye(2))], 3.0))
    assert plain.rivals == {}
    assert waiting_tokens(tracks_msg([snap], 3.0, ["tok-e"])) == ["tok-e"]  # a member's ENTRY waiting for its track
    assert waiting_tokens(tracks_msg([snap], 3.0)) == []
    bad = tracks_msg([snap], 3.0)
    bad.tracks[0].rival_probabilities = [float("nan"), 0.1]
    with pytest.raises(BadMessageError, match="Track 't1': rival"):
        track_snapshots(bad)
    bad.tracks[0].rival_probabilities = [0.5]
    with pytest.raises(BadMessageError, match="must pair up"):
        track_snapshots(bad)
    bad = tracks_msg([snap], 3.0)
    bad.tracks[0].rival_since_s = [2.25]
    with pytest.raises(BadMessageError, match="rival_since_s"):
        track_snapshots(bad)
    bad = tracks_msg([snap], 3.0)
    bad.tracks[0].rival_causes = ["met"]
    with pytest.raises(BadMessageError, match="rival_causes"):
        track_snapshots(bad)
    bad = tracks_msg([snap], 3.0)
    bad.tracks[0].unseen_s = float("nan")
    with pytest.raises(BadMessageError, match="Track 't1': unseen_s nan"):
        track_snapshots(bad)
