"""The markers node over real rclpy topics: tracks, plate events and a latched basket in,
a MarkerArray for RViz out; a bad message does not stop it."""

from pathlib import Path

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from visualization_msgs.msg import Marker, MarkerArray

from walkout_bringup.markers_node import LATCHED, RELIABLE, MarkersNode
from walkout_bringup.testing import spin_until, wait_matched
from walkout_common.msgconv import set_stamp
from walkout_msgs import msg as wm

STORE_FILE = Path(__file__).resolve().parents[4] / "calibration" / "nanostore" / "store.yaml"


def test_markers_node_draws_tracks_plates_and_baskets():
    rclpy.init()
    try:
        node = MarkersNode(parameter_overrides=[Parameter("store_file", value=str(STORE_FILE)), Parameter("period_s", value=0.05)])
        probe = rclpy.create_node("probe")
        got: list[MarkerArray] = []
        probe.create_subscription(MarkerArray, "/walkout/markers", got.append, 10)
        pub_tracks = probe.create_publisher(wm.TrackArray, "/tracking/tracks", RELIABLE)
        pub_plates = probe.create_publisher(wm.PlateEvent, "/perception/plate_events", RELIABLE)
        pub_basket = probe.create_publisher(wm.Basket, "/association/baskets", LATCHED)
        ex = SingleThreadedExecutor()
        ex.add_node(node)
        ex.add_node(probe)
        wait_matched(ex, [pub_tracks, pub_plates, pub_basket])

        # Bad input on the wire: a plate the store does not have, a track with a NaN head.
        pub_plates.publish(wm.PlateEvent(plate_id="NOPE", shelf_id="X", delta_g=-5.0, settled=True))
        nan_track = wm.Track(track_id="tnan", session_token="tok", state=1)
        nan_track.position.x = float("nan")
        track = wm.Track(track_id="t0123456789", session_token="tok", state=1, position_covariance=[0.01, 0.0, 0.0, 0.01])
        track.position.x, track.position.y, track.position.z = 1.0, 1.5, 1.7
        hand = wm.HandPoint()
        hand.position.x, hand.position.y, hand.position.z = 1.0, 2.0, 1.0
        track.hands = [hand]
        pub_tracks.publish(wm.TrackArray(tracks=[nan_track, track]))
        now = node.get_clock().now().nanoseconds * 1e-9
        ev = wm.PlateEvent(plate_id="G1A-S1-P1", shelf_id="G1A-S1", delta_g=-520.0, delta_std_g=1.0, settled=True)
        set_stamp(ev.start, now - 0.5)
        set_stamp(ev.end, now)
        pub_plates.publish(ev)
        basket = wm.Basket(session_token="tok", total_cents=199, currency="USD", confidence=0.9, open=True)
        basket.lines = [wm.BasketLine(sku="012", name="Water", quantity=1, unit_price_cents=199, probability=0.9)]
        pub_basket.publish(basket)

        def texts() -> set[str]:
            return {m.text for m in got[-1].markers} if got else set()

        assert spin_until(ex, lambda: {"t0123 tok  1.99 USD", "-520 g"} <= texts()), texts()
        last = got[-1].markers
        assert last[0].action == Marker.DELETEALL
        assert all(m.header.frame_id == "map" for m in last[1:])
        assert any(m.ns == "reaches" and len(m.points) == 2 for m in last)
        assert sum(m.ns == "heads" for m in last) == 1  # the NaN track is not drawn
        assert any(m.ns == "baskets" and "1 x Water" in m.text for m in last)
        plates = [m for m in last if m.ns == "plates"]
        assert len(plates) == 24 and sum(m.color.r > 0.8 and m.color.g < 0.5 for m in plates) == 1
    finally:
        rclpy.try_shutdown()
