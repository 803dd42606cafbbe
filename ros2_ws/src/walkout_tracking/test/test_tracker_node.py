"""The tracker node over real rclpy topics: detections + gate events in, tracks out."""

from pathlib import Path

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy

from walkout_bringup.testing import spin_until, wait_matched
from walkout_common.msgconv import set_stamp
from walkout_msgs import msg as wm
from walkout_tracking.tracker_node import EVENTS_QOS, TRACKS_QOS, TrackerNode

ROOT = Path(__file__).resolve().parents[4]


def detections(t, x, y):
    m = wm.PersonDetectionArray(camera_id="depth1")
    set_stamp(m.header.stamp, t)
    d = wm.PersonDetection(height_m=1.7)
    d.head.x, d.head.y, d.head.z = x, y, 1.7
    m.people = [d]
    return m


def test_tracks_bind_at_entry_and_bad_gate_events_are_skipped():
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
        for k in range(30):
            pub_det.publish(detections(k * 0.1, 1.0, -0.5 + k * 0.05))
            ex.spin_once(timeout_sec=0.01)
            if k == 10:
                bad = wm.GateEvent(gate_id="gate-in", kind=wm.GateEvent.ENTRY, session_token="")  # empty token
                unknown = wm.GateEvent(gate_id="back-door", kind=wm.GateEvent.ENTRY, session_token="x")
                good = wm.GateEvent(gate_id="gate-in", kind=wm.GateEvent.ENTRY, session_token="tok-9")
                for g in (bad, unknown, good):
                    set_stamp(g.header.stamp, 1.0)
                    pub_gate.publish(g)
        assert spin_until(ex, lambda: any(t.session_token == "tok-9" for m in tracks for t in m.tracks))
        last = [m for m in tracks if m.tracks][-1]
        assert len(last.tracks) == 1 and last.tracks[0].state == wm.Track.CONFIRMED
    finally:
        rclpy.try_shutdown()
