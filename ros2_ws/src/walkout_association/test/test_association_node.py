"""The association node over real rclpy topics: tracks + a plate event in, a basket out."""

from pathlib import Path

import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy

from walkout_association.association_node import LATCHED_QOS, AssociationNode
from walkout_bringup.testing import spin_until, wait_matched
from walkout_common.msgconv import set_stamp
from walkout_common.types import CONFIRMED, PlateEvent, TrackSnapshot
from walkout_msgs import msg as wm

ROOT = Path(__file__).resolve().parents[4]
RELIABLE = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)


def track_array(t: float, hand: bool) -> wm.TrackArray:
    arr = wm.TrackArray()
    set_stamp(arr.header.stamp, t)
    arr.header.frame_id = "map"
    tr = wm.Track(track_id="t1", session_token="tok-1", state=wm.Track.CONFIRMED)
    tr.position.x, tr.position.y, tr.position.z = 1.95, 1.55, 1.75
    tr.position_covariance = [0.01, 0.0, 0.0, 0.01]
    if hand:
        h = wm.HandPoint(reach_m=0.45)
        h.position.x, h.position.y, h.position.z = 1.95, 2.0, 1.0
        tr.hands = [h]
    arr.tracks = [tr]
    return arr


def make_node() -> AssociationNode:
    return AssociationNode(
        parameter_overrides=[
            Parameter("store_file", value=str(ROOT / "calibration/nanostore/store.yaml")),
            Parameter("catalog_file", value=str(ROOT / "calibration/nanostore/catalog.yaml")),
        ]
    )


def test_plate_event_becomes_a_basket_line():
    rclpy.init()
    try:
        node = make_node()
        probe = rclpy.create_node("probe")
        baskets: list[wm.Basket] = []
        items: list[wm.ItemEvent] = []
        probe.create_subscription(wm.Basket, "/association/baskets", baskets.append, LATCHED_QOS)
        probe.create_subscription(wm.ItemEvent, "/association/item_events", items.append, RELIABLE)
        pub_tracks = probe.create_publisher(wm.TrackArray, "/tracking/tracks", QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE))
        pub_events = probe.create_publisher(wm.PlateEvent, "/perception/plate_events", RELIABLE)
        ex = SingleThreadedExecutor()
        ex.add_node(node)
        ex.add_node(probe)
        wait_matched(ex, [pub_tracks, pub_events])

        for i in range(60):
            pub_tracks.publish(track_array(i * 0.1, hand=20 <= i <= 40))
            ex.spin_once(timeout_sec=0.01)
        # the plate event is only judged once the tracks around it have arrived
        assert spin_until(ex, lambda: node.core.history.at("t1", 5.9) is not None and node.core.history.window(5.85, 6.0))
        assert spin_until(ex, lambda: any(b.session_token == "tok-1" for b in baskets))
        ev = wm.PlateEvent(plate_id="G1A-S1-P1", shelf_id="G1A-S1", delta_g=-519.0, delta_std_g=1.2, settled=True)
        set_stamp(ev.start, 2.5)
        set_stamp(ev.end, 3.5)
        set_stamp(ev.header.stamp, 3.5)
        pub_events.publish(ev)
        assert spin_until(ex, lambda: any(b.lines for b in baskets))
        last = [b for b in baskets if b.lines][-1]
        assert [(ln.sku, ln.quantity) for ln in last.lines] == [("012000286209", 1)]
        assert last.total_cents == 199 and last.open and last.confidence > 0.9
        assert spin_until(ex, lambda: len(items) == 1)
        assert items[0].session_token == "tok-1" and items[0].candidates[0].track_id == "t1"

        # A plate that does not exist is logged and skipped; the node carries on.
        bad = wm.PlateEvent(plate_id="NO-SUCH-PLATE", shelf_id="X", delta_g=-10.0, delta_std_g=1.0, settled=True)
        pub_events.publish(bad)
        pub_events.publish(ev)  # a duplicate of a known event changes nothing
        ev2 = wm.PlateEvent(plate_id="G1A-S1-P1", shelf_id="G1A-S1", delta_g=+520.0, delta_std_g=1.2, settled=True)
        set_stamp(ev2.start, 4.0)
        set_stamp(ev2.end, 5.0)
        pub_events.publish(ev2)  # then the bottle goes back
        assert spin_until(ex, lambda: len(items) == 2)
        assert items[1].action == wm.ItemEvent.RETURN and items[1].sku == "012000286209"
        assert spin_until(ex, lambda: not baskets[-1].lines)
        assert len(items) == 2

        # The shopper leaves while the plate is still undecided (reported unsettled): the
        # session waits, and closes once the plate has settled, with its change.
        pending = wm.PlateEvent(plate_id="G1A-S1-P1", shelf_id="G1A-S1", delta_g=-519.0, delta_std_g=1.2, settled=False)
        set_stamp(pending.start, 5.6)
        set_stamp(pending.end, 6.2)
        pub_events.publish(pending)
        assert spin_until(ex, lambda: "G1A-S1-P1" in node.core.disturbed)
        gone = track_array(6.3, hand=False)
        gone.tracks[0].state = wm.Track.EXITED
        # the tracker doubts this shopper's binding: tok-2's shopper entered right beside
        gone.tracks[0].rival_tokens, gone.tracks[0].rival_probabilities = ["tok-2"], [0.5]
        pub_tracks.publish(gone)
        assert spin_until(ex, lambda: "tok-1" in node.core.held)
        assert not any(not b.open for b in baskets)
        take = wm.PlateEvent(plate_id="G1A-S1-P1", shelf_id="G1A-S1", delta_g=-519.0, delta_std_g=1.2, settled=True)
        set_stamp(take.start, 5.6)
        set_stamp(take.end, 6.2)
        pub_events.publish(take)
        assert spin_until(ex, lambda: len(items) == 3)
        later = track_array(6.8, hand=False)  # time goes on: someone else in the store
        later.tracks[0].track_id, later.tracks[0].session_token, later.tracks[0].position.x = "t2", "tok-2", 4.0
        pub_tracks.publish(later)
        assert spin_until(ex, lambda: any(not b.open for b in baskets))
        (closed,) = [b for b in baskets if not b.open]
        assert closed.session_token == "tok-1" and [(ln.sku, ln.quantity) for ln in closed.lines] == [("012000286209", 1)]
        assert closed.confidence < 0.55 and any("may be session tok-2's" in r for r in closed.review_reasons)
    finally:
        rclpy.try_shutdown()


