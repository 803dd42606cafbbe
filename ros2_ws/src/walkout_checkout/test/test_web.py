"""The web side over real HTTP on 127.0.0.1: token isolation, long-poll updates, the
flag, signage, reviewer sign-in, the console's evidence, and decisions logged by name."""

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from walkout_checkout.bridge import CheckoutBridge, CheckoutParams
from walkout_checkout.store import ReceiptStore
from walkout_checkout.web import CheckoutWeb
from walkout_common.store import load_catalog, load_store
from walkout_common.types import Basket, BasketLine

ROOT = Path(__file__).resolve().parents[4]
WATER = ("012000286209", "Sparkling water", 199)


@pytest.fixture
def app(tmp_path):
    store = load_store(ROOT / "calibration/nanostore/store.yaml")
    catalog = load_catalog(ROOT / "calibration/nanostore/catalog.yaml", store)
    db = ReceiptStore(tmp_path / "r.sqlite")
    web = CheckoutWeb(db, store, catalog, retention_s=7200.0).start()
    yield web
    web.stop()
    db.close()


def basket(token, qty, open_=True, confidence=0.999, stamp=10.0):
    return Basket(token, stamp, [BasketLine(WATER[0], WATER[1], qty, WATER[2], confidence)] if qty else [], "USD", confidence, open_, [])


def get(url, opener=None):
    with (opener or urllib.request.build_opener()).open(url, timeout=15) as r:
        return r.status, r.read().decode()


def post(url, data=b"", opener=None):
    req = urllib.request.Request(url, data=data, method="POST")
    with (opener or urllib.request.build_opener()).open(req, timeout=15) as r:
        return r.status, r.read().decode()


def test_shopper_sees_own_session_only_and_updates_within_a_second(app):
    app.db.record_basket(basket("tok-a", 1))
    app.db.record_basket(basket("tok-b", 3))
    status, text = get(f"{app.url}/api/s/tok-a?v=-1")
    state = json.loads(text)
    assert state["total_cents"] == 199 and [ln["quantity"] for ln in state["lines"]] == [1]
    assert "tok-b" not in text
    with pytest.raises(urllib.error.HTTPError) as err:
        get(f"{app.url}/api/s/tok-c?v=-1")
    assert err.value.code == 404
    # a long-poll waiting on the current version returns as soon as the basket changes
    got = {}

    def wait() -> None:
        got["state"] = json.loads(get(f"{app.url}/api/s/tok-a?v={state['version']}")[1])
        got["at"] = time.monotonic()

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.3)
    t_pick = time.monotonic()
    app.db.record_basket(basket("tok-a", 2, stamp=11.0))
    waiter.join(timeout=5)
    assert got["state"]["total_cents"] == 398
    assert got["at"] - t_pick < 1.0


def test_a_group_back_inside_after_its_receipt_sees_its_basket_then_the_updated_receipt(app):
    bridge = CheckoutBridge("nanostore-1", db=app.db)
    bridge.on_basket(basket("tok-g", 0, open_=False, stamp=3.0))  # the first member walked straight out
    state = json.loads(get(f"{app.url}/api/s/tok-g?v=-1")[1])
    assert state["receipt"]["status"] == "approved" and state["receipt"]["revision"] == 1 and state["total_cents"] == 0
    bridge.on_basket(basket("tok-g", 1, stamp=6.0))  # another member came in on the token and picked a water
    state = json.loads(get(f"{app.url}/api/s/tok-g?v=-1")[1])
    assert state["open"] and state["receipt"] is None and state["total_cents"] == 199
    bridge.on_basket(basket("tok-g", 1, open_=False, stamp=20.0))
    state = json.loads(get(f"{app.url}/api/s/tok-g?v=-1")[1])
    assert state["receipt"]["revision"] == 2 and state["receipt"]["total_cents"] == 199


def test_flag_and_signage(app):
    app.db.record_basket(basket("tok-a", 1))
    assert json.loads(post(f"{app.url}/api/s/tok-a/flag")[1]) == {"flagged": True}
    assert app.db.flagged("tok-a")
    with pytest.raises(urllib.error.HTTPError):
        post(f"{app.url}/api/s/nobody/flag")
    page = get(f"{app.url}/entry")[1]
    assert "no face or body biometric" in page and "2 hours" in page


