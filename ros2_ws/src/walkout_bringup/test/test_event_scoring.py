"""Plate events scored against the simulator's true item events, for ./walkout eval."""

from pathlib import Path

import numpy as np
import pytest

from walkout_association.associator import AssociationParams, Associator
from walkout_bringup.evaluate import error_kind, reason_kind
from walkout_bringup.score import score_events
from walkout_common.store import load_catalog, load_store
from walkout_common.types import CONFIRMED, PlateEvent, TrackSnapshot
from walkout_tracking.history import TrackHistory

ROOT = Path(__file__).resolve().parents[4]
STORE = load_store(ROOT / "calibration" / "nanostore" / "store.yaml")
CATALOG = load_catalog(ROOT / "calibration" / "nanostore" / "catalog.yaml", STORE)
WATER, PLATE = "012000286209", "G1A-S1-P1"  # 520 g


def reaching(assoc: Associator, track: str, token: str, x: float, t0: float, t1: float) -> None:
    for t in np.arange(t0, t1, 0.1):
        hands = [np.array([x, 2.0, 1.0])] if t0 + 1.0 <= t <= t1 - 1.0 else []
        assoc.history.add(TrackSnapshot(track, token, CONFIRMED, float(t), np.array([x, 1.55, 1.75]), np.zeros(2), np.eye(2) * 0.01, hands))


def truth(t, token, n=1, sku=WATER):
    return {"t": t, "person": "p", "token": token, "plate": PLATE, "sku": sku, "n": n, "billed_token": token}


def test_events_are_paired_with_the_truth_and_judged():
    a = Associator(STORE, CATALOG, TrackHistory(), AssociationParams())
    reaching(a, "A", "tok-a", 1.95, 0.0, 4.0)
    a.on_plate_event(PlateEvent(PLATE, "G1A-S1", 1.5, 2.0, -520.0, 1.0))
    first = a.last_record
    reaching(a, "B", "tok-b", 1.95, 10.0, 14.0)
    a.on_plate_event(PlateEvent(PLATE, "G1A-S1", 11.5, 12.0, -521.0, 1.0))
    second = a.last_record
    # the truth: A took one, and B took one -- but B is billed to A's token (the scorer
    # sees it as the wrong shopper); a third true take happened far later, unexplained
    pairs, missed = score_events([first, second], [truth(1.7, "tok-a"), truth(11.8, "tok-a"), truth(30.0, "tok-c")])
    assert [p.correct for p in pairs] == [True, False] and missed == 1
    assert pairs[0].probability > 0.95
    assert error_kind(pairs[1].got, pairs[1].want) == "wrong shopper"


def test_error_and_reason_kinds():
    assert error_kind({"a": {"x": 1}}, {}) == "no item moved (phantom)"
    assert error_kind({}, {"a": {"x": 1}}) == "nobody billed"
    assert error_kind({"a": {"x": 2}}, {"a": {"y": 2}}) == "wrong product or count"
    assert error_kind({"a": {"x": 1}, "b": {"x": 1}}, {"a": {"x": 2}}) == "several shoppers in one event"
    assert error_kind({"b": {"y": 1}}, {"a": {"x": 1}}) == "wrong shopper and product"
    assert reason_kind("low confidence 0.5 < 0.98") == "low confidence"
    assert reason_kind("1x X moved on plate P at t=3.0 s by no tracked shopper") == "moved by no tracked shopper"
    assert reason_kind("binding uncertain: this session's shopper may be session tok-b's (p 0.50; ...)") == "binding uncertain"
    assert reason_kind("plate G1-S1-P2 still disturbed 4.0 s after the exit") == "plate still disturbed at the exit"


