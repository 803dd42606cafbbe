"""Markers node: plates, gates, tracks, reaches and baskets for RViz2 on /walkout/markers.

Subscribes /tracking/tracks, /perception/plate_events (settled and live), and
/association/baskets (latched); the drawing itself is walkout_bringup.markers.
"""

from __future__ import annotations

import math

from geometry_msgs.msg import Point
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from visualization_msgs.msg import Marker, MarkerArray

from walkout_common import msgconv
from walkout_common.ros import WarnOnce, run_node
from walkout_common.store import load_store
from walkout_msgs import msg as wm

from .markers import MarkerBoard, MarkerSpec

RELIABLE = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
LATCHED = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)


class MarkersNode(WarnOnce, Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("markers_node", **kwargs)
        self.store = load_store(self.declare_parameter("store_file", "").value)
        period = float(self.declare_parameter("period_s", 0.2).value)
        self.board = MarkerBoard(self.store, glow_s=float(self.declare_parameter("glow_s", 3.0).value))
        self.pub = self.create_publisher(MarkerArray, "/walkout/markers", 10)
        self.create_subscription(wm.TrackArray, "/tracking/tracks", self.on_tracks, RELIABLE)
        self.create_subscription(wm.PlateEvent, "/perception/plate_events", self.on_plate, RELIABLE)
        self.create_subscription(wm.Basket, "/association/baskets", self.on_basket, LATCHED)
        self.create_timer(period, self.publish)

    def on_tracks(self, msg: wm.TrackArray) -> None:
        try:
            self.board.on_tracks(msgconv.track_snapshots(msg))
        except (ValueError, TypeError, AttributeError) as exc:
            self.warn_once(f"skipped a bad message on /tracking/tracks: {exc}")

    def on_plate(self, msg: wm.PlateEvent) -> None:
        try:
            self.board.on_plate_event(msgconv.plate_event(msg))
        except (ValueError, TypeError, AttributeError) as exc:
            self.warn_once(f"skipped a bad message on /perception/plate_events (plate '{msg.plate_id}'): {exc}")

    def on_basket(self, msg: wm.Basket) -> None:
        try:
            self.board.on_basket(msgconv.basket(msg))
        except (ValueError, TypeError, AttributeError) as exc:
            self.warn_once(f"skipped a bad message on /association/baskets (session '{msg.session_token}'): {exc}")

    def publish(self) -> None:
        stamp = self.get_clock().now()  # sim time when use_sim_time is set
        specs = self.board.markers(stamp.nanoseconds * 1e-9)
        clear = Marker(action=Marker.DELETEALL)  # tracks come and go: redraw everything
        msg_stamp = stamp.to_msg()
        self.pub.publish(MarkerArray(markers=[clear] + [to_marker(s, self.store.frame_id, msg_stamp) for s in specs]))


def to_marker(s: MarkerSpec, frame: str, stamp) -> Marker:
    m = Marker(ns=s.ns, id=s.id, type=s.type, action=Marker.ADD, text=s.text)
    m.header.frame_id, m.header.stamp = frame, stamp
    m.pose.position.x, m.pose.position.y, m.pose.position.z = (float(v) for v in s.position)
    m.pose.orientation.z, m.pose.orientation.w = math.sin(s.yaw / 2), math.cos(s.yaw / 2)
    m.scale.x, m.scale.y, m.scale.z = (float(v) for v in s.scale)
    m.color.r, m.color.g, m.color.b, m.color.a = (float(v) for v in s.color)
    m.points = [Point(x=float(p[0]), y=float(p[1]), z=float(p[2])) for p in s.points]
    return m


def main(args: list[str] | None = None) -> None:
    run_node(MarkersNode, args)
