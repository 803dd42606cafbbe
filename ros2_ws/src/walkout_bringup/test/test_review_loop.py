"""One review settles the sessions it shared an event with, over real rclpy topics: the
checkout node sends a reviewer's decision on /checkout/reviewed, the association node
reads the other session's basket again, and the checkout node approves its held receipt."""

from pathlib import Path

import numpy as np
import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter

from walkout_association.association_node import AssociationNode
from walkout_bringup.testing import spin_until, wait_matched
from walkout_checkout.checkout_node import LATCHED_QOS, CheckoutNode
from walkout_checkout.store import ReceiptStore
from walkout_common.types import CONFIRMED, BasketLine, PlateEvent, TrackSnapshot
from walkout_msgs import msg as wm

ROOT = Path(__file__).resolve().parents[4]
WATER, WATER_PLATE = "012000286209", "G1A-S1-P1"  # 520 g a bottle


def reaching(track_id: str, token: str, x: float) -> list[TrackSnapshot]:
    """A shopper standing 0.45 m from the water plate's front, an arm at it in 4-6 s."""
    return [TrackSnapshot(track_id, token, CONFIRMED, float(t), np.array([x, 1.55, 1.75]), np.zeros(2), np.eye(2) * 0.01,
                          [np.array([x, 2.0, 1.0])] if 4.0 <= t <= 6.0 else [])
            for t in np.arange(0.0, 8.0, 0.1)]


def start(tmp_path):
    """The association and checkout nodes on one executor, with a probe listening to the
    receipts; the checkout node on sim time with no /clock (a replay has ended)."""
    files = [Parameter("store_file", value=str(ROOT / "calibration/nanostore/store.yaml")),
             Parameter("catalog_file", value=str(ROOT / "calibration/nanostore/catalog.yaml"))]
    assoc = AssociationNode(parameter_overrides=files)
    checkout_params = [*files, Parameter("db_file", value=str(tmp_path / "r.sqlite")), Parameter("decision_poll_s", value=0.1),
                       Parameter("use_sim_time", value=True)]
    checkout = CheckoutNode(parameter_overrides=checkout_params)
    probe = rclpy.create_node("probe")
    receipts: list[wm.Receipt] = []
    probe.create_subscription(wm.Receipt, "/checkout/receipts", receipts.append, LATCHED_QOS)
    ex = SingleThreadedExecutor()
    for n in (assoc, checkout, probe):
        ex.add_node(n)
    wait_matched(ex, [assoc.pub_baskets, checkout.pub_reviewed])
    return assoc, checkout, checkout_params, probe, receipts, ex


def stop(names: dict) -> None:
    """Gone before the next test: their latched receipts must not reach its subscribers."""
    for key in ("probe", "checkout", "assoc"):
        if names.get(key) is not None:
            names[key].destroy_node()
    rclpy.try_shutdown()


@pytest.mark.parametrize("restart", [False, True], ids=["running", "decided-while-checkout-was-down"])
def test_a_reviewers_decision_settles_the_other_shoppers_held_receipt(tmp_path, restart):
    rclpy.init()
    try:
        assoc, checkout, checkout_params, probe, receipts, ex = start(tmp_path)
        # Two bottles gone while both shoppers' arms were at the plate: one each, or both
        # by one of them. Both leave; both receipts are held.
        core = assoc.core
        for tok, tid, x in (("tok-a", "A", 1.8), ("tok-b", "B", 2.15)):
            core.open_session(tok, 0.0)
            for s in reaching(tid, tok, x):
                core.history.add(s)
        core.on_plate_event(PlateEvent(WATER_PLATE, "G1A-S1", 4.5, 5.5, -1040.0, 1.2))
        for tok in ("tok-a", "tok-b"):
            assoc.publish_basket(core.close_session(tok, 9.0))
        assert spin_until(ex, lambda: len(receipts) == 2)
        assert [r.status for r in receipts] == ["review", "review"]
        # A reviewer finds one bottle on A's receipt (as the console does: the store's decide)
        decided = [BasketLine(WATER, "Sparkling water", 1, 199, 1.0)]
        if restart:  # the console decides while the checkout node is down; it is sent once the node is back
            ex.remove_node(checkout)
            checkout.destroy_node()
            console = ReceiptStore(tmp_path / "r.sqlite")
            console.decide("tok-a", "alice", decided)
            console.close()
            checkout = CheckoutNode(parameter_overrides=checkout_params)
            ex.add_node(checkout)
        else:
            checkout.core.db.decide("tok-a", "alice", decided)
        assert spin_until(ex, lambda: any(r.session_token == "tok-b" and r.status == "approved" for r in receipts))
        b = checkout.core.db.receipt("tok-b")
        assert b.status == "approved" and [(ln.sku, ln.quantity) for ln in b.lines] == [(WATER, 1)] and b.confidence > 0.98
        assert "linked session's review" in b.review_reasons[0]
        assert [d["token"] for d in checkout.core.db.decisions()] == ["tok-a"]  # one person's look, two receipts
    finally:
        stop(locals())


def test_a_reviewers_word_on_one_event_settles_the_shoppers_a_basket_cannot(tmp_path):
    """Three shoppers' arms at the plate as one bottle goes. A's reviewer finds no bottle on
    A and says B took it: B's and C's held receipts are approved without a look, which A's
    basket alone could not do (B or C?)."""
    rclpy.init()
    try:
        assoc, checkout, _, probe, receipts, ex = start(tmp_path)
        core = assoc.core
        for tok, tid, x in (("tok-a", "A", 1.75), ("tok-b", "B", 1.95), ("tok-c", "C", 2.15)):
            core.open_session(tok, 0.0)
            for s in reaching(tid, tok, x):
                core.history.add(s)
        core.on_plate_event(PlateEvent(WATER_PLATE, "G1A-S1", 4.5, 5.5, -520.0, 1.2))
        rec = core.last_record
        by_b = next(h.label() for h in rec.hypotheses if h.effects() == {"tok-b": {WATER: 1}})
        for tok in ("tok-a", "tok-b", "tok-c"):
            assoc.publish_basket(core.close_session(tok, 9.0))
        assert spin_until(ex, lambda: len(receipts) == 3)
        assert [r.status for r in receipts] == ["review"] * 3
        # the console: no bottle on A, and the reviewer's answer to "what happened at the water plate"
        checkout.core.db.decide("tok-a", "alice", [], verdicts=[(rec.event.event_id, by_b)])
        done = {"tok-b", "tok-c"}
        assert spin_until(ex, lambda: done <= {r.session_token for r in receipts if r.status == "approved"})
        assert [(ln.sku, ln.quantity) for ln in checkout.core.db.receipt("tok-b").lines] == [(WATER, 1)]
        assert checkout.core.db.receipt("tok-c").lines == []
        assert [d["token"] for d in checkout.core.db.decisions()] == ["tok-a"]
    finally:
        stop(locals())