def test_console_needs_sign_in_and_logs_who_decided(app):
    db = app.db
    db.add_reviewer("alice", "s3cret")
    bridge = CheckoutBridge("nanostore-1", CheckoutParams(approve_threshold=0.98), db=db)
    bridge.on_basket(basket("tok-r", 2, stamp=5.0))
    plate = app.store.plates[0].id
    db.record_evidence("tracks", 19.9, {"tracks": [{"track_id": "9f3a", "session_token": "tok-r", "state": 1, "x": 2.0, "y": 2.0,
                                                    "hands": [[2.4, 2.0]]},
                                                   {"track_id": "77c1", "session_token": "tok-s", "state": 1, "x": 2.5, "y": 1.0,
                                                    "hands": [], "rivals": {"tok-r": 0.5},
                                                    "rival_why": {"tok-r": "entered through gate G1 too close in time to tell apart"}}]})
    db.record_evidence("plate_event", 20.0, {"plate_id": plate, "delta_g": -760.0})
    db.record_evidence("plate_event", 24.0, {"plate_id": plate, "delta_g": 2.0, "dip_g": 512.0})
    db.record_evidence("plate_event", 30.0, {"plate_id": plate, "delta_g": 380.0, "beyond_g": 410.0})
    db.record_evidence("item_event", 20.0, {"plate_id": plate, "action": 0, "sku": WATER[0], "quantity": 2, "probability": 0.7,
                                            "note": "two shoppers near", "candidates": [{"track_id": "9f3a", "session_token": "tok-r",
                                                                                          "probability": 0.7}],
                                            "alternatives": [{"sku": "012000286209", "probability": 0.7}]}, token="tok-r")
    held = bridge.on_basket(basket("tok-r", 2, open_=False, confidence=0.7, stamp=30.0))
    assert held.status == "review"
    anon = urllib.request.build_opener()  # no cookies: the console is closed
    assert "Reviewer sign-in" in get(f"{app.url}/review", anon)[1]
    with pytest.raises(urllib.error.HTTPError) as err:
        post(f"{app.url}/review/tok-r", b"qty_012000286209=1", anon)
    assert err.value.code == 403
    with pytest.raises(urllib.error.HTTPError):
        post(f"{app.url}/review/login", b"name=alice&password=wrong", anon)
    alice = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    queue = post(f"{app.url}/review/login", urllib.parse.urlencode({"name": "alice", "password": "s3cret"}).encode(), alice)[1]
    assert "tok-r" in queue and "low confidence" in queue
    page = get(f"{app.url}/review/tok-r", alice)[1]
    assert "two shoppers near" in page and f"{plate} -760 g" in page and "arm out" in page
    assert f"{plate} +2 g, dipped 512 g and came back" in page
    assert f"{plate} +380 g, went 410 g past both ends for a moment" in page
    assert 'class="track"' in page and 'class="hand"' in page  # the top-down picture at the pick
    # the shopper who entered beside this one, who may hold its token instead, is marked
    assert 'fill="#f70"><title>77c1 tok-s, or tok-r (50%: entered through gate G1 too close in time to tell apart)</title>' in page
    post(f"{app.url}/review/tok-r", b"qty_012000286209=1&note=saw+one", alice)
    r = db.receipt("tok-r")
    assert r.status == "approved" and r.total_cents == 199
    assert db.decisions("tok-r")[0]["reviewer"] == "alice"
    # the group came back in and left again: the amended receipt is back in the queue
    bridge.on_basket(basket("tok-r", 3, open_=False, stamp=40.0))
    page = get(f"{app.url}/review/tok-r", alice)[1]
    assert "revision 2" in page and "amended after a reviewer decided revision 1" in page


