"""Checkout bridge node: /association/baskets -> receipts (SQLite) -> /checkout/receipts."""

from __future__ import annotations

from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

from walkout_common.msgconv import set_stamp, stamp_to_sec
from walkout_common.params import declare
from walkout_common.ros import WarnOnce, run_node
from walkout_common.store import load_store
from walkout_common.types import Basket, BasketLine, Receipt
from walkout_msgs import msg as wm

from .bridge import CheckoutBridge, CheckoutParams

LATCHED_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)


class CheckoutNode(WarnOnce, Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("checkout_node", **kwargs)
        store_file = self.declare_parameter("store_file", "").value
        params = declare(self, CheckoutParams)
        self.store = load_store(store_file)
        self.core = CheckoutBridge(self.store.store_id, params)
        self.pub = self.create_publisher(wm.Receipt, "/checkout/receipts", LATCHED_QOS)
        self.create_subscription(wm.Basket, "/association/baskets", self.on_basket, LATCHED_QOS)
        if params.retention_s > 0:
            self.create_timer(min(params.retention_s, 3600.0), lambda: self.core.db.purge(params.retention_s))
        # Receipts issued before a restart are published again for late joiners.
        for r in self.core.db.receipts():
            self.pub.publish(receipt_msg(r))
        self.get_logger().info(f"checkout for {self.store.store_id}: db {params.db_file or 'in memory'}, approve at {params.approve_threshold}")

    def on_basket(self, msg: wm.Basket) -> None:
        try:
            basket = basket_from_msg(msg)
            receipt = self.core.on_basket(basket)
        except (ValueError, KeyError) as exc:
            self.get_logger().warning(f"skipped a bad basket of session '{msg.session_token}': {exc}")
            return
        if receipt is None:
            return
        self.pub.publish(receipt_msg(receipt))
        items = ", ".join(f"{ln.quantity}x {ln.sku}" for ln in receipt.lines) or "nothing"
        why = f" ({'; '.join(receipt.review_reasons)})" if receipt.review_reasons else ""
        self.get_logger().info(f"receipt {receipt.session_token}: {receipt.status} {items} = {receipt.total_cents} cents{why}")


def basket_from_msg(msg: wm.Basket) -> Basket:
    if not msg.session_token:
        raise ValueError("basket without a session_token")
    lines = [BasketLine(ln.sku, ln.name, int(ln.quantity), int(ln.unit_price_cents), float(ln.probability)) for ln in msg.lines]
    return Basket(msg.session_token, stamp_to_sec(msg.header.stamp), lines, msg.currency, float(msg.confidence), bool(msg.open),
                  list(msg.review_reasons))


def receipt_msg(r: Receipt) -> wm.Receipt:
    m = wm.Receipt(store_id=r.store_id, session_token=r.session_token, status=r.status, confidence=float(r.confidence),
                   total_cents=int(r.total_cents), currency=r.currency, review_reasons=list(r.review_reasons))
    set_stamp(m.header.stamp, r.exit_stamp)
    m.header.frame_id = "map"
    m.lines = [wm.BasketLine(sku=ln.sku, name=ln.name, quantity=ln.quantity, unit_price_cents=ln.unit_price_cents,
                             probability=float(ln.probability)) for ln in r.lines]
    return m


def main(args: list[str] | None = None) -> None:
    run_node(CheckoutNode, args)
