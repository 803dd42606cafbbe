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


@pytest.mark.parametrize("restart", [False, True], ids=["running", "decided-while-checkout-was-down"])
def test_a_reviewers_decision_settles_the_other_shoppers_held_receipt(tmp_path, restart):
    rclpy.init()
    try:
        files = [Parameter("store_file", value=str(ROOT / "calibration/nanostore/store.yaml")),
                 Parameter("catalog_file", value=str(ROOT / "calibration/nanostore/catalog.yaml"))]
        assoc = AssociationNode(parameter_overrides=files)
        checkout_params = [*files, Parameter("db_file", value=str(tmp_path / "r.sqlite")), Parameter("decision_poll_s", value=0.1),
                           Parameter("use_sim_time", value=True)]  # no /clock: a replay has ended
        checkout = CheckoutNode(parameter_overrides=checkout_params)
        probe = rclpy.create_node("probe")
        receipts: list[wm.Receipt] = []
        probe.create_subscription(wm.Receipt, "/checkout/receipts", receipts.append, LATCHED_QOS)
        ex = SingleThreadedExecutor()
        for n in (assoc, checkout, probe):
            ex.add_node(n)
        wait_matched(ex, [assoc.pub_baskets, checkout.pub_reviewed])
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
        # gone before the next test: their latched receipts must not reach its subscribers
        for n in (locals().get("probe"), locals().get("checkout"), locals().get("assoc")):
            if n is not None:
                n.destroy_node()
        rclpy.try_shutdown()
