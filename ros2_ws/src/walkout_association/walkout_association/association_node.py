"""Association node: plate events + tracks -> item events and live baskets."""

from __future__ import annotations

from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data

from walkout_common import msgconv
from walkout_common.params import declare
from walkout_common.ros import WarnOnce, basket_msg, run_node
from walkout_common.store import load_catalog, load_store
from walkout_common.types import ENTRY, Basket, ItemEvent
from walkout_msgs import msg as wm
from walkout_tracking.history import TrackHistory

from .associator import AssociationParams, Associator

EVENTS_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
LATCHED_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)


class AssociationNode(WarnOnce, Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("association_node", **kwargs)
        store_file = self.declare_parameter("store_file", "").value
        catalog_file = self.declare_parameter("catalog_file", "").value
        params = declare(self, AssociationParams)
        self.store = load_store(store_file)
        self.catalog = load_catalog(catalog_file, self.store)
        self.core = Associator(self.store, self.catalog, TrackHistory(), params)
        self.pub_items = self.create_publisher(wm.ItemEvent, "/association/item_events", EVENTS_QOS)
        self.pub_baskets = self.create_publisher(wm.Basket, "/association/baskets", LATCHED_QOS)
        self.create_subscription(wm.PlateEvent, "/perception/plate_events", self.on_plate_event, EVENTS_QOS)
        self.create_subscription(wm.TrackArray, "/tracking/tracks", self.on_tracks, QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE))
        self.create_subscription(wm.GateEvent, "/gates/events", self.on_gate, EVENTS_QOS)
        self.create_subscription(wm.ProductObservation, "/perception/products", self.on_product, qos_profile_sensor_data)
        # After a restart, the checkout bridge's durable baskets bring the open sessions back.
        self.create_subscription(wm.Basket, "/checkout/open_baskets", self.on_restored_basket, LATCHED_QOS)
        # A reviewer's decision (and their word on single events) settles the sessions that
        # shared an event with the one decided.
        self.create_subscription(wm.ReviewDecision, "/checkout/reviewed", self.on_reviewed, LATCHED_QOS)
        # A decision can come twice (a restarted checkout node sends what it may have sent);
        # settling it again would take the session's later events as decided too.
        self._settled: dict[str, tuple] = {}
        self.get_logger().info(f"associating for {self.store.store_id}: {len(self.store.plates)} plates, {len(self.catalog.products)} products")

    def on_plate_event(self, msg: wm.PlateEvent) -> None:
        if not msg.settled:  # a plate still disturbed: a shopper leaving in reach of it waits for it
            try:
                released = self.core.note_unsettled(msgconv.plate_event(msg))
            except (KeyError, ValueError) as exc:
                self.warn_once(f"skipped a bad message on /perception/plate_events: {exc}")
                return
            for b in released:
                self.publish_basket(b)
            return
        try:
            items, baskets = self.core.on_plate_event(msgconv.plate_event(msg))
        except (KeyError, ValueError) as exc:
            self.warn_once(f"skipped a bad message on /perception/plate_events: {exc}")
            return
        for item in items:
            self.pub_items.publish(item_msg(item))
        for b in baskets:
            self.publish_basket(b)

    def on_tracks(self, msg: wm.TrackArray) -> None:
        try:
            snaps = msgconv.track_snapshots(msg)
            waiting = msgconv.waiting_tokens(msg)
        except (ValueError, AttributeError) as exc:
            self.warn_once(f"skipped a bad message on /tracking/tracks: {exc}")
            return
        for b in self.core.observe_tracks(snaps, waiting):
            self.publish_basket(b)
        if snaps:
            self.core.prune(max(s.stamp for s in snaps))

    def on_gate(self, msg: wm.GateEvent) -> None:
        try:
            event = msgconv.gate_event(msg)
        except msgconv.BadMessageError as exc:
            self.warn_once(f"skipped a bad message on /gates/events: {exc}")
            return
        if event.kind == ENTRY:
            b = self.core.open_session(event.session_token, event.stamp)
            if b:
                self.publish_basket(b)

    def on_restored_basket(self, msg: wm.Basket) -> None:
        try:
            if self.core.restore(msgconv.basket(msg)):
                self.get_logger().info(f"carried on the basket of session {msg.session_token} ({len(msg.lines)} lines)")
        except (ValueError, KeyError) as exc:
            self.warn_once(f"skipped a bad message on /checkout/open_baskets: {exc}")

    def on_reviewed(self, msg: wm.ReviewDecision) -> None:
        receipt = msg.receipt
        if receipt.status != "approved":
            return
        counts: dict[str, int] = {}
        for ln in receipt.lines:
            counts[ln.sku] = counts.get(ln.sku, 0) + int(ln.quantity)
        verdicts = [(v.event_id, v.reading) for v in msg.verdicts]
        decision = (int(receipt.revision), sorted(counts.items()), verdicts)
        if self._settled.get(receipt.session_token) == decision:
            return
        try:
            baskets = self.core.settle(receipt.session_token, counts, verdicts)
        except (KeyError, ValueError) as exc:
            self.warn_once(f"skipped a bad message on /checkout/reviewed: {exc}")
            return
        self._settled[receipt.session_token] = decision
        for b in baskets:
            self.publish_basket(b)
        others = [b.session_token for b in baskets if b.session_token != receipt.session_token]
        if others:
            said = f" and their word on {len(verdicts)} plate events" if verdicts else ""
            self.get_logger().info(f"review of {receipt.session_token} by {msg.reviewer}{said}: read again {', '.join(others)}")

    def on_product(self, msg: wm.ProductObservation) -> None:
        self.core.add_observation(msgconv.product_observation(msg))

    def publish_basket(self, basket: Basket) -> None:
        self.pub_baskets.publish(basket_msg(basket, self.store.frame_id))
        total = basket.total_cents / 100
        state = "open" if basket.open else "closed"
        self.get_logger().info(f"basket {basket.session_token} ({state}): {len(basket.lines)} lines, {total:.2f} {basket.currency}, confidence {basket.confidence:.3f}")


def item_msg(item: ItemEvent) -> wm.ItemEvent:
    m = wm.ItemEvent()
    msgconv.set_stamp(m.header.stamp, item.stamp)
    m.header.frame_id = "map"
    m.event_id, m.plate_id, m.action, m.sku, m.quantity = item.event_id, item.plate_id, item.action, item.sku, item.quantity
    m.session_token, m.probability, m.delta_g, m.note = item.session_token, float(item.probability), float(item.delta_g), item.note
    m.candidates = [wm.TrackCandidate(track_id=c.track_id, session_token=c.session_token, probability=float(c.probability)) for c in item.candidates]
    m.alternatives = [wm.ProductScore(sku=label, probability=float(p)) for label, p in item.alternatives]
    m.reading = item.reading
    return m


def main(args: list[str] | None = None) -> None:
    run_node(AssociationNode, args)