def test_a_restarted_node_takes_open_baskets_back_from_the_checkout():
    rclpy.init()
    try:
        node = make_node()
        probe = rclpy.create_node("probe")
        pub = probe.create_publisher(wm.Basket, "/checkout/open_baskets", LATCHED_QOS)
        kept = wm.Basket(session_token="tok-7", currency="USD", confidence=0.99, open=True, total_cents=398)
        kept.lines = [wm.BasketLine(sku="012000286209", name="Sparkling water", quantity=2, unit_price_cents=199, probability=0.99)]
        set_stamp(kept.header.stamp, 12.0)
        pub.publish(kept)
        ex = SingleThreadedExecutor()
        ex.add_node(node)
        ex.add_node(probe)
        assert spin_until(ex, lambda: "tok-7" in node.core.sessions)
        basket = node.core.basket("tok-7")
        assert [(ln.sku, ln.quantity) for ln in basket.lines] == [("012000286209", 2)] and basket.open
    finally:
        rclpy.try_shutdown()


def test_a_decision_sent_twice_settles_once():
    """A restarted checkout node may send a decision again: the second copy must not take
    what the shopper did after the decision as decided too."""
    rclpy.init()
    try:
        node = make_node()
        probe = rclpy.create_node("probe")
        pub = probe.create_publisher(wm.ReviewDecision, "/checkout/reviewed", LATCHED_QOS)
        baskets: list[str] = []
        probe.create_subscription(wm.Basket, "/association/baskets", lambda m: baskets.append(m.session_token), LATCHED_QOS)
        ex = SingleThreadedExecutor()
        ex.add_node(node)
        ex.add_node(probe)
        wait_matched(ex, [pub, node.pub_baskets])
        core = node.core
        core.open_session("tok-1", 0.0)
        core.open_session("tok-2", 0.0)
        decision = wm.ReviewDecision(reviewer="alice", receipt=wm.Receipt(session_token="tok-1", status="approved", revision=1))
        decision.receipt.lines = [wm.BasketLine(sku="012000286209", name="Sparkling water", quantity=1, unit_price_cents=199, probability=1.0)]
        pub.publish(decision)
        assert spin_until(ex, lambda: core.sessions["tok-1"].reviewed is not None)
        # then the shopper takes a second bottle
        for t in np.arange(0.0, 8.0, 0.1):
            core.history.add(TrackSnapshot("t1", "tok-1", CONFIRMED, float(t), np.array([1.95, 1.55, 1.75]), np.zeros(2), np.eye(2) * 0.01,
                                           [np.array([1.95, 2.0, 1.0])] if 4.0 <= t <= 6.0 else []))
        core.on_plate_event(PlateEvent("G1A-S1-P1", "G1A-S1", 4.5, 5.5, -520.0, 1.2))
        pub.publish(decision)  # the same decision again
        pub.publish(wm.ReviewDecision(receipt=wm.Receipt(session_token="tok-2", status="approved", revision=1)))  # read after it
        assert spin_until(ex, lambda: "tok-2" in baskets)
        assert core.sessions["tok-1"].reviewed_events == 0
        assert [(ln.sku, ln.quantity) for ln in core.basket("tok-1").lines] == [("012000286209", 2)]
    finally:
        rclpy.try_shutdown()