def test_the_console_offers_a_unit_billed_to_another_session_that_this_one_may_have_taken(app):
    # A cola went to tok-t at 0.96; tok-u's shopper, beside, is the other candidate. tok-u's
    # receipt has no cola line, so the reviewer needs a row to add it from.
    app.db.add_reviewer("bob", "pw")
    bridge = CheckoutBridge("nanostore-1", CheckoutParams(approve_threshold=0.98), db=app.db)
    bridge.on_basket(basket("tok-u", 1, stamp=5.0))
    db = app.db
    db.record_evidence("item_event", 12.0, {"plate_id": app.store.plates[0].id, "action": 0, "sku": "049000028911", "quantity": 1,
                                            "probability": 0.96, "candidates": [{"track_id": "a1", "session_token": "tok-t", "probability": 0.96},
                                                                                {"track_id": "b2", "session_token": "tok-u", "probability": 0.04}],
                                            "alternatives": []}, token="tok-t")
    held = basket("tok-u", 1, open_=False, confidence=0.999, stamp=20.0)
    held.confidence = 0.96
    held.maybe = [BasketLine("049000028911", "Cola 330 ml can", 1, 149, 0.04)]
    assert bridge.on_basket(held).status == "review"
    bob = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    post(f"{app.url}/review/login", urllib.parse.urlencode({"name": "bob", "password": "pw"}).encode(), bob)
    page = get(f"{app.url}/review/tok-u", bob)[1]
    assert "maybe also 1x Cola 330 ml can (0.04)" in page and 'name="qty_049000028911" value="0"' in page
    assert "Shared events with: <a href='/review/tok-t'>tok-t</a> (in the store)" in page
    bridge.on_basket(basket("tok-t", 0, stamp=4.0))  # came in at 4 s
    other = basket("tok-t", 1, open_=False, stamp=21.0)
    other.confidence = 0.9
    assert bridge.on_basket(other).status == "review"
    assert "tok-t</a> (held: deciding this one may settle it too)" in get(f"{app.url}/review/tok-u", bob)[1]
    queue = get(f"{app.url}/review", bob)[1]  # each held receipt beside the held ones it shares events with
    assert """<td class='linked'><a href="/review/tok-t">tok-t</a></td>""" in queue
    assert """<td class='linked'><a href="/review/tok-u">tok-u</a></td>""" in queue
    row = page.split("<small>049000028911</small>")[1].split("</tr>")[0]
    assert '<td class="num">0.04</td>' in row  # the chance it is this session's, beside the row
    post(f"{app.url}/review/tok-u", b"qty_012000286209=1&qty_049000028911=1&note=cola+in+hand", bob)
    r = db.receipt("tok-u")
    assert r.status == "approved" and sorted((ln.sku, ln.quantity) for ln in r.lines) == [("012000286209", 1), ("049000028911", 1)]
    assert r.total_cents == 199 + 149