def test_held_receipts_are_checked_for_pointing_at_what_they_got_wrong():
    from dataclasses import replace
    from types import SimpleNamespace

    from walkout_bringup.evaluate import review_pointer_line, review_pointers
    from walkout_checkout.bridge import CheckoutBridge

    # Two bottles gone; A's arm at the plate, B standing at it with no arm seen. Both are
    # billed to A; truly each took one. A's receipt names its unsure water line, B's (with
    # no line) the water it may hold: both point at what they got wrong.
    a = Associator(STORE, CATALOG, TrackHistory(), AssociationParams())
    reaching(a, "A", "tok-a", 1.95, 10.0, 14.0)
    for t in np.arange(10.0, 14.0, 0.1):
        a.history.add(TrackSnapshot("B", "tok-b", CONFIRMED, float(t), np.array([2.4, 1.8, 1.75]), np.zeros(2), np.eye(2) * 0.01, []))
    a.on_plate_event(PlateEvent(PLATE, "G1A-S1", 11.5, 12.0, -1040.0, 1.0))
    pipeline = SimpleNamespace(associator=a, checkout=CheckoutBridge("nanostore-1"))
    truth_of = {"tok-a": {"items": [{"sku": WATER, "qty": 1}]}, "tok-b": {"items": [{"sku": WATER, "qty": 1}]}}
    held = []
    for token in ("tok-a", "tok-b"):
        receipt = pipeline.checkout.decide(replace(a.basket(token), open=False)).to_contract()  # as at the exit
        assert receipt["status"] == "review"
        held.append({"status": "review", **review_pointers(pipeline, receipt, truth_of[token])})
    assert [h["named"] for h in held] == [[WATER], [WATER]] and [h["wrong_skus"] for h in held] == [[WATER], [WATER]]
    assert review_pointer_line(held).endswith("0 of 2 held receipts. Of the 2 held receipts that were wrong, 2 name a product they got wrong, "
                                              "or an uncertain binding.")
    # a reason that points nowhere is counted so
    bare = {"status": "review", "named": [], "pointed": False, "wrong_skus": ["x"], "binding_named": False}
    assert ": 1 of 1 held receipts. Of the 1 held receipts that were wrong, 0 name" in review_pointer_line([bare])


def _two_bottles_held(reviewer_error: float = 0.01):
    """Two bottles gone, both arms at the plate, both receipts held: the pipeline and its receipts."""
    from walkout_bringup.pipeline import Pipeline

    pipe = Pipeline(STORE, CATALOG)
    a = pipe.associator
    a.params.reviewer_error = reviewer_error
    for track, token, x in (("A", "tok-a", 1.8), ("B", "tok-b", 2.15)):
        a.open_session(token, 0.0)
        reaching(a, track, token, x, 10.0, 14.0)
    a.on_plate_event(PlateEvent(PLATE, "G1A-S1", 11.5, 12.0, -1040.0, 1.0))
    for token, t in (("tok-a", 20.0), ("tok-b", 21.0)):
        pipe._basket(a.close_session(token, t))
    doc = {"receipts": [r.to_contract() for r in pipe.receipts]}
    assert [r["status"] for r in doc["receipts"]] == ["review", "review"]
    assert [i["qty"] for r in doc["receipts"] for i in r["items"]] == [1, 1]  # billed one each, the likeliest reading
    return pipe, doc


def test_two_shoppers_at_one_plate_hold_each_other_for_the_number_of_shoppers():
    # two bottles gone with both arms at the plate: each receipt, billed one bottle, is held
    # mostly because the two may have been one shopper's (the association's own state)
    import math

    from walkout_bringup.doubt import doubt_sources

    pipe, doc = _two_bottles_held()
    for r in doc["receipts"]:
        d = doubt_sources(pipe.associator, r["session_token"])
        assert sum(d.values()) == pytest.approx(-math.log(r["confidence"]), abs=2e-3)
        assert max(d, key=d.get) == "several"


