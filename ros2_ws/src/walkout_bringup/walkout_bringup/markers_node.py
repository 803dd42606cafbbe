"""Markers node: plates, gates, tracks, reaches and basket totals for RViz2 (/walkout/markers)."""

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

from .markers import MarkerSpec, gate_markers, plate_markers, track_markers

LATCHED = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)


class MarkersNode(WarnOnce, Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("markers_node", **kwargs)
        self.store = load_store(self.declare_parameter("store_file", "").value)
        self.snaps = []
        self.totals: dict[str, int] = {}
        self.currency = ""
        self.active: dict[str, float] = {}
        self.pub = self.create_publisher(MarkerArray, "/walkout/markers", 10)
        self.create_subscription(wm.TrackArray, "/tracking/tracks", self.on_tracks, QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
        self.create_subscription(wm.Basket, "/association/baskets", self.on_basket, LATCHED)
        self.create_subscription(wm.PlateEvent, "/perception/plate_events", self.on_plate, QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE))
        self.create_timer(0.2, self.publish)

    def on_tracks(self, msg: wm.TrackArray) -> None:
        self.snaps = msgconv.track_snapshots(msg)

    def on_basket(self, msg: wm.Basket) -> None:
        self.totals[msg.session_token] = int(msg.total_cents)
        self.currency = msg.currency

    def on_plate(self, msg: wm.PlateEvent) -> None:
        if msg.settled:
            self.active[msg.plate_id] = float(msg.delta_g)

    def publish(self) -> None:
        specs = plate_markers(self.store, self.active, 0.0) + gate_markers(self.store) + track_markers(self.snaps, self.totals, self.currency)
        clear = Marker(action=Marker.DELETEALL)
        self.pub.publish(MarkerArray(markers=[clear] + [to_marker(s, self.store.frame_id, self.get_clock().now().to_msg()) for s in specs]))


def to_marker(s: MarkerSpec, frame: str, stamp) -> Marker:
    m = Marker(ns=s.ns, id=s.id, type=s.type, action=Marker.ADD, text=s.text)
    m.header.frame_id, m.header.stamp = frame, stamp
    m.pose.position.x, m.pose.position.y, m.pose.position.z = s.position
    m.pose.orientation.z, m.pose.orientation.w = math.sin(s.yaw / 2), math.cos(s.yaw / 2)
    m.scale.x, m.scale.y, m.scale.z = s.scale
    m.color.r, m.color.g, m.color.b, m.color.a = s.color
    m.points = [Point(x=float(p[0]), y=float(p[1]), z=float(p[2])) for p in s.points]
    return m


def main(args: list[str] | None = None) -> None:
    run_node(MarkersNode, args)
