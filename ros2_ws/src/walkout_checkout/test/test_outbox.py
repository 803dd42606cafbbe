"""The commerce webhook outbox against a real local HTTP endpoint that fails at first:
retried with backoff, delivered exactly once, held receipts only after review, nothing
resent after a restart."""

from walkout_checkout.bridge import CheckoutBridge, CheckoutParams
from walkout_checkout.outbox import WebhookOutbox
from walkout_checkout.store import ReceiptStore
from walkout_common.types import Basket, BasketLine


def basket(token, confidence):
    return Basket(token, 50.0, [BasketLine("012000286209", "Sparkling water", 1, 199, confidence)], "USD", confidence, False, [])


def test_retries_then_delivers_exactly_once(tmp_path, commerce):
    db = ReceiptStore(tmp_path / "r.sqlite")
    bridge = CheckoutBridge("s1", CheckoutParams(approve_threshold=0.98), db=db)
    bridge.on_basket(basket("ok", 0.999))
    bridge.on_basket(basket("held", 0.5))
    out = WebhookOutbox(db, commerce.url, timeout_s=2.0, base_backoff_s=10.0)
    assert out.deliver_due(now=100.0)[0] == 0  # 503
    state = db.outbox_state("ok")
    assert state["attempts"] == 1 and state["next_try"] == 110.0 and "503" in state["last_error"]
    assert out.deliver_due(now=105.0) == (0, [])  # backing off: not due yet
    assert out.deliver_due(now=110.0)[0] == 0  # second 503, next wait doubles
    assert db.outbox_state("ok")["next_try"] == 130.0
    assert out.deliver_due(now=130.0)[0] == 1
    assert out.deliver_due(now=1e12) == (0, [])  # nothing twice; the held one waits
    assert [r["session_token"] for r in commerce.received] == ["ok"] and commerce.keys == ["s1/ok"]
    assert commerce.received[0]["total_cents"] == 199 and commerce.received[0]["items"] == [{"sku": "012000286209", "qty": 1}]
    db.decide("held", "alice", [BasketLine("012000286209", "Sparkling water", 1, 199, 1.0)])
    db.close()
    # a restarted bridge sends the reviewed receipt, and only that one
    again = ReceiptStore(tmp_path / "r.sqlite")
    assert WebhookOutbox(again, commerce.url).deliver_due(now=1e12)[0] == 1
    assert [r["session_token"] for r in commerce.received] == ["ok", "held"]
    assert commerce.received[1]["status"] == "approved"


def test_unreachable_endpoint_is_retried_not_lost(tmp_path):
    db = ReceiptStore(tmp_path / "r.sqlite")
    CheckoutBridge("s1", db=db).on_basket(basket("x", 0.999))
    delivered, errors = WebhookOutbox(db, "http://127.0.0.1:9/nothing-listens", timeout_s=0.5).deliver_due(now=0.0)
    assert delivered == 0 and "receipt x" in errors[0]
    assert db.outbox_state("x")["delivered_at"] is None and db.outbox_state("x")["attempts"] == 1


def test_an_amended_receipt_is_delivered_again_under_its_own_key(tmp_path, commerce):
    db = ReceiptStore(tmp_path / "r.sqlite")
    bridge = CheckoutBridge("s1", db=db)
    bridge.on_basket(Basket("g", 3.0, [], "USD", 0.999, False, []))
    out = WebhookOutbox(db, commerce.url, base_backoff_s=0.0)
    assert [out.deliver_due(now=1e12)[0] for _ in range(3)] == [0, 0, 1]  # two 503s first
    bridge.on_basket(basket("g", 0.999))  # the session closed again at 50 s: a member came in late
    assert out.deliver_due(now=1e12)[0] == 1 and out.deliver_due(now=1e12) == (0, [])
    assert commerce.keys[-2:] == ["s1/g", "s1/g/r2"]
    assert [(r["revision"], r["total_cents"]) for r in commerce.received] == [(1, 0), (2, 199)]
