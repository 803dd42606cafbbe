"""The durable store on SQLite and on a real PostgreSQL server: exactly-once receipts
(also under concurrent bridges), review decisions with who made them, reviewer sign-in,
the shopper's flag, evidence and its retention purge."""

import threading
import time

from walkout_checkout.bridge import CheckoutBridge, CheckoutParams
from walkout_checkout.store import ReceiptStore
from walkout_common.types import Basket, BasketLine

WATER = BasketLine("012000286209", "Sparkling water", 2, 199, 0.9)


def basket(token="tok", confidence=0.999, open_=False, stamp=30.0, lines=None):
    return Basket(token, stamp, list(lines if lines is not None else [BasketLine("012000286209", "Sparkling water", 2, 199, confidence)]),
                  "USD", confidence, open_, [])


def test_exactly_one_receipt_per_token_even_with_concurrent_bridges(any_store):
    bridge = CheckoutBridge("s1", db=any_store)
    bridge.on_basket(basket("a", open_=True, stamp=1.0))
    assert any_store.basket("a").open and any_store.open_baskets()[0].session_token == "a"
    results: list = []

    def close() -> None:
        results.append(bridge.on_basket(basket("a")))

    threads = [threading.Thread(target=close) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r is not None for r in results) == 1
    assert [r.session_token for r in any_store.receipts()] == ["a"]
    assert any_store.open_baskets() == []
    assert any_store.session_window("a") == (1.0, 30.0)


def test_a_session_that_closes_again_gets_its_receipt_amended(any_store):
    # A group's first member left (empty receipt); another came in with the token, took
    # water and left: the receipt is amended, once, and the outbox delivers it again.
    bridge = CheckoutBridge("s1", db=any_store)
    first = bridge.on_basket(basket("g", stamp=3.0, lines=[]))
    assert first.revision == 1 and first.status == "approved" and first.lines == []
    any_store.mark_delivered("g", 100.0)
    bridge.on_basket(basket("g", open_=True, stamp=4.5, lines=[]))
    assert [b.session_token for b in any_store.open_baskets()] == ["g"]  # inside again
    assert bridge.on_basket(basket("g", stamp=3.0)) is None  # the first exit, heard again
    amended = bridge.on_basket(basket("g", stamp=20.0))
    assert amended.revision == 2 and amended.status == "approved" and amended.total_cents == 398
    assert bridge.on_basket(basket("g", stamp=20.0)) is None  # exactly once per exit
    assert any_store.receipt("g").revision == 2 and any_store.receipt("g").exit_stamp == 20.0
    assert any_store.open_baskets() == [] and any_store.session_window("g") == (3.0, 20.0)
    assert [r.session_token for r in any_store.due_outbox(now=1e12)] == ["g"]  # delivered again


def test_an_amendment_of_a_reviewed_receipt_goes_to_review(any_store):
    bridge = CheckoutBridge("s1", db=any_store)
    bridge.on_basket(basket("h", confidence=0.5, stamp=3.0))
    any_store.decide("h", "alice", [WATER])
    amended = bridge.on_basket(basket("h", stamp=20.0))
    assert amended.status == "review" and amended.revision == 2
    assert "amended after a reviewer decided revision 1" in amended.review_reasons[-1]
    assert any_store.due_outbox(now=1e12) == []  # held until a reviewer decides again


def test_a_held_receipt_settled_by_a_linked_review_is_approved_once(any_store):
    # B's receipt was held (0.6: B or A took the bottle). A reviewer decides A's; the
    # association reads B's basket again, now sure: B's held receipt is approved with no
    # second review, and the outbox may deliver it.
    bridge = CheckoutBridge("s1", db=any_store)
    bridge.on_basket(basket("a", confidence=0.6, stamp=3.0))
    held = bridge.on_basket(basket("b", confidence=0.6, stamp=5.0))
    assert held.status == "review" and any_store.due_outbox(now=1e12) == []
    assert any_store.decided_since(0) == [] and any_store.last_decision_id() == 0
    any_store.decide("a", "alice", [])
    ((row, decided),) = any_store.decided_since(0)
    assert decided.session_token == "a" and decided.status == "approved" and decided.lines == []
    assert any_store.decided_since(row) == [] and any_store.last_decision_id() == row
    assert bridge.on_basket(basket("b", confidence=0.6, stamp=5.0)) is None  # no change: nothing to revise
    settled = bridge.on_basket(basket("b", confidence=0.995, stamp=5.0))
    assert settled.status == "approved" and settled.revision == 1 and settled.confidence == 0.995
    assert "linked session's review" in settled.review_reasons[0]
    assert any_store.receipt("b").status == "approved" and [r.session_token for r in any_store.review_queue()] == []
    assert sorted(r.session_token for r in any_store.due_outbox(now=1e12)) == ["a", "b"]
    assert bridge.on_basket(basket("b", confidence=0.5, stamp=5.0)) is None  # approved: never taken back
    assert bridge.on_basket(basket("a", confidence=0.999, stamp=3.0)) is None  # a reviewer decided it: theirs stands
    assert any_store.receipt("a").lines == []


