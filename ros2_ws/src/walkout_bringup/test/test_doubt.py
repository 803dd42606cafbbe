"""The eval's account of where a held receipt's doubt lies (walkout_bringup.doubt)."""

import math

import numpy as np
import pytest

from walkout_association.associator import Act, EventRecord, Hypothesis
from walkout_association.who import CHOICE_FEATURES, Candidate
from walkout_bringup.doubt import doubt_section, event_doubt
from walkout_common.types import ItemEvent, PlateEvent

TAKE = ItemEvent.TAKE


def _cand(token: str, arm: bool) -> Candidate:
    x = np.zeros(len(CHOICE_FEATURES))
    x[CHOICE_FEATURES.index("w_near_any")] = 1.0 if arm else 0.0
    return Candidate(f"t-{token}", token, 0.5, 0.05 if arm else math.inf, 0.4, features=x)


def _take(token: str, sku: str = "a", n: int = 1) -> Act:
    return Act(token, f"t-{token}", TAKE, ((sku, "", n),))


def _record(hyps: list[tuple[tuple[Act, ...], float]], cands: list[Candidate]) -> EventRecord:
    ev = PlateEvent("P1", "S1", 1.0, 1.5, -100.0, 1.0, event_id="P1@1.0")
    return EventRecord(ev, TAKE, [Hypothesis(acts, p) for acts, p in hyps], candidates=cands)


def test_doubt_is_shared_among_readings_by_kind() -> None:
    rec = _record([((_take("u", n=2),), 0.8),
                   ((_take("v", n=2),), 0.1),  # v's arm was at the plate
                   ((_take("w", n=2),), 0.04),  # w showed none
                   ((_take("u"), _take("v")), 0.04),  # two shoppers, one unit each
                   ((_take("u", "b", 2),), 0.02)],  # another product
                  [_cand("u", True), _cand("v", True), _cand("w", False)])
    d = event_doubt(rec, "u")
    assert sum(d.values()) == pytest.approx(-math.log(0.8))
    assert d["who_armed"] == pytest.approx(-math.log(0.8) * 0.1 / 0.2)
    assert d["who_armless"] == pytest.approx(-math.log(0.8) * 0.04 / 0.2)
    assert d["several"] == pytest.approx(d["who_armless"])
    assert d["what"] == pytest.approx(-math.log(0.8) * 0.02 / 0.2)


def test_a_reading_that_bills_the_session_alike_is_no_doubt() -> None:
    # for v, "u took it" and "w took it" bill it alike (nothing): only "v took it" is doubt
    rec = _record([((_take("u"),), 0.7), ((_take("w"),), 0.2), ((_take("v"),), 0.1)],
                  [_cand("u", True), _cand("v", False), _cand("w", False)])
    assert event_doubt(rec, "v") == {"who_armless": pytest.approx(-math.log(0.9))}
    assert event_doubt(rec, "x") == {}  # a session no reading bills


def test_one_shoppers_put_back_and_take_is_what_not_several() -> None:
    swap = (Act("u", "t-u", ItemEvent.RETURN, (("b", "u", 1),)), _take("u"))
    rec = _record([((_take("u"),), 0.9), (swap, 0.1)], [_cand("u", True)])
    assert set(event_doubt(rec, "u")) == {"what"}


def test_a_plate_that_settled_back_doubts_a_light_unit_or_a_hand_over() -> None:
    # nothing moved (best); u took a light unit unseen; or v put a unit back that u took
    ev = PlateEvent("P1", "S1", 1.0, 1.5, 0.5, 2.0, event_id="P1@1.0", unchanged=True)
    nothing = Act("", "", ItemEvent.TAKE, ())
    handed = (Act("v", "t-v", ItemEvent.RETURN, (("b", "v", 1),)), _take("u", "b"))
    rec = EventRecord(ev, TAKE, [Hypothesis((nothing,), 0.9), Hypothesis((_take("u", "a"),), 0.06), Hypothesis(handed, 0.04)],
                      candidates=[_cand("u", True), _cand("v", True)])
    d = event_doubt(rec, "u")
    assert d["too_light"] == pytest.approx(-math.log(0.9) * 0.6) and d["several"] == pytest.approx(-math.log(0.9) * 0.4)


def test_section_divides_each_types_held_doubt() -> None:
    results = [{"case": {"kind": "k1"}, "sessions": [
        {"status": "review", "doubt": {"what": 0.3, "several": 0.1}},
        {"status": "approved"},
    ]}]
    text = "\n".join(doubt_section(results))
    assert "| k1 | 1 | 0.40 | 0% | 0% | 25% | 75% | 0% |" in text
    assert "| **all** | 1 |" in text
    assert "largest kind of doubt: product or count 1." in text