def test_a_reviewer_says_what_happened_in_one_event_and_it_is_kept_with_the_decision(app):
    app.db.add_reviewer("bob", "pw")
    bridge = CheckoutBridge("nanostore-1", CheckoutParams(approve_threshold=0.98), db=app.db)
    bridge.on_basket(basket("tok-u", 0, stamp=5.0))
    bridge.on_basket(basket("tok-t", 0, stamp=5.0))
    plate = app.store.plates[0].id
    # one event of two bottles: "one each" is likeliest; "both by tok-t" is the other reading
    for i, tok in enumerate(("tok-t", "tok-u")):
        app.db.record_evidence("item_event", 12.0, {
            "event_id": f"{plate}@12.000#{i}", "plate_id": plate, "action": 0, "sku": WATER[0], "quantity": 1, "probability": 0.6,
            "reading": "1x 012000286209 by tok-t and 1x 012000286209 by tok-u",
            "alternatives": [{"sku": "2x 012000286209 by tok-t", "probability": 0.4}],
            "candidates": [{"track_id": "a", "session_token": "tok-t", "probability": 0.6}, {"track_id": "b", "session_token": "tok-u", "probability": 0.4}],
        }, token=tok)
    # an event the association is sure of (0.995) is not asked about, though it lists another reading
    app.db.record_evidence("item_event", 14.0, {
        "event_id": f"{plate}@14.000", "plate_id": plate, "action": 0, "sku": WATER[0], "quantity": 1, "probability": 0.995,
        "reading": "1x 012000286209 by tok-u", "alternatives": [{"sku": "1x 012000286209 by tok-t", "probability": 0.005}],
        "candidates": [{"track_id": "b", "session_token": "tok-u", "probability": 0.995}]}, token="tok-u")
    held = basket("tok-u", 1, open_=False, confidence=0.6, stamp=20.0)
    assert bridge.on_basket(held).status == "review"
    bob = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    post(f"{app.url}/review/login", urllib.parse.urlencode({"name": "bob", "password": "pw"}).encode(), bob)
    page = get(f"{app.url}/review/tok-u", bob)[1]
    assert page.count("<fieldset class='verdict'>") == 1  # one event, though listed as two item events; not the sure one
    assert f"1x Sparkling water 500 ml at {plate} (p=0.60)" in page  # the timeline names products too
    assert f"<legend>{plate} at 12.00 s</legend>" in page
    # each reading as a person reads it (products by name), its value as the association wrote it
    assert f'name="ev_{plate}@12.000" value="2x 012000286209 by tok-t"> 2x Sparkling water 500 ml by tok-t (0.40)' in page
    form = {"qty_012000286209": "0", f"ev_{plate}@12.000": "2x 012000286209 by tok-t",
            "ev_nowhere@1.000": "1x 012000286209 by tok-u"}  # an event not this session's: ignored
    post(f"{app.url}/review/tok-u", urllib.parse.urlencode(form).encode(), bob)
    assert app.db.receipt("tok-u").status == "approved" and app.db.receipt("tok-u").lines == []
    assert [(v["event_id"], v["reading"], v["reviewer"]) for v in app.db.verdicts("tok-u")] == [
        (f"{plate}@12.000", "2x 012000286209 by tok-t", "bob")]
    assert f"bob: event {plate}@12.000 was 2x Sparkling water 500 ml by tok-t" in get(f"{app.url}/review/tok-u", bob)[1]
    # tok-t's receipt, held too, shares that event: it is answered, so shown and not asked again
    assert bridge.on_basket(basket("tok-t", 1, open_=False, confidence=0.6, stamp=21.0)).status == "review"
    page = get(f"{app.url}/review/tok-t", bob)[1]
    assert "<fieldset class='verdict'>" not in page
    assert f"<p class='answered'>{plate} at 12.00 s: bob said 2x Sparkling water 500 ml by tok-t (deciding tok-u)</p>" in page
    post(f"{app.url}/review/tok-t", urllib.parse.urlencode({"qty_012000286209": "2", f"ev_{plate}@12.000": "1x 012000286209 by tok-t and "
                                                            "1x 012000286209 by tok-u"}).encode(), bob)
    assert app.db.receipt("tok-t").status == "approved" and app.db.verdicts("tok-t") == []  # a second word is not kept


def test_a_quantity_that_is_no_whole_number_is_refused_by_name_and_decides_nothing(app):
    db = app.db
    db.add_reviewer("alice", "s3cret")
    bridge = CheckoutBridge("nanostore-1", CheckoutParams(approve_threshold=0.98), db=db)
    assert bridge.on_basket(basket("tok-q", 2, open_=False, confidence=0.7, stamp=30.0)).status == "review"
    alice = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    post(f"{app.url}/review/login", urllib.parse.urlencode({"name": "alice", "password": "s3cret"}).encode(), alice)
    for bad in ("two", "-1", "1.5", "100", "²"):
        with pytest.raises(urllib.error.HTTPError) as err:
            post(f"{app.url}/review/tok-q", urllib.parse.urlencode({f"qty_{WATER[0]}": bad}).encode(), alice)
        assert err.value.code == 400
        assert f"quantity of {WATER[0]}: '{bad}' is not a whole number from 0 to 99" in err.value.read().decode()
        assert db.receipt("tok-q").status == "review" and db.decisions("tok-q") == []
    post(f"{app.url}/review/tok-q", urllib.parse.urlencode({f"qty_{WATER[0]}": " 1 "}).encode(), alice)
    assert db.receipt("tok-q").status == "approved" and db.receipt("tok-q").total_cents == 199
