"""Receipts from baskets: approve, review, exactly once, durable across a restart."""

import sqlite3

from walkout_checkout.bridge import CheckoutBridge, CheckoutParams
from walkout_checkout.store import ReceiptStore
from walkout_common.types import Basket, BasketLine


def basket(token="tok", confidence=0.999, open_=False, reasons=(), stamp=30.0):
    lines = [BasketLine("012000286209", "Sparkling water", 2, 199, confidence)]
    return Basket(token, stamp, lines, "USD", confidence, open_, list(reasons))


def test_confident_basket_is_approved_once():
    b = CheckoutBridge("s1")
    assert b.on_basket(basket(open_=True)) is None
    r = b.on_basket(basket())
    assert r.status == "approved" and r.total_cents == 398 and r.review_reasons == []
    assert r.to_contract()["items"] == [{"sku": "012000286209", "qty": 2}]
    assert b.on_basket(basket()) is None  # a duplicate EXIT


def test_uncertain_basket_goes_to_review_with_reasons():
    b = CheckoutBridge("s1", CheckoutParams(approve_threshold=0.98))
    r = b.on_basket(basket(confidence=0.9))
    assert r.status == "review" and "low confidence 0.900 < 0.98" in r.review_reasons[0]
    assert "Sparkling water" in r.review_reasons[0]
    r2 = CheckoutBridge("s1").on_basket(basket(token="t2", reasons=["unexplained weight change"]))
    assert r2.status == "review" and r2.review_reasons == ["unexplained weight change"]


def test_review_reasons_name_what_the_basket_may_hold_beyond_its_lines():
    # Every line sure, yet the basket is not: a cola billed to another shopper may have been
    # this one's. The reason says so, so the reviewer looks there first.
    b = CheckoutBridge("s1", CheckoutParams(approve_threshold=0.98, line_threshold=0.98))
    held = basket(confidence=0.995)
    held.confidence = 0.96
    held.maybe = [BasketLine("049000028911", "Cola 330 ml can", 1, 129, 0.035), BasketLine("051000012616", "Lemon soda", 1, 149, 0.004)]
    r = b.on_basket(held)
    assert r.status == "review"
    assert r.review_reasons == ["low confidence 0.960 < 0.98: maybe also 1x Cola 330 ml can (0.04)"]
    assert r.lines == held.lines and r.total_cents == 398  # what it may also hold is not billed
    # a doubt spread thin, nothing above the line threshold on its own: the two biggest
    thin = basket(token="thin", confidence=0.99)
    thin.confidence = 0.975
    thin.maybe = [BasketLine("049000028911", "Cola 330 ml can", 1, 129, 0.008)]
    (reason,) = b.on_basket(thin).review_reasons
    assert reason == "low confidence 0.975 < 0.98: least sure 2x Sparkling water (0.99); maybe also 1x Cola 330 ml can (0.01)"
    just = basket(token="just", confidence=0.99)
    just.confidence = 0.9799  # not "0.980 < 0.98"
    assert b.on_basket(just).review_reasons[0].startswith("low confidence 0.979 < 0.98: least sure")


def test_open_sessions_at_the_end_of_a_bag():
    b = CheckoutBridge("s1")
    b.on_basket(basket("inside", open_=True))
    b.on_basket(basket("gone"))
    (r,) = b.open_receipts(99.0)
    assert r.session_token == "inside" and r.status == "open" and r.exit_stamp == 99.0


def test_a_restarted_bridge_never_issues_a_second_receipt(tmp_path):
    db = tmp_path / "receipts.sqlite"
    first = CheckoutBridge("s1", CheckoutParams(db_file=str(db)))
    first.on_basket(basket("a", open_=True))
    assert first.on_basket(basket("a")) is not None
    first.db.close()
    again = CheckoutBridge("s1", CheckoutParams(db_file=str(db)))
    assert again.on_basket(basket("a")) is None
    assert [r.session_token for r in again.db.receipts()] == ["a"]
    mode = sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_retention_purge_deletes_old_basket_history(tmp_path):
    store = ReceiptStore(tmp_path / "r.sqlite")
    store.record_basket(basket("x", open_=True))
    assert store.purge(older_than_s=3600.0) == 0
    assert store.purge(older_than_s=0.0, now=1e12) == 1
