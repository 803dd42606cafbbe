"""The checkout node over real rclpy topics: a closed basket in, one receipt out."""

from pathlib import Path

import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.qos import qos_profile_sensor_data

from walkout_bringup.testing import spin_until, wait_matched
from walkout_checkout import evidence
from walkout_checkout.checkout_node import EVENT_QOS, LATCHED_QOS, CheckoutNode
from walkout_common.msgconv import set_stamp
from walkout_common.ros import basket_msg
from walkout_common.types import Basket, BasketLine
from walkout_msgs import msg as wm

ROOT = Path(__file__).resolve().parents[4]


def basket(open_: bool, token="tok-5"):
    b = wm.Basket(session_token=token, currency="USD", confidence=0.995, open=open_, total_cents=199)
    set_stamp(b.header.stamp, 42.0)
    b.lines = [wm.BasketLine(sku="012000286209", name="Sparkling water", quantity=1, unit_price_cents=199, probability=0.995)]
    return b


def test_closed_basket_gives_one_receipt_even_after_restart(tmp_path):
    rclpy.init()
    try:
        params = [Parameter("store_file", value=str(ROOT / "calibration/nanostore/store.yaml")), Parameter("db_file", value=str(tmp_path / "r.sqlite"))]
        node = CheckoutNode(parameter_overrides=params)
        probe = rclpy.create_node("probe")
        receipts: list[wm.Receipt] = []
        # this test's sessions only: a latched receipt of an earlier test's node may still linger in DDS
        probe.create_subscription(wm.Receipt, "/checkout/receipts",
                                  lambda m: receipts.append(m) if m.session_token in ("tok-5", "tok-6") else None, LATCHED_QOS)
        pub = probe.create_publisher(wm.Basket, "/association/baskets", LATCHED_QOS)
        ex = SingleThreadedExecutor()
        ex.add_node(node)
        ex.add_node(probe)
        wait_matched(ex, [pub])
        pub.publish(basket(True))
        pub.publish(basket(False))
        pub.publish(basket(False))  # a duplicate close
        pub.publish(wm.Basket())  # no token: logged and skipped
        assert spin_until(ex, lambda: len(receipts) >= 1)
        spin_until(ex, lambda: len(receipts) > 1, timeout=1.0)
        assert len(receipts) == 1
        r = receipts[0]
        assert r.status == "approved" and r.total_cents == 199 and r.store_id == "nanostore-1"
        # a restarted bridge with the same database issues nothing new for the token
        ex.remove_node(node)
        node.destroy_node()
        node2 = CheckoutNode(parameter_overrides=params)
        ex.add_node(node2)
        wait_matched(ex, [pub])
        pub.publish(basket(False))
        spin_until(ex, lambda: len(receipts) > 2, timeout=1.5)
        assert len(node2.core.db.receipts()) == 1
        # the session closes again later (a group member came in after the receipt): amended
        later = basket(False)
        set_stamp(later.header.stamp, 60.0)
        pub.publish(later)
        assert spin_until(ex, lambda: any(m.revision == 2 for m in receipts))
        assert [r.revision for r in node2.core.db.receipts()] == [2]
        # what a basket may hold beyond its lines crosses the topic and is named for the reviewer
        unsure = Basket("tok-6", 50.0, [BasketLine("012000286209", "Sparkling water", 1, 199, 0.999)], "USD", 0.95, False, [],
                        [BasketLine("049000028911", "Cola 330 ml can", 1, 149, 0.05)])
        pub.publish(basket_msg(unsure))
        assert spin_until(ex, lambda: any(m.session_token == "tok-6" for m in receipts))
        (held,) = [m for m in receipts if m.session_token == "tok-6"]
        assert held.status == "review" and list(held.review_reasons) == ["low confidence 0.950 < 0.98: maybe also 1x Cola 330 ml can (0.05)"]
    finally:
        rclpy.try_shutdown()