def test_the_eval_counts_two_arms_at_one_plate_by_how_well_the_weaker_was_seen():
    # the association's own state: both arms there all through the change; in a second
    # event B's arm only glimpsed after the plate settled; the truth says who acted
    from walkout_bringup.pair_prior import pair_samples, pair_section

    pipe, _ = _two_bottles_held()
    a = pipe.associator
    first = a.last_record
    for token in ("tok-c", "tok-d"):
        a.open_session(token, 30.0)
    for track, token, x, h0, h1 in (("C", "tok-c", 1.8, 31.0, 34.0), ("D", "tok-d", 2.15, 33.05, 33.3)):
        for t in np.arange(30.0, 36.0, 0.1):
            hands = [np.array([x, 2.0, 1.0])] if h0 <= t <= h1 else []
            a.history.add(TrackSnapshot(track, token, CONFIRMED, float(t), np.array([x, 1.55, 1.75]), np.zeros(2), np.eye(2) * 0.01, hands))
    a.on_plate_event(PlateEvent(PLATE, "G1A-S1", 32.5, 33.0, -1040.0, 1.0))
    records = [first, a.last_record]
    events, _ = score_events(records, [truth(11.7, "tok-a"), truth(11.8, "tok-b"), truth(32.8, "tok-c", 2)])
    assert sorted(pair_samples(a, records, events)) == [(1, False), (2, True)]
    text = "\n".join(pair_section([(2, True), (2, True), (2, False), (1, False), (0, False)], a.two_actor_priors()))
    assert "| there while the weight changed | 3 | 2 | 0.625 | 0.810 |" in text
    assert "| never seen at the plate (a hidden arm's share) | 1 | 0 | 0.250 | 0.160 |" in text


def test_the_eval_counts_held_receipts_a_linked_review_settles():
    from walkout_bringup.evaluate import linked_review_line, linked_reviews

    # Truly one each. A perfect reviewer decides A's (first out): B's is then approved with
    # no person, right.
    pipe, doc = _two_bottles_held()
    one = {"items": [{"sku": WATER, "qty": 1}]}
    # the reviewer also says what happened at the plate: one bottle each
    got = linked_reviews(pipe, doc, {"tok-a": one, "tok-b": one}, {f"{PLATE}@12.000": {"tok-a": {WATER: 1}, "tok-b": {WATER: 1}}})
    assert got == {"tok-a": {"settled": False, "confidence_at_review": pytest.approx(doc["receipts"][0]["confidence"], abs=1e-4),
                             "verdicts": 1, "slipped": False, "decided_exact": True},
                   "tok-b": {"settled": True, "settled_exact": True}}
    assert pipe.checkout.db.receipt("tok-b").status == "approved" and len(pipe.receipt_delays) == 2  # a revision is no new receipt
    sessions = [{"status": "review", **got[t]} for t in ("tok-a", "tok-b")] + [{"status": "approved"}] * 2
    assert linked_review_line(sessions).endswith("1 of 2 held receipts need a person (25.0% of sessions); 1 were approved without "
                                                 "one once a session they shared an event with was decided, 0 of them wrong. Those people "
                                                 "answered 1 questions about single plate events (1 receipts with any).")


@pytest.mark.parametrize("reviewer_error", [0.01, 0.05])
def test_a_reviewer_who_slips_settles_another_wrongly_unless_the_association_doubts_reviewers(reviewer_error):
    from walkout_bringup.evaluate import linked_review_line, linked_reviews

    # Truly A took both bottles. A's reviewer slips: approves A's one bottle as billed and
    # takes the likeliest reading, one each. That settles B's bottle wrongly when reviewers
    # are taken to err 1 in 100 (B is then 0.99 sure); taken to err 1 in 20, B's receipt
    # waits for a person.
    pipe, doc = _two_bottles_held(reviewer_error)
    truth = {"tok-a": {"items": [{"sku": WATER, "qty": 2}]}, "tok-b": {"items": []}}
    got = linked_reviews(pipe, doc, truth, {f"{PLATE}@12.000": {"tok-a": {WATER: 2}}}, slips=1.0)
    assert got["tok-a"]["slipped"] and not got["tok-a"]["decided_exact"] and got["tok-a"]["verdicts"] == 1
    if reviewer_error < 0.02:
        assert got["tok-b"] == {"settled": True, "settled_exact": False}
        assert pipe.associator.basket("tok-b").confidence == pytest.approx(0.99, abs=2e-3)
    else:  # held at 0.95 for a person (who slips too)
        assert got["tok-b"]["settled"] is False and got["tok-b"]["confidence_at_review"] == pytest.approx(0.95, abs=2e-3)
    sessions = [{"status": "review", **got[t]} for t in ("tok-a", "tok-b")]
    line = linked_review_line(sessions, slips=1.0)
    assert "reviewers who slip on 100% of receipts" in line
    assert line.endswith(f"they slipped on {1 if reviewer_error < 0.02 else 2} receipts, "
                         f"{1 if reviewer_error < 0.02 else 2} of them decided wrong.")


