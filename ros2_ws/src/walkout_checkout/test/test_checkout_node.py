"""The checkout node over real rclpy topics: a closed basket in, one receipt out."""

from pathlib import Path

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter

from walkout_bringup.testing import spin_until, wait_matched
from walkout_checkout.checkout_node import LATCHED_QOS, CheckoutNode
from walkout_common.msgconv import set_stamp
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
        probe.create_subscription(wm.Receipt, "/checkout/receipts", receipts.append, LATCHED_QOS)
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
    finally:
        rclpy.try_shutdown()
