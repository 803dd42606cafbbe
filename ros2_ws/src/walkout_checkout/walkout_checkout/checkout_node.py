"""Checkout bridge node: /association/baskets -> receipts (SQLite/PostgreSQL) ->
/checkout/receipts and the commerce webhook; keeps the reviewer console's evidence
(item events, plate events, tracks) and serves the shopper page and console."""

from __future__ import annotations

import threading

from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data

from walkout_common import msgconv
from walkout_common.msgconv import set_stamp
from walkout_common.params import declare
from walkout_common.ros import WarnOnce, basket_lines_msg, basket_msg, run_node
from walkout_common.store import load_catalog, load_store
from walkout_common.types import Receipt
from walkout_msgs import msg as wm

from . import evidence
from .bridge import CheckoutBridge, CheckoutParams
from .outbox import WebhookOutbox
from .web import CheckoutWeb

LATCHED_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
EVENT_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
TRACK_EVIDENCE_PERIOD_S = 0.2  # tracks are kept at 5 Hz for the console: enough to see a reach


class CheckoutNode(WarnOnce, Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("checkout_node", **kwargs)
        store_file = self.declare_parameter("store_file", "").value
        catalog_file = self.declare_parameter("catalog_file", "").value
        params = declare(self, CheckoutParams)
        self.params = params
        self.store = load_store(store_file)
        catalog = load_catalog(catalog_file, self.store) if catalog_file else None
        self.core = CheckoutBridge(self.store.store_id, params)
        self.pub = self.create_publisher(wm.Receipt, "/checkout/receipts", LATCHED_QOS)
        self.create_subscription(wm.Basket, "/association/baskets", self.on_basket, LATCHED_QOS)
        self.create_subscription(wm.ItemEvent, "/association/item_events", self.on_item_event, EVENT_QOS)
        self.create_subscription(wm.PlateEvent, "/perception/plate_events", self.on_plate_event, EVENT_QOS)
        self.create_subscription(wm.TrackArray, "/tracking/tracks", self.on_tracks, qos_profile_sensor_data)
        self._last_tracks = -1e18
        if params.retention_s > 0:
            self.create_timer(min(params.retention_s, 60.0), self.purge)
        self.outbox = WebhookOutbox(self.core.db, params.webhook_url, params.webhook_timeout_s) if params.webhook_url else None
        self._outbox_wake = threading.Event()
        self._stopping = threading.Event()
        if self.outbox is not None:  # in its own thread: a slow endpoint never stalls the topics
            threading.Thread(target=self._outbox_loop, name="checkout-outbox", daemon=True).start()
        self.web = None
        if params.web_port >= 0:
            self.web = CheckoutWeb(self.core.db, self.store, catalog, params.web_host, params.web_port, params.retention_s).start()
            self.get_logger().info(f"shopper page {self.web.url}/s/<token>, reviewer console {self.web.url}/review, signage {self.web.url}/entry")
        # Receipts issued before a restart are published again for late joiners, and the
        # open baskets too: a restarted association node takes them back from here.
        for r in self.core.db.receipts():
            self.pub.publish(receipt_msg(r))
        self.pub_open = self.create_publisher(wm.Basket, "/checkout/open_baskets", LATCHED_QOS)
        for b in self.core.db.open_baskets():
            self.pub_open.publish(basket_msg(b))
        # Reviewers' decisions (from the console, the admin tool or another bridge's) go to
        # the association, which reads again the sessions that shared an event with the one
        # decided: their held receipts may then be approved with no second review.
        # With the receipt as decided goes what the reviewer said happened in single plate
        # events (who moved what): one message, so no session is read again on half of it.
        self.pub_reviewed = self.create_publisher(wm.ReviewDecision, "/checkout/reviewed", LATCHED_QOS)
        # Where this node got to is kept in the database: decisions made while it was down
        # (the console runs on) are sent once it is back.
        self._decision_reader = f"{self.store.store_id}{self.get_fully_qualified_name()}"
        self._last_decision = self.core.db.decision_cursor(self._decision_reader)
        # on the wall clock: a person decides in wall time, also while a replay's /clock stands still
        self.create_timer(params.decision_poll_s, self.publish_decisions, clock=Clock(clock_type=ClockType.STEADY_TIME))
        self.get_logger().info(f"checkout for {self.store.store_id}: db {params.db_file or 'in memory'}, approve at {params.approve_threshold}")

    def on_basket(self, msg: wm.Basket) -> None:
        try:
            basket = msgconv.basket(msg)
            receipt = self.core.on_basket(basket)
            if basket.open:
                self.pub_open.publish(msg)
        except (ValueError, KeyError) as exc:
            self.get_logger().warning(f"skipped a bad basket of session '{msg.session_token}': {exc}")
            return
        except Exception as exc:  # e.g. the database is unreachable: say so loudly, keep running
            self.get_logger().error(f"basket of session '{msg.session_token}' not recorded: {type(exc).__name__}: {exc}")
            return
        if receipt is None:
            return
        self._outbox_wake.set()
        self.pub.publish(receipt_msg(receipt))
        items = ", ".join(f"{ln.quantity}x {ln.sku}" for ln in receipt.lines) or "nothing"
        why = f" ({'; '.join(receipt.review_reasons)})" if receipt.review_reasons else ""
        self.get_logger().info(f"receipt {receipt.session_token}: {receipt.status} {items} = {receipt.total_cents} cents{why}")

    def on_item_event(self, msg: wm.ItemEvent) -> None:
        try:
            stamp, token, payload = evidence.item_event(msg)
            self.core.db.record_evidence("item_event", stamp, payload, token)
        except Exception as exc:  # a bad message or a database hiccup: log, carry on
            self.warn_once(f"skipped an item event '{msg.event_id}' on /association/item_events: {exc}")

    def on_plate_event(self, msg: wm.PlateEvent) -> None:
        try:
            got = evidence.plate_event(msg)
            if got is not None:
                self.core.db.record_evidence("plate_event", got[0], got[1])
        except Exception as exc:  # a bad message or a database hiccup: log, carry on
            self.warn_once(f"skipped a plate event of plate '{msg.plate_id}' on /perception/plate_events: {exc}")

    def on_tracks(self, msg: wm.TrackArray) -> None:
        try:
            stamp, payload = evidence.tracks(msg)
            if stamp - self._last_tracks >= TRACK_EVIDENCE_PERIOD_S or stamp < self._last_tracks:
                self._last_tracks = stamp
                self.core.db.record_evidence("tracks", stamp, payload)
        except Exception as exc:  # a bad message or a database hiccup: log, carry on
            self.warn_once(f"skipped a track array on /tracking/tracks: {exc}")

    def publish_decisions(self) -> None:
        try:
            decided = self.core.db.decided_since(self._last_decision)
        except Exception as exc:  # a database hiccup: try again on the next tick
            self.warn_once(f"review decisions not read: {type(exc).__name__}: {exc}")
            return
        for row, receipt in decided:
            self._last_decision = row
            msg = receipt_msg(receipt)
            try:
                self.pub_reviewed.publish(self.decision_msg(msg))
            except Exception as exc:  # a database hiccup: the receipt as decided still goes out
                self.warn_once(f"review decision of {receipt.session_token} not sent to the association: {type(exc).__name__}: {exc}")
            self.pub.publish(msg)  # the receipt as decided is the receipt now
            self.get_logger().info(f"review decided for {receipt.session_token}: sent to the association to settle the sessions it shared events with")
        if decided:
            try:
                self.core.db.set_decision_cursor(self._decision_reader, self._last_decision)
            except Exception as exc:  # sent already; after a restart they would be sent again, which settle allows
                self.warn_once(f"review decision cursor not kept: {type(exc).__name__}: {exc}")

    def decision_msg(self, receipt: wm.Receipt) -> wm.ReviewDecision:
        """The decided receipt with who decided it, when, and their word on single events."""
        token = receipt.session_token
        last = self.core.db.decisions(token)[-1]
        m = wm.ReviewDecision(reviewer=last["reviewer"], receipt=receipt)
        set_stamp(m.header.stamp, last["decided_at"])
        m.header.frame_id = "map"
        m.verdicts = [wm.EventVerdict(event_id=v["event_id"], reading=v["reading"]) for v in self.core.db.verdicts(token)]
        return m

    def purge(self) -> None:
        n = self.core.db.purge(self.params.retention_s)
        if n:
            self.get_logger().info(f"privacy purge: {n} evidence/basket-history rows older than {self.params.retention_s:g} s deleted")

    def _outbox_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                delivered, errors = self.outbox.deliver_due()
                for e in errors:
                    self.warn_once(f"commerce webhook: {e}")
                if delivered:
                    self.get_logger().info(f"commerce webhook: {delivered} receipt(s) delivered")
            except Exception as exc:  # the loop must outlive a database hiccup
                self.warn_once(f"commerce outbox: {type(exc).__name__}: {exc}")
            self._outbox_wake.wait(1.0)
            self._outbox_wake.clear()

    def destroy_node(self) -> None:
        self._stopping.set()
        self._outbox_wake.set()
        if self.web is not None:
            self.web.stop()
        super().destroy_node()


def receipt_msg(r: Receipt) -> wm.Receipt:
    m = wm.Receipt(store_id=r.store_id, session_token=r.session_token, status=r.status, confidence=float(r.confidence),
                   total_cents=int(r.total_cents), currency=r.currency, review_reasons=list(r.review_reasons), revision=int(r.revision))
    set_stamp(m.header.stamp, r.exit_stamp)
    m.header.frame_id = "map"
    m.lines = basket_lines_msg(r.lines)
    return m


def main(args: list[str] | None = None) -> None:
    run_node(CheckoutNode, args)