def test_the_report_counts_reviews_calibration_delays_amended_receipts_and_rebindings(tmp_path):
    from walkout_bringup.evaluate import write_report

    def result(kind, seed, sessions, amended=(), rebinds=()):
        exact = [s["exact"] for s in sessions]
        return {"case": {"kind": kind, "seed": seed, "round": 0, "store": "nanostore"},
                "score": {"sessions": len(sessions), "approved_correct": sum(s["status"] == "approved" for s in sessions),
                          "review": sum(s["status"] == "review" for s in sessions), "tp": sum(exact), "fn": len(exact) - sum(exact)},
                "tracks": {"MOTA": 0.9, "IDF1": 0.95, "HOTA": 0.9}, "sessions": sessions,
                "events": [(s["confidence"], s["exact"]) for s in sessions], "choices": [], "wrong_events": [], "missed_events": 0,
                "speed": 5.0, "receipt_delays": [0.01, 1.5][: len(sessions)], "approved_delays": [0.01], "amended": list(amended), "units_per_act": [1],
                "rebinds": list(rebinds)}

    ok = {"token": "tok-0", "confidence": 0.99, "exact": True, "status": "approved", "raw": 0.99, "reasons": [], "blocking": False}
    held = {"token": "tok-1", "confidence": 0.6, "exact": False, "status": "review", "raw": 0.6,
            "reasons": ["low confidence 0.600 < 0.98"], "blocking": False}
    text = write_report([result("groups", 7, [ok, held], amended=["tok-0"], rebinds=[(1.0, False), (0.5, True)]),
                         result("drift", 8, [ok], rebinds=[(0.95, True)])], tmp_path, 1.0)
    assert "| groups | nanostore | 1 | 2 | 50.0% | 0.0% | 50.0% |" in text
    assert "Why 1 sessions went to review" in text and "- low confidence: 1" in text
    assert "Receipt confidence calibration over 3 closed sessions: expected calibration error" in text
    assert "Plate event calibration (P of the recorded reading) over 3 events: expected" in text
    assert "3 receipts): median 0.01 s" in text and "1 later than 1 s" in text
    assert "Of the 2 approved when issued: median 0.01 s, longest 0.01 s, 0 later than 1 s." in text
    assert "Receipts amended: 1 (groups 7 tok-0)." in text
    assert "3 with a true shopper to check, 2 right; predicted P(right) 0.82 on average; of the 2 predicted at 0.9 or more, 1 right." in text
    assert (tmp_path / "report.md").read_text() in text and (tmp_path / "calibration.png").is_file()
    # the cases to look at, each with how to replay it: here the bags were not kept
    assert "- approved and WRONG (silent errors): 0, none" in text and "The bags were not kept" in text
    assert ("- wrong and held, the most confident (the nearest to a silent error): 1\n  - groups seed 7 (nanostore), tok-1 at "
            "0.600: low confidence 0.600 < 0.98. Tracks: `tracks/groups-7.png`; replay: `./walkout replay DIR/groups-7 --store "
            "calibration/nanostore/store.yaml --catalog calibration/nanostore/catalog.yaml --out /tmp/groups-7.json`") in text
    # two held receipts of one shared doubt: a perfect reviewer decides one, which settles the other
    decided, settled = {**held, "settled": False}, {**held, "token": "tok-2", "exact": True, "settled": True, "settled_exact": True}
    (tmp_path / "linked").mkdir()
    text = write_report([result("sameplate", 9, [ok, decided, settled])], tmp_path / "linked", 1.0)
    assert "1 of 2 held receipts need a person (33.3% of sessions); 1 were approved without one" in text
    assert "where a linked review settled some: sameplate 2 -> 1." in text


