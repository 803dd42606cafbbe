"""Tracker node: /perception/people + /gates/events -> /tracking/tracks."""

from __future__ import annotations

import math

import numpy as np
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data

from walkout_common import msgconv
from walkout_common.params import declare
from walkout_common.ros import WarnOnce, run_node
from walkout_common.store import load_store
from walkout_common.types import TrackSnapshot
from walkout_msgs import msg as wm

from .tracker import Rebind, Tracker, TrackerParams

TRACKS_QOS = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
EVENTS_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)


class TrackerNode(WarnOnce, Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("tracker_node", **kwargs)
        store_file = self.declare_parameter("store_file", "").value
        period = float(self.declare_parameter("publish_period_s", 0.1).value)
        self.store = load_store(store_file)
        self.core = Tracker(self.store, declare(self, TrackerParams))
        self._rebinds_seen = 0
        self._watched: list[Rebind] = []  # re-bindings whose takeover check still runs (Tracker._takeovers)
        self._unbound_seen: set[str] = set()
        self.pub = self.create_publisher(wm.TrackArray, "/tracking/tracks", TRACKS_QOS)
        self.create_subscription(wm.PersonDetectionArray, "/perception/people", self.on_people, qos_profile_sensor_data)
        self.create_subscription(wm.GateEvent, "/gates/events", self.on_gate, EVENTS_QOS)
        self.create_timer(period, self.on_timer)
        self.get_logger().info(f"tracking shoppers in {self.store.store_id} ({len(self.store.gates)} gates)")

    def on_people(self, msg: wm.PersonDetectionArray) -> None:
        try:
            frame = msgconv.detection_frame(msg)
        except (ValueError, AttributeError, TypeError) as exc:
            self.warn_once(f"skipped a bad message on /perception/people: {exc}")
            return
        good = [d for d in frame.people if np.all(np.isfinite(d.head)) and np.isfinite(d.height_m)]
        if len(good) < len(frame.people):
            self.warn_once(f"/perception/people from camera '{frame.camera_id}': skipped detections with a non-finite head or height")
            frame.people = good
        if not np.isfinite(frame.stamp):
            self.warn_once(f"/perception/people from camera '{frame.camera_id}': non-finite stamp, frame skipped")
            return
        dropped = self.core.dropped_frames
        try:
            self.core.update(frame)
        except (ValueError, np.linalg.LinAlgError) as exc:
            self.warn_once(f"/perception/people from camera '{frame.camera_id}': frame skipped ({exc})")
            return
        if self.core.dropped_frames > dropped:
            self.warn_once(f"/perception/people from camera '{frame.camera_id}' arrives more than "
                           f"{self.core.p.max_frame_lag_s} s late: such frames are dropped")
        self.publish()

    def on_gate(self, msg: wm.GateEvent) -> None:
        try:
            event = msgconv.gate_event(msg)
            closed = self.core.on_gate(event)
        except (msgconv.BadMessageError, KeyError, ValueError) as exc:
            self.warn_once(f"skipped a bad message on /gates/events: {exc}")
            return
        for c in closed:
            self.get_logger().info(f"session {c.token} left the store at {c.stamp:.2f} s")
        self.publish()

    def on_timer(self) -> None:
        now = self.get_clock().now().nanoseconds * 1e-9
        if now > self.core.now:
            self.core.advance(now)
        for rb in self.core.rebinds[self._rebinds_seen :]:
            self.get_logger().info(f"track {rb.new_id} seen again as {rb.old_id} of session {rb.token} (p={rb.probability:.2f})")
            self._watched.append(rb)
        self._rebinds_seen = len(self.core.rebinds)
        for rb in [rb for rb in self._watched if self.core.now - rb.stamp > self.core.p.takeover_watch_s]:
            self._watched.remove(rb)  # its takeover doubt is settled now
            if rb.takeover >= self.core.p.rival_min_p:
                log = self.get_logger().warning if rb.takeover >= 0.5 else self.get_logger().info
                log(f"session {rb.token}: the shopper seen again as track {rb.old_id} at {rb.stamp:.2f} s may be another "
                    f"session's, whose track took this one's over (p={rb.takeover:.2f}); both sessions carry the doubt")
        for u in self.core.unbound():
            if u.track_id not in self._unbound_seen:
                self._unbound_seen.add(u.track_id)
                self.get_logger().warning(f"track {u.track_id} at ({u.position[0]:.2f}, {u.position[1]:.2f}) belongs to no session: "
                                          "its picks can't be billed")
        self.publish()

    def publish(self) -> None:
        self.pub.publish(tracks_msg(self.core.snapshots(), self.core.now, self.core.waiting_tokens()))


def tracks_msg(snaps: list[TrackSnapshot], stamp: float, waiting: list[str] | None = None) -> wm.TrackArray:
    out = wm.TrackArray()
    msgconv.set_stamp(out.header.stamp, stamp)
    out.header.frame_id = "map"
    out.waiting_tokens = list(waiting or [])
    for s in snaps:
        m = wm.Track(track_id=s.track_id, session_token=s.session_token, state=s.state)
        m.position.x, m.position.y, m.position.z = (float(v) for v in s.position)
        m.velocity.x, m.velocity.y = float(s.velocity[0]), float(s.velocity[1])
        m.position_covariance = [float(v) for v in s.covariance.ravel()]
        for h in s.hands:
            hp = wm.HandPoint()
            hp.position.x, hp.position.y, hp.position.z = (float(v) for v in h)
            m.hands.append(hp)
        m.unseen_s = float(s.unseen_s)
        m.rival_tokens = list(s.rivals)
        m.rival_probabilities = [float(v) for v in s.rivals.values()]
        m.rival_since_s = [float(s.rival_since.get(k, -math.inf)) for k in s.rivals]
        m.rival_causes = [s.rival_why.get(k, "") for k in s.rivals]
        out.tracks.append(m)
    return out


def main(args: list[str] | None = None) -> None:
    run_node(TrackerNode, args)