def test_a_touch_is_kept_as_evidence_with_how_sure_the_plate_was():
    # a plate that settled back: a reviewer asking "did they take the lip balm?" sees the
    # touch, and how light a unit the plate could have missed
    pe = wm.PlateEvent(plate_id="P1", delta_g=-1.5, delta_std_g=2.5, settled=True, unchanged=True)
    set_stamp(pe.end, 12.0)
    stamp, payload = evidence.plate_event(pe)
    assert stamp == pytest.approx(12.0) and payload["unchanged"] and payload["delta_std_g"] == pytest.approx(2.5)
    assert "unchanged" not in evidence.plate_event(wm.PlateEvent(plate_id="P1", delta_g=-520.0, settled=True))[1]


def test_node_keeps_evidence_serves_the_shopper_and_calls_the_webhook(tmp_path, commerce):
    import json
    import urllib.request

    commerce.fail = 0
    rclpy.init()
    try:
        params = [Parameter("store_file", value=str(ROOT / "calibration/nanostore/store.yaml")),
                  Parameter("catalog_file", value=str(ROOT / "calibration/nanostore/catalog.yaml")),
                  Parameter("db_file", value=str(tmp_path / "r.sqlite")), Parameter("web_port", value=0),
                  Parameter("webhook_url", value=commerce.url)]
        node = CheckoutNode(parameter_overrides=params)
        probe = rclpy.create_node("probe")
        baskets = probe.create_publisher(wm.Basket, "/association/baskets", LATCHED_QOS)
        items = probe.create_publisher(wm.ItemEvent, "/association/item_events", EVENT_QOS)
        plates = probe.create_publisher(wm.PlateEvent, "/perception/plate_events", EVENT_QOS)
        tracks = probe.create_publisher(wm.TrackArray, "/tracking/tracks", qos_profile_sensor_data)
        ex = SingleThreadedExecutor()
        ex.add_node(node)
        ex.add_node(probe)
        wait_matched(ex, [baskets, items, plates, tracks])
        ev = wm.ItemEvent(event_id="e1", plate_id="P1", sku="012000286209", quantity=1, session_token="tok-5", probability=0.99)
        ev.alternatives = [wm.ProductScore(sku="x", probability=0.01)]
        set_stamp(ev.header.stamp, 40.0)
        items.publish(ev)
        pe = wm.PlateEvent(plate_id="P1", delta_g=3.0, dip_g=380.0, beyond_g=120.0, settled=True)
        set_stamp(pe.end, 40.0)
        plates.publish(pe)
        plates.publish(wm.PlateEvent(plate_id="P1", settled=False))  # still moving: not evidence
        ta = wm.TrackArray(tracks=[wm.Track(track_id="r4nd0m", session_token="tok-5")])
        set_stamp(ta.header.stamp, 39.9)
        tracks.publish(ta)
        baskets.publish(basket(True))
        def stored() -> bool:
            tracks.publish(ta)  # best effort: say it again until it lands (same stamp: kept once)
            return len(node.core.db.evidence(0, 100)) >= 3 and node.core.db.basket("tok-5") is not None

        assert spin_until(ex, stored)
        kinds = sorted(e["kind"] for e in node.core.db.evidence(0, 100))
        assert kinds == ["item_event", "plate_event", "tracks"]
        (kept,) = [e for e in node.core.db.evidence(0, 100) if e["kind"] == "plate_event"]
        assert kept["dip_g"] == pytest.approx(380.0) and kept["delta_g"] == pytest.approx(3.0)
        assert kept["beyond_g"] == pytest.approx(120.0)
        with urllib.request.urlopen(f"{node.web.url}/api/s/tok-5?v=-1", timeout=5) as r:
            assert json.loads(r.read())["total_cents"] == 199
        baskets.publish(basket(False))
        assert spin_until(ex, lambda: len(commerce.received) == 1, timeout=5.0)
        assert commerce.received[0]["session_token"] == "tok-5"
        node.destroy_node()
    finally:
        rclpy.try_shutdown()