def test_a_put_back_after_its_taker_left_changes_no_receipt_in_the_truth():
    # B puts back a water A took and was handed; A had left: by the billing rule it stays
    # on A's receipt, so the right reading of B's put-back changes no basket
    a = Associator(STORE, CATALOG, TrackHistory(), AssociationParams())
    reaching(a, "B", "tok-b", 1.95, 10.0, 14.0)
    a.on_plate_event(PlateEvent(PLATE, "G1A-S1", 11.5, 12.0, +521.0, 1.0))
    kept = {**truth(11.8, "tok-b", n=-1), "billed_token": "tok-a", "stays_billed": True}
    (pair,), _ = score_events([a.last_record], [kept])
    assert pair.want == {}
    (pair,), _ = score_events([a.last_record], [{**kept, "stays_billed": False}])
    assert pair.want == {"tok-a": {WATER: -1}}


def test_units_per_reach_and_their_fitted_decay():
    from walkout_bringup.evaluate import fit_units_section, units_per_act

    # a reach of two units at once, a put-back split by its two takers (one act of 2),
    # single takes of two people at one plate at the same instant (two acts)
    events = [
        {"t": 1.0, "person": "p0", "plate": "A", "n": 2},
        {"t": 5.0, "person": "p0", "plate": "A", "n": -1},
        {"t": 5.0, "person": "p0", "plate": "A", "n": -1},
        {"t": 9.0, "person": "p0", "plate": "B", "n": 1},
        {"t": 9.0, "person": "p1", "plate": "B", "n": 1},
    ]
    assert sorted(units_per_act(events)) == [1, 1, 2, 2]
    lines, yaml = fit_units_section([{"units_per_act": [1, 1, 2, 2]}])
    # mean 1.5 units: decay (1.5 - 1) / 1.5
    assert yaml == "count_decay: 0.3333\n" and "2 of 1 unit, 2 of 2 units" in lines[-1]
    assert fit_units_section([{"units_per_act": []}]) == ([], "")


def test_a_decided_receipt_is_scored_by_units_per_sku():
    from walkout_bringup.evaluate import _lines_are
    from walkout_common.types import BasketLine

    # a truth that lists one product twice, and a line of none of another: the same bill
    lines = [BasketLine(WATER, "Sparkling water", 2, 199, 1.0), BasketLine("049000028911", "Cola", 0, 149, 1.0)]
    assert _lines_are(lines, {"items": [{"sku": WATER, "qty": 1}, {"sku": WATER, "qty": 1}]})
    assert not _lines_are(lines, {"items": [{"sku": WATER, "qty": 1}]})


def test_the_cases_to_look_at_put_the_nearest_to_a_wrong_charge_first_and_replay_kept_bags(tmp_path):
    from walkout_bringup.look_at import cases_section

    def session(token, conf, exact, status):
        return {"token": token, "confidence": conf, "exact": exact, "status": status, "reasons": [f"r{token}"] if status == "review" else []}

    results = [{"case": {"kind": "twins", "seed": 3, "store": "minimart"},
                "sessions": [session("a", 0.97, False, "review"), session("b", 0.5, False, "review"), session("c", 0.999, True, "approved")]},
               {"case": {"kind": "multi", "seed": 4, "store": "nanostore"},
                "sessions": [session("d", 0.99, False, "approved"), session("e", 0.9, False, "review"), session("f", 0.95, True, "review")]}]
    lines = cases_section(results, tmp_path / "bags", Path("p.yaml"), per_group=2)
    text = "\n".join(lines)
    assert "not kept" not in text
    assert "- approved and WRONG (silent errors): 1\n  - multi seed 4 (nanostore), d at 0.990: no review reason." in text
    held_wrong = lines[lines.index("- wrong and held, the most confident (the nearest to a silent error): 3") + 1:][:2]
    assert [x.split(",")[1].split(" at ")[0].strip() for x in held_wrong] == ["a", "e"]  # two of three, most confident first
    assert f"`./walkout replay {tmp_path}/bags/twins-3 --store calibration/minimart/store.yaml" in held_wrong[0]
    assert held_wrong[0].endswith("--out /tmp/twins-3.json --params p.yaml`")
    assert "- exact and held, the most confident (the nearest to an approval): 1\n  - multi seed 4 (nanostore), f at 0.950: rf." in text