def test_a_reviewers_word_on_events_is_kept_with_the_decision_only(any_store):
    bridge = CheckoutBridge("s1", db=any_store)
    bridge.on_basket(basket("a", confidence=0.6, stamp=3.0))
    said = [("G1A-S1-P1@5.500", "1x 012000286209 by a and 1x 012000286209 by b"), ("G2-S1-P1@9.000", "nothing by a")]
    assert any_store.decide("a", "alice", [], verdicts=said) is not None
    assert [(v["event_id"], v["reading"], v["reviewer"]) for v in any_store.verdicts("a")] == [(e, r, "alice") for e, r in said]
    assert any_store.decide("a", "bob", [], verdicts=[("G3-S1-P1@1.000", "nothing by a")]) is None  # decided already: nothing kept
    assert any_store.decide("zz", "bob", [], verdicts=[("G3-S1-P1@1.000", "nothing by zz")]) is None  # no such receipt
    assert len(any_store.verdicts("a")) == 2 and any_store.verdicts("zz") == []
    # the first word on each event, whoever decided which receipt: what the association keeps
    bridge.on_basket(basket("b", confidence=0.6, stamp=4.0))
    assert any_store.decide("b", "bob", [], verdicts=[("G1A-S1-P1@5.500", "2x 012000286209 by b")]) is not None
    first = any_store.first_verdicts(["G1A-S1-P1@5.500", "G9-S1-P1@1.000", "G1A-S1-P1@5.500"])
    assert {e: (v["reading"], v["reviewer"], v["token"]) for e, v in first.items()} == {
        "G1A-S1-P1@5.500": ("1x 012000286209 by a and 1x 012000286209 by b", "alice", "a")}
    assert any_store.first_verdicts([]) == {}


def test_an_approved_receipt_the_association_reads_otherwise_later_is_held_as_a_correction(any_store):
    # Approved at the exit with two waters; a put-back of one, read after the exit (a plate
    # settles a second later), leaves one. Charged already, maybe: the correction goes to
    # a reviewer, and once decided the outbox delivers it again.
    bridge = CheckoutBridge("s1", db=any_store)
    first = bridge.on_basket(basket("d", stamp=3.0))
    assert first.status == "approved" and first.revision == 1
    any_store.mark_delivered("d", 100.0)
    assert bridge.on_basket(basket("d", confidence=0.9, stamp=3.0)) is None  # the same bill, less sure: it stands
    one = [BasketLine("012000286209", "Sparkling water", 1, 199, 0.93)]
    fixed = bridge.on_basket(basket("d", confidence=0.93, stamp=3.0, lines=one))
    assert fixed.status == "review" and fixed.revision == 2 and fixed.total_cents == 199
    assert "changed after it was approved (revision 1: 2x Sparkling water; confidence 0.999)" in fixed.review_reasons[0]
    assert [r.session_token for r in any_store.review_queue()] == ["d"] and any_store.due_outbox(now=1e12) == []
    assert bridge.on_basket(basket("d", confidence=0.93, stamp=3.0, lines=one)) is None  # once
    any_store.decide("d", "alice", one)
    assert [r.session_token for r in any_store.due_outbox(now=1e12)] == ["d"]  # the decided bill goes out again


def test_a_readers_decision_cursor_outlives_it(any_store):
    bridge = CheckoutBridge("s1", db=any_store)
    for t in ("a", "b", "c"):
        bridge.on_basket(basket(t, confidence=0.6, stamp=3.0))
    any_store.decide("a", "alice", [])
    # a reader new to the database starts at the newest decision, and keeps its place there
    assert any_store.decision_cursor("s1/checkout_node") == any_store.last_decision_id() > 0
    start = any_store.decision_cursor("s1/checkout_node")
    any_store.decide("b", "alice", [])  # made while that reader is down
    assert [r.session_token for _, r in any_store.decided_since(start)] == ["b"]
    (row, _), = any_store.decided_since(start)
    any_store.set_decision_cursor("s1/checkout_node", row)
    any_store.decide("c", "bob", [])
    assert [r.session_token for _, r in any_store.decided_since(any_store.decision_cursor("s1/checkout_node"))] == ["c"]
    assert any_store.decision_cursor("s2/checkout_node") == any_store.last_decision_id()  # each reader its own


def test_a_held_receipt_shows_the_latest_basket_until_decided(any_store):
    bridge = CheckoutBridge("s1", db=any_store)
    bridge.on_basket(basket("c", confidence=0.5, stamp=3.0))
    one = [BasketLine("012000286209", "Sparkling water", 1, 199, 0.9)]
    still = bridge.on_basket(basket("c", confidence=0.9, stamp=3.0, lines=one))
    assert still.status == "review" and [(ln.sku, ln.quantity) for ln in still.lines] == [("012000286209", 1)]
    assert "low confidence 0.900" in still.review_reasons[0] and any_store.due_outbox(now=1e12) == []


def test_postgres_two_bridge_processes_share_one_truth(pg_store, postgres_dsn):
    other = ReceiptStore(dsn=postgres_dsn)  # a second connection, as a restarted or twin bridge would have
    try:
        first = CheckoutBridge("s1", db=pg_store).on_basket(basket("b"))
        second = CheckoutBridge("s1", db=other).on_basket(basket("b"))
        assert first is not None and second is None
        assert other.receipt("b").status == "approved"
    finally:
        other.close()


def test_review_decision_is_logged_with_the_reviewer(any_store):
    bridge = CheckoutBridge("s1", CheckoutParams(approve_threshold=0.98), db=any_store)
    held = bridge.on_basket(basket("c", confidence=0.8))
    assert held.status == "review" and [r.session_token for r in any_store.review_queue()] == ["c"]
    assert any_store.due_outbox(now=1e12) == []  # nothing is charged while held
    fixed = any_store.decide("c", "alice", [BasketLine("012000286209", "Sparkling water", 1, 199, 1.0)], "one bottle only")
    assert fixed.status == "approved" and fixed.total_cents == 199
    assert any_store.decide("c", "bob", []) is None  # decided once
    (d,) = any_store.decisions("c")
    assert d["reviewer"] == "alice" and d["action"] == "edit" and d["note"] == "one bottle only"
    assert [r.session_token for r in any_store.due_outbox(now=1e12)] == ["c"]
    assert any_store.review_queue() == []


def test_reviewer_passwords_are_checked(any_store):
    any_store.add_reviewer("alice", "correct horse")
    assert any_store.check_reviewer("alice", "correct horse")
    assert not any_store.check_reviewer("alice", "wrong")
    assert not any_store.check_reviewer("mallory", "correct horse")


def test_shopper_flag_sends_the_session_to_review(any_store):
    bridge = CheckoutBridge("s1", db=any_store)
    bridge.on_basket(basket("d", open_=True))
    v0 = any_store.session_version("d")
    assert any_store.flag("d", "shopper reported that something is wrong")
    assert any_store.session_version("d") > v0
    assert not any_store.flag("nobody", "x")
    r = bridge.on_basket(basket("d"))  # confident, but the shopper said no
    assert r.status == "review" and r.review_reasons == ["shopper reported that something is wrong"]
    # after the exit: an approved receipt not yet delivered is pulled back to review
    e = bridge.on_basket(basket("e"))
    assert e.status == "approved"
    any_store.flag("e", "shopper reported that something is wrong")
    assert any_store.receipt("e").status == "review"


def test_evidence_is_kept_then_purged_after_the_retention_period(any_store):
    any_store.record_evidence("plate_event", 10.0, {"plate_id": "p1", "delta_g": -500.0})
    any_store.record_evidence("item_event", 10.5, {"plate_id": "p1", "sku": "x"}, token="f")
    any_store.record_basket(basket("f", open_=True))
    got = any_store.evidence(9.0, 11.0)
    assert [e["kind"] for e in got] == ["plate_event", "item_event"] and got[1]["token"] == "f"
    assert [e["kind"] for e in any_store.evidence(9.0, 11.0, ("item_event", "tracks"))] == ["item_event"]
    assert any_store.purge(older_than_s=3600.0) == 0  # all recent
    assert any_store.purge(older_than_s=60.0, now=__import__("time").time() + 61.0) == 3
    assert any_store.evidence(0.0, 100.0) == []
    assert any_store.basket("f") is not None  # the basket itself (what is owed) stays


def test_admin_adds_a_reviewer_and_purges(tmp_path, monkeypatch, capsys):
    import io

    from walkout_checkout.admin import main

    db_file = str(tmp_path / "r.sqlite")
    monkeypatch.setattr("sys.stdin", io.StringIO("long enough pw\n"))
    assert main(["--db-file", db_file, "add-reviewer", "alice"]) == 0
    store = ReceiptStore(db_file)
    assert store.check_reviewer("alice", "long enough pw")
    store.record_evidence("tracks", 1.0, {"tracks": []})
    store.close()
    assert main(["--db-file", db_file, "purge", "--retention-s", "-1"]) == 0
    assert "purged 1 rows" in capsys.readouterr().out


def test_closing_the_store_while_readers_query_it_is_no_crash(tmp_path):
    # The shopper pages' long-poll threads may still be reading when the node shuts down:
    # closing SQLite's connection under a running query used to crash the process.
    store = ReceiptStore(tmp_path / "r.sqlite")
    CheckoutBridge("s1", db=store).on_basket(basket("a", open_=True, stamp=1.0))
    reads, errors = [0], []

    def reader() -> None:
        try:
            while True:
                assert store.basket("a") is not None
                reads[0] += 1
        except RuntimeError as err:
            errors.append(str(err))

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    while reads[0] < 200:
        time.sleep(0.001)
    store.close()
    for t in threads:
        t.join(timeout=10)
    assert errors == ["the receipt store is closed"] * 4
