import math
from dataclasses import replace

import numpy as np
import pytest

from walkout_association.associator import AssociationParams, Associator
from walkout_common.types import CONFIRMED, EXITED, LOST, ItemEvent, PlateEvent, ProductObservation, TrackSnapshot
from walkout_tracking.history import TrackHistory


def snap(track_id, token, t, xy, hands=(), state=CONFIRMED, height=1.75, var=0.01):
    return TrackSnapshot(
        track_id=track_id,
        session_token=token,
        state=state,
        stamp=t,
        position=np.array([xy[0], xy[1], height]),
        velocity=np.zeros(2),
        covariance=np.eye(2) * var,
        hands=[np.asarray(h, dtype=float) for h in hands],
    )


def standing(track_id, token, t0, t1, xy, hand_at=None, hand_from=None, hand_to=None, state=CONFIRMED):
    """Snapshots at 10 Hz of a person standing at xy, with an arm tip at `hand_at` in [hand_from, hand_to]."""
    out = []
    for t in np.arange(t0, t1, 0.1):
        hands = [hand_at] if hand_at is not None and hand_from <= t <= hand_to else []
        out.append(snap(track_id, token, float(t), xy, hands, state=state))
    return out



WATER, WATER_PLATE = "012000286209", "G1A-S1-P1"  # 520 g
SOUP, SOUP_PLATE = "051000012616", "G1B-S1-P3"  # 305 g
COLA, LEMON, COLA_PLATE = "049000028911", "049000050103", "G1A-S1-P2"  # 352 g, 362 g


def event(plate, t, delta, std=1.2):
    return PlateEvent(plate, plate.rsplit("-", 1)[0], t, t + 1.0, delta, std)


def make(store, catalog, **params):
    return Associator(store, catalog, TrackHistory(), AssociationParams(**params))


def test_take_billed_to_the_reaching_shopper_not_the_bystander(store, catalog):
    a = make(store, catalog)
    front = store.plates_by_id[WATER_PLATE].front_center
    # A reaches the water plate; B stands 0.5 m beside A without reaching.
    a.observe_tracks(standing("A", "tok-a", 0.0, 0.05, (1.95, 1.55)))
    a.observe_tracks(standing("B", "tok-b", 0.0, 0.05, (2.45, 1.55)))
    for s in standing("A", "tok-a", 0.1, 8.0, (1.95, 1.55), hand_at=(1.95, 2.0, 1.0), hand_from=4.0, hand_to=6.0):
        a.history.add(s)
    for s in standing("B", "tok-b", 0.1, 8.0, (2.45, 1.55)):
        a.history.add(s)
    items, baskets = a.on_plate_event(event(WATER_PLATE, 4.5, -521.0))
    assert front[1] == pytest.approx(2.0)
    assert items[0].sku == WATER and items[0].quantity == 1 and items[0].session_token == "tok-a"
    assert items[0].probability > 0.95
    basket_a = a.basket("tok-a")
    assert [(ln.sku, ln.quantity) for ln in basket_a.lines] == [(WATER, 1)]
    assert basket_a.confidence > 0.95 and basket_a.total_cents == 199
    assert a.basket("tok-b").lines == []
    assert a.basket("tok-b").confidence > 0.95


def test_two_hands_at_one_plate_is_uncertain(store, catalog):
    a = make(store, catalog)
    for tid, tok, x in (("A", "tok-a", 1.85), ("B", "tok-b", 2.2)):
        for s in standing(tid, tok, 0.0, 8.0, (x, 1.55), hand_at=(x, 2.0, 1.0), hand_from=4.0, hand_to=6.0):
            a.history.add(s)
    a.open_session("tok-a", 0.0)
    a.open_session("tok-b", 0.0)
    items, _ = a.on_plate_event(event(WATER_PLATE, 4.5, -521.0))
    assert items[0].probability < 0.8
    assert a.basket("tok-a").confidence < 0.95 and a.basket("tok-b").confidence < 0.95


def test_a_put_back_decides_who_took_as_far_as_the_returners_basket_goes(store, catalog):
    # A and B both reach the water plate as one water goes (A's arm there a little
    # longer: A is the likelier taker); later B, alone, puts a water back. B can only put
    # back what B took, so B's basket ends empty, not at one water less than nothing.
    # A's stays as read (a session's worlds are its own: B's put-back is a hand-over
    # from A there, unlikely without their hands meeting, but not impossible).
    a = make(store, catalog)
    for tid, tok, x, t0 in (("A", "tok-a", 1.85, 3.8), ("B", "tok-b", 2.2, 4.3)):
        for s in standing(tid, tok, 0.0, 8.0, (x, 1.55), hand_at=(x, 2.0, 1.0), hand_from=t0, hand_to=6.0):
            a.history.add(s)
        a.open_session(tok, 0.0)
    a.on_plate_event(event(WATER_PLATE, 4.5, -521.0))
    assert a.last_record.best.effects() == {"tok-a": {WATER: 1}} and a.last_record.best.probability < 0.8
    for s in standing("B", "tok-b", 20.0, 28.0, (2.2, 1.55), hand_at=(2.2, 2.0, 1.0), hand_from=24.0, hand_to=26.0):
        a.history.add(s)
    a.on_plate_event(event(WATER_PLATE, 24.5, +520.0))
    assert a.last_record.best.effects() == {"tok-b": {WATER: -1}}  # read on its own: B's own water
    b = a.basket("tok-b")
    assert b.lines == [] and not any("returned than taken" in r for r in b.review_reasons)
    assert [(ln.sku, ln.quantity) for ln in a.basket("tok-a").lines] == [(WATER, 1)]


def _who_took_water(store, catalog, arms, forget=None):
    """The water plate's take with each (track, token, head x, arm tip, from, to) of `arms`
    standing 0.45 m from its front; `forget`: the associator's map of neighbouring plates
    ('_above' or '_beside') to empty for the water plate."""
    a = make(store, catalog)
    if forget:
        getattr(a, forget)[WATER_PLATE] = ()
    for track, token, x, tip, t0, t1 in arms:
        for s in standing(track, token, 0.0, 8.0, (x, 1.55), hand_at=tip, hand_from=t0, hand_to=t1):
            a.history.add(s)
        a.open_session(token, 0.0)
    items, _ = a.on_plate_event(event(WATER_PLATE, 4.5, -521.0))
    return items[0]


def test_an_arm_at_the_shelf_above_is_not_at_the_plate_below(store, catalog):
    # A reaches into the shelf level over the water plate (its surface at 1.4 m) the whole
    # time, the top of its hand level with that plate (1.4 m: inside the water plate's
    # height band too); B's arm is at the water plate for a moment only: B took the water.
    arms = [("A", "tok-a", 1.95, (1.95, 2.0, 1.4), 3.0, 7.0), ("B", "tok-b", 2.35, (2.15, 2.0, 1.0), 4.6, 5.0)]
    assert _who_took_water(store, catalog, arms, forget="_above").session_token == "tok-a"  # the tip taken for the water plate's
    item = _who_took_water(store, catalog, arms)
    assert item.session_token == "tok-b" and item.probability > 0.9


def test_an_arm_between_two_shelf_levels_may_have_taken_a_part(store, catalog):
    # The fresh suite's groups 29238: two bottles gone; A's arm at the water plate, B's seen
    # at the shelf front just under the board of the plate above (1.3 m; that plate's
    # surface is at 1.4 m): a hand reaching down into the water plate's shelf, or one just
    # lowered from the plate above, the camera cannot tell. "Both by A" read 0.99 and was
    # wrong (one each): B's tip now counts for a part, not as nothing.
    def pair_and_best(b_tip_z: float) -> tuple[float, float]:
        a = make(store, catalog)
        for track, token, x, tip in (("A", "tok-a", 1.95, (1.95, 2.0, 1.0)), ("B", "tok-b", 2.4, (2.15, 2.0, b_tip_z))):
            for s in standing(track, token, 0.0, 8.0, (x, 1.6), hand_at=tip, hand_from=4.0, hand_to=6.0):
                a.history.add(s)
            a.open_session(token, 0.0)
        a.on_plate_event(event(WATER_PLATE, 4.5, -1040.0))
        hyps = a.last_record.hypotheses
        return sum(h.probability for h in hyps if sorted(h.effects()) == ["tok-a", "tok-b"]), hyps[0].probability

    pair, best = pair_and_best(1.3)
    assert pair > 0.1 and best < 0.9
    pair, best = pair_and_best(1.45)  # on the goods of the plate above: at that plate, not this one
    assert pair < 0.05 and best > 0.95


def test_an_arm_at_the_plate_beside_is_not_at_this_one(store, catalog):
    # B, in front of the next plate on the same shelf (G1A-S1-P2, 0.1 m past the water
    # plate's end), has its tip at that plate's near end the whole time: 0.13 m from the
    # water plate's front, so "near" it too. A's arm is at the water plate for a moment
    # only: A took the water.
    from walkout_association.who import WhoParams, plates_beside

    beside = plates_beside(store.plates_by_id[WATER_PLATE], store.plates, WhoParams())
    assert [q.id for q in beside] == [COLA_PLATE]  # not the shelf above, nor the gondola's other side
    arms = [("A", "tok-a", 1.95, (1.95, 2.0, 1.0), 4.6, 5.0), ("B", "tok-b", 2.55, (2.38, 2.0, 1.0), 3.0, 7.0)]
    assert _who_took_water(store, catalog, arms, forget="_beside").session_token == "tok-b"  # the tip taken for the water plate's
    item = _who_took_water(store, catalog, arms)
    assert item.session_token == "tok-a" and item.probability > 0.9


def test_a_lost_track_of_no_session_does_not_outweigh_a_shopper_at_the_shelf(store, catalog):
    # A stands 0.25 m from the water plate, its arm hidden under its head (no tip seen). G,
    # a track no session claimed (a shoulder split off someone), was lost 1.8 m away just
    # before the change: its unseen reach used to win the take ("nobody tracked" billed).
    def take(params):
        a = Associator(store, catalog, TrackHistory(), params)
        for s in standing("A", "tok-a", 0.0, 8.0, (1.95, 1.75)):
            a.history.add(s)
        for s in standing("G", "", 0.0, 4.0, (1.95, 0.2)):
            a.history.add(s)
        for t in np.arange(4.0, 8.0, 0.1):
            a.history.add(snap("G", "", float(t), (1.95, 0.2), state=LOST, var=0.05 + 0.1 * (t - 4.0)))
        a.open_session("tok-a", 0.0)
        a.on_plate_event(event(WATER_PLATE, 4.5, -521.0))
        return {c.track_id: c.probability for c in a.last_record.candidates}

    before = take(AssociationParams(w_unbound=0.0, w_unbound_unseen=0.0))
    assert before["G"] > before["A"]
    now = take(AssociationParams())
    assert now["A"] > 0.5 and now["A"] > 5 * now["G"]


def _two_reaching(store, catalog, xs, **params):
    a = make(store, catalog, **params)
    for tid, tok, x in zip(("A", "B"), ("tok-a", "tok-b"), xs, strict=True):
        for s in standing(tid, tok, 0.0, 8.0, (x, 1.55), hand_at=(x, 2.0, 1.0), hand_from=4.0, hand_to=6.0):
            a.history.add(s)
    return a


def test_two_shoppers_taking_at_once_share_the_units(store, catalog):
    # Two products in one disturbance, an arm of each shopper at the plate: one reach
    # rarely takes two products, so each took one (which one, the weight cannot tell).
    a = _two_reaching(store, catalog, (2.5, 2.85))
    items, _ = a.on_plate_event(event(COLA_PLATE, 4.5, -714.0))  # a cola (352 g) and a lemon soda (362 g)
    best = a.last_record.best
    assert len(best.acts) == 2 and sorted(best.effects()) == ["tok-a", "tok-b"]
    assert sorted(i.session_token for i in items) == ["tok-a", "tok-b"] and {i.sku for i in items} == {COLA, LEMON}
    assert all(i.quantity == 1 and i.action == ItemEvent.TAKE for i in items)
    assert a.basket("tok-a").confidence < 0.95 and a.basket("tok-b").confidence < 0.95
    # Two bottles of one product: one bottle each, or both by one of them? Two arms at
    # one plate all through the change are two actors in about 4 of 5 such events
    # (two_actor_prior, fitted): one each is the likeliest, and a single reach of two
    # units stays a real alternative, so a reviewer looks.
    a = _two_reaching(store, catalog, (1.8, 2.15))
    a.on_plate_event(event(WATER_PLATE, 4.5, -1040.0))
    shared = sum(h.probability for h in a.last_record.hypotheses if sorted(h.effects()) == ["tok-a", "tok-b"])
    assert 0.5 < shared < 0.98 and sorted(a.last_record.best.effects()) == ["tok-a", "tok-b"]
    assert a.basket("tok-a").confidence < 0.98 and a.basket("tok-b").confidence < 0.98


def test_an_arm_seen_at_the_plate_only_once_the_weight_settled_is_seldom_a_second_taker(store, catalog):
    # The held-out suite's random_corner 5134: two units gone in 0.3 s, the taker's arm
    # at the plate all along, a neighbour's seen there only just after the plate settled
    # (within the clocks' margin). Such a glimpse made a second taker in 3 of 37 events of
    # the fitting suite; an arm there while the weight changed, in 10 of 12.
    def shared(b_from: float, b_to: float) -> float:
        a = make(store, catalog)
        for track, token, x, hand_from, hand_to in (("A", "tok-a", 1.8, 4.0, 6.0), ("B", "tok-b", 2.15, b_from, b_to)):
            for s in standing(track, token, 0.0, 8.0, (x, 1.55), hand_at=(x, 2.0, 1.0), hand_from=hand_from, hand_to=hand_to):
                a.history.add(s)
            a.open_session(token, 0.0)
        a.on_plate_event(event(WATER_PLATE, 4.5, -1040.0))  # 4.5 to 5.5 s
        return sum(h.probability for h in a.last_record.hypotheses if sorted(h.effects()) == ["tok-a", "tok-b"])

    there, briefly, after = shared(4.0, 6.0), shared(4.95, 5.15), shared(5.6, 6.0)
    assert there > 0.5
    assert 0.05 < briefly < 0.4 and 0.05 < after < 0.4  # a real alternative still: a reviewer looks
    assert after < there / 2 and briefly < there / 2


def test_colour_seen_once_counts_once_for_two_shoppers_taking_one_product(store, catalog):
    # Two bottles gone, both arms at the plate; the colour cameras' crops near it show
    # water. That says which product, not how many hands: "both by A" and "one each" keep
    # their odds (the old code counted the crops once per act, so a pair of one product
    # gained the crops' whole likelihood ratio again).
    def odds(seen: bool) -> float:
        a = _two_reaching(store, catalog, (1.8, 2.15))
        if seen:
            for t in np.arange(4.0, 5.5, 0.2):
                a.add_observation(ProductObservation(float(t), "color1", np.array([1.95, 2.0, 1.0]), {WATER: 0.8, COLA: 0.05, LEMON: 0.05, "": 0.1}))
        a.on_plate_event(event(WATER_PLATE, 4.5, -1040.0))
        hyps = a.last_record.hypotheses
        pair = sum(h.probability for h in hyps if sorted(h.effects()) == ["tok-a", "tok-b"])
        single = sum(h.probability for h in hyps if list(h.effects()) in (["tok-a"], ["tok-b"]) and h.effects()[h.session] == {WATER: 2})
        return pair / single

    assert odds(True) == pytest.approx(odds(False), rel=1e-6)


def _beside_a_reach(store, catalog, b_xy, b_hand=None):
    """A reaches into the water plate from 0.45 m (4-6 s); B stands at b_xy, with an arm
    tip at b_hand meanwhile (none seen if None)."""
    a = make(store, catalog)
    for s in standing("A", "tok-a", 0.0, 8.0, (1.95, 1.55), hand_at=(1.95, 2.0, 1.0), hand_from=4.0, hand_to=6.0):
        a.history.add(s)
    for s in standing("B", "tok-b", 0.0, 8.0, b_xy, hand_at=b_hand, hand_from=4.0, hand_to=6.0):
        a.history.add(s)
    return a


def test_a_bystander_never_shares_a_take(store, catalog):
    a = _beside_a_reach(store, catalog, (2.4, 1.55))
    a.on_plate_event(event(WATER_PLATE, 4.5, -1040.0))
    assert len(a.last_record.best.acts) == 1 and a.last_record.best.session == "tok-a"
    assert [(ln.sku, ln.quantity) for ln in a.basket("tok-a").lines] == [(WATER, 2)]
    assert a.basket("tok-b").confidence > 0.98


LIP_BALM, LIP_PLATE = "071641007803", "G2-S2-P4"  # 8 g, front edge at y = 4.10


def _at_the_lip_balm(store, catalog):
    a = make(store, catalog)
    a.open_session("tok-a", 0.0)
    for s in standing("A", "tok-a", 0.0, 8.0, (4.4, 3.65), hand_at=(4.4, 4.1, 1.5), hand_from=4.0, hand_to=5.5):
        a.history.add(s)
    return a


@pytest.mark.parametrize("std", [0.6, 3.0])
def test_a_plate_that_settled_back_may_hide_a_unit_too_light_for_it(store, catalog, std):
    # A shopper's hand in the lip balm plate, and the plate back where it was (-1 g). Where
    # its level means scatter 0.6 g an 8 g unit would have shown: a touch, nothing to say.
    # Where they scatter 3 g (a load cell's filter), it may not have: the receipt without it
    # is no longer sure (random_nano 5017 approved one at 1.000), and says what may be missing.
    a = _at_the_lip_balm(store, catalog)
    items, baskets = a.on_plate_event(replace(event(LIP_PLATE, 4.5, -1.0, std), unchanged=True))
    basket = a.basket("tok-a")
    assert basket.lines == []
    if std < 1.0:
        assert items == [] and baskets == [] and basket.confidence > 0.99
        return
    assert 0.5 < basket.confidence < 0.98
    assert [(m.sku, m.quantity) for m in basket.maybe] == [(LIP_BALM, 1)]
    assert "settled back" in items[0].note and items[0].sku == ""
    # the same difference with nobody in reach is a knock: nobody's receipt doubts it
    far = make(store, catalog)
    far.open_session("tok-a", 0.0)
    for s in standing("A", "tok-a", 0.0, 8.0, (1.0, 1.0)):
        far.history.add(s)
    far.on_plate_event(replace(event(LIP_PLATE, 4.5, -1.0, std), unchanged=True))
    assert far.basket("tok-a").confidence > 0.99


def test_a_unit_put_back_on_a_plate_too_noisy_to_show_it_may_have_come_off_the_bill(store, catalog):
    a = _at_the_lip_balm(store, catalog)
    a.on_plate_event(event(LIP_PLATE, 1.0, -8.2, 0.6))  # taken, and seen: billed
    assert [(ln.sku, ln.quantity) for ln in a.basket("tok-a").lines] == [(LIP_BALM, 1)]
    sure = a.basket("tok-a").confidence
    a.on_plate_event(replace(event(LIP_PLATE, 4.5, 1.5, 3.0), unchanged=True))
    basket = a.basket("tok-a")
    assert [(ln.sku, ln.quantity) for ln in basket.lines] == [(LIP_BALM, 1)]
    assert basket.confidence < min(sure, 0.98)


def test_a_touch_elsewhere_is_seldom_a_put_back_of_a_light_unit_held(store, catalog):
    # A shopper holding a lip balm touches the water plate, which settles back +1.7 g but
    # is 4.4 g unsure: the lip balm may lie there now, but put-backs are a tenth of the
    # moves (light_return_share), so the receipt keeps it (at half, random_mini 37135's
    # every touch of any plate read as a likely put-back of a phantom 4 g unit).
    a = make(store, catalog)
    a.open_session("tok-a", 0.0)
    for s in standing("A", "tok-a", 0.0, 3.0, (4.4, 3.65), hand_at=(4.4, 4.1, 1.5), hand_from=1.0, hand_to=2.5):
        a.history.add(s)
    for s in standing("A", "tok-a", 3.0, 8.0, (1.95, 1.55), hand_at=(1.95, 2.0, 1.0), hand_from=4.0, hand_to=6.0):
        a.history.add(s)
    a.on_plate_event(event(LIP_PLATE, 1.2, -8.1, 0.5))
    a.on_plate_event(replace(event(WATER_PLATE, 4.5, 1.7, 4.4), unchanged=True))
    back = sum(h.probability for h in a.last_record.hypotheses if h.effects().get("tok-a", {}).get(LIP_BALM, 0) < 0)
    assert 0.005 < back < 0.1
    assert [(ln.sku, ln.quantity) for ln in a.basket("tok-a").lines] == [(LIP_BALM, 1)]


def test_a_basket_names_what_it_may_hold_beyond_its_lines(store, catalog):
    # Both bottles read as A's; B, at the plate with no arm seen, may have taken one. B's
    # basket has no line for it, so Basket.maybe names it (with the chance it is B's), and
    # A's basket, whose two bottles are sure to be no more, names nothing.
    a = _beside_a_reach(store, catalog, (2.4, 1.8))
    a.on_plate_event(event(WATER_PLATE, 4.5, -1040.0))
    b_took = sum(h.probability for h in a.last_record.hypotheses if h.effects().get("tok-b", {}).get(WATER, 0) > 0)
    assert 0.03 < b_took < 0.5
    (maybe,) = a.basket("tok-b").maybe
    assert (maybe.sku, maybe.quantity, maybe.unit_price_cents) == (WATER, 1, catalog.by_sku[WATER].price_cents)
    assert abs(maybe.probability - b_took) < 1e-9 and a.basket("tok-b").lines == []
    assert a.basket("tok-a").maybe == []
    # a bystander far from the plate is not worth a reviewer's look
    far = _beside_a_reach(store, catalog, (3.6, 1.0))
    far.on_plate_event(event(WATER_PLATE, 4.5, -1040.0))
    assert far.basket("tok-b").maybe == []


def test_a_shopper_at_the_plate_with_no_arm_seen_may_have_taken_one_of_two(store, catalog):
    # The fresh suite's knock 13128: two bottles gone in one change; A's arm at the plate,
    # B standing 0.2 m from its front with no arm seen (from above, the head hides an arm
    # reaching down right under it). One bottle each stays a real alternative: neither
    # receipt is approved on "both by A" (it read 0.994, and was wrong).
    a = _beside_a_reach(store, catalog, (2.4, 1.8))
    a.on_plate_event(event(WATER_PLATE, 4.5, -1040.0))
    shared = sum(h.probability for h in a.last_record.hypotheses if sorted(h.effects()) == ["tok-a", "tok-b"])
    assert a.last_record.best.session == "tok-a" and 0.03 < shared < 0.3
    assert a.basket("tok-a").confidence < 0.98 and a.basket("tok-b").confidence < 0.98
    # Just past hidden_arm_m (the fresh suite's noisy 15014: a taker 0.32 m out, no arm
    # seen) the doubt fades, it does not stop: farther out, less of an arm hides under a head.
    def one_each(b_front_m: float) -> float:
        a = _beside_a_reach(store, catalog, (2.4, 2.0 - b_front_m))
        a.on_plate_event(event(WATER_PLATE, 4.5, -1040.0))
        assert a.basket("tok-b").confidence < 0.98 or b_front_m > 0.4
        return sum(h.probability for h in a.last_record.hypotheses if sorted(h.effects()) == ["tok-a", "tok-b"])

    near, past, far = one_each(0.25), one_each(0.32), one_each(0.6)
    assert near > past > 0.02 and far < 0.005
    # One bottle: one act explains it, and B is not thought to have taken anything
    a = _beside_a_reach(store, catalog, (2.4, 1.8))
    a.on_plate_event(event(WATER_PLATE, 4.5, -521.0))
    assert a.basket("tok-b").confidence > 0.98


def test_a_shopper_whose_arm_is_seen_at_the_plate_beside_has_no_hidden_arm_here(store, catalog):
    # The fresh suite's knock 13244: a shopper close to the plate's front, with no arm seen
    # at it, reached into another plate meanwhile (its arm seen there). Its arm is not the
    # one hidden under its head at this plate: "one bottle each" weighs nothing.
    a = _beside_a_reach(store, catalog, (2.4, 1.8), b_hand=(2.6, 2.0, 1.0))  # at the cola plate beside
    a.on_plate_event(event(WATER_PLATE, 4.5, -1040.0))
    shared = sum(h.probability for h in a.last_record.hypotheses if sorted(h.effects()) == ["tok-a", "tok-b"])
    assert a.last_record.best.effects() == {"tok-a": {WATER: 2}} and shared < 0.005
    b = next(c for c in a.last_record.candidates if c.session_token == "tok-b")
    assert b.hand_distance_m > 0.15  # not at the water plate


def _holding_soup(store, catalog):
    """A (tok-a) took a soup can (305 g) at t=4.5 and walked to the cola plate."""
    a = make(store, catalog)
    for s in standing("A", "tok-a", 0.0, 8.0, (3.35, 3.1), hand_at=(3.35, 2.8, 1.0), hand_from=4.0, hand_to=6.0):
        a.history.add(s)
    a.on_plate_event(event(SOUP_PLATE, 4.5, -305.0))
    return a


def test_one_puts_back_while_another_takes_in_one_disturbance(store, catalog):
    # A puts the soup back on the cola plate while B takes a cola: the plate reads -47 g,
    # which no product explains, but a put-back beside a take does.
    a = _holding_soup(store, catalog)
    for tid, tok, x in (("A", "tok-a", 2.5), ("B", "tok-b", 2.85)):
        for s in standing(tid, tok, 20.0, 28.0, (x, 1.55), hand_at=(x, 2.0, 1.0), hand_from=24.0, hand_to=26.0):
            a.history.add(s)
    items, _ = a.on_plate_event(event(COLA_PLATE, 24.5, -47.0))
    acts = {(x.session, x.action, x.items) for x in a.last_record.best.acts}
    assert acts == {("tok-a", ItemEvent.RETURN, ((SOUP, "tok-a", 1),)), ("tok-b", ItemEvent.TAKE, ((COLA, "", 1),))}
    assert sorted((i.session_token, i.action, i.sku) for i in items) == [("tok-a", ItemEvent.RETURN, SOUP), ("tok-b", ItemEvent.TAKE, COLA)]
    assert a.basket("tok-a").lines == [] and [(ln.sku, ln.quantity) for ln in a.basket("tok-b").lines] == [(COLA, 1)]
    assert not a.basket("tok-a").review_reasons and not a.basket("tok-b").review_reasons


@pytest.mark.parametrize("bump", [0.0, 306.0, 900.0])
def test_a_unit_put_back_and_taken_at_once_by_another_is_never_read_as_nothing(store, catalog, bump):
    # A, holding a soup can, and B both reach into the cola plate, which settles back where
    # it was (+0.4 g). A may have put the soup back and B taken it at once: their net change
    # is none. With nothing more to go on that is a small doubt (a reach moves something
    # half the time, a tenth of those put a unit back; `slow` 39127: an orange juice handed
    # across its plate so, in two slow reaches). If the plate held 306 g more for a moment,
    # quietly (a unit lying there, no hand: PlateEvent.beyond_g of an unchanged event), it
    # is a likely reading, and neither receipt may be approved as it stands (`putback`
    # 39004: both wrong at 0.998 and 0.987). A bump no unit in reach reaches (900 g) is a
    # hand's: nothing moved.
    a = _holding_soup(store, catalog)
    a.open_session("tok-a", 0.0)
    a.open_session("tok-b", 0.0)
    for tid, tok, x in (("A", "tok-a", 2.5), ("B", "tok-b", 2.85)):
        for s in standing(tid, tok, 20.0, 28.0, (x, 1.55), hand_at=(x, 2.0, 1.0), hand_from=24.0, hand_to=26.0):
            a.history.add(s)
    a.on_plate_event(replace(event(COLA_PLATE, 24.5, 0.4, 0.6), unchanged=True, beyond_g=bump))
    rec = a.last_record if a.last_record.event.plate_id == COLA_PLATE else None  # none: a touch, no record
    moved = sum(h.probability for h in rec.hypotheses if h.effects().get("tok-b", {}).get(SOUP, 0) > 0) if rec else 0.0
    if bump == 306.0:
        assert 0.1 < moved < 0.9
        assert a.basket("tok-a").confidence < 0.9 and a.basket("tok-b").confidence < 0.9
        assert [(m.sku, m.quantity) for m in a.basket("tok-b").maybe] == [(SOUP, 1)]
    elif bump == 0.0:
        assert 0.005 < moved < 0.05
        assert 0.95 < a.basket("tok-b").confidence < 0.995
    else:
        assert moved < 1e-3
        assert a.basket("tok-a").confidence > 0.98 and a.basket("tok-b").confidence > 0.98
    assert [(ln.sku, ln.quantity) for ln in a.basket("tok-a").lines] == [(SOUP, 1)]
    # one shopper alone at the plate hands nothing across it
    alone = _holding_soup(store, catalog)
    alone.open_session("tok-a", 0.0)
    for s in standing("A", "tok-a", 20.0, 28.0, (2.5, 1.55), hand_at=(2.5, 2.0, 1.0), hand_from=24.0, hand_to=26.0):
        alone.history.add(s)
    alone.on_plate_event(replace(event(COLA_PLATE, 24.5, 0.4, 0.6), unchanged=True))
    assert [(ln.sku, ln.quantity) for ln in alone.basket("tok-a").lines] == [(SOUP, 1)] and alone.basket("tok-a").confidence > 0.98


def _took_water_then_both_reach(store, catalog, n: int, arms_from: float, arms_to: float) -> Associator:
    """A (tok-a) took `n` waters at t=4.5; later A and B (tok-b) both have an arm at the
    water plate from `arms_from` to `arms_to`."""
    a = make(store, catalog)
    for s in standing("A", "tok-a", 0.0, 8.0, (1.8, 1.55), hand_at=(1.8, 2.0, 1.0), hand_from=4.0, hand_to=6.0):
        a.history.add(s)
    a.on_plate_event(event(WATER_PLATE, 4.5, -520.0 * n))
    for tid, tok, x in (("A", "tok-a", 1.8), ("B", "tok-b", 2.15)):
        for s in standing(tid, tok, 20.0, 28.0, (x, 1.55), hand_at=(x, 2.0, 1.0), hand_from=arms_from, hand_to=arms_to):
            a.history.add(s)
    return a


def test_a_put_back_hiding_a_take_is_never_confidently_one_return(store, catalog):
    # A took two waters; A puts both back while B takes one, both arms at the plate: the
    # plate reads +520 g, as if A put one back. That reading must not be certain: the
    # mixed one keeps its weight (two arms there all through the change: P(two actors)
    # 0.81; two units in one reach: count_decay 0.162, both fitted on the library), and
    # neither basket is above 0.99.
    a = _took_water_then_both_reach(store, catalog, 2, 24.0, 26.0)
    a.on_plate_event(event(WATER_PLATE, 24.5, +520.0))
    mixed = [h for h in a.last_record.hypotheses if {x.action for x in h.acts} == {ItemEvent.TAKE, ItemEvent.RETURN}]
    assert any(h.effects() == {"tok-a": {WATER: -2}, "tok-b": {WATER: 1}} and h.probability > 0.005 for h in mixed)
    assert a.last_record.best.probability < 0.99
    assert a.basket("tok-a").confidence < 0.99 and a.basket("tok-b").confidence < 0.99


def _alone_at_the_cola_plate(store, catalog) -> Associator:
    """A stands alone at the cola plate, an arm at it 4-6 s and again 34-36 s."""
    a = make(store, catalog)
    for t0, t1, h0, h1 in ((0.0, 30.0, 4.0, 6.0), (30.0, 40.0, 34.0, 36.0)):
        for s in standing("A", "tok-a", t0, t1, (2.65, 1.55), hand_at=(2.65, 2.0, 1.0), hand_from=h0, hand_to=h1):
            a.history.add(s)
    a.open_session("tok-a", 0.0)
    return a


def test_a_near_twin_taken_and_put_back_leaves_no_doubt(store, catalog):
    # Alone at the cola plate, A takes a bottle (cola 352 g or lemon soda 362 g: the plate
    # reads 357 g) and later puts it back. Which one it was stays unknown, but the basket
    # ends empty either way: a shopper can only put back what they took.
    a = _alone_at_the_cola_plate(store, catalog)
    a.on_plate_event(event(COLA_PLATE, 4.5, -357.0))
    taken = a.last_record.best.probability
    assert taken < 0.8 and a.basket("tok-a").confidence < 0.8
    a.on_plate_event(event(COLA_PLATE, 34.5, +357.0))
    assert {COLA, LEMON} <= {sku for h in a.last_record.hypotheses for sku, n in h.effects().get("tok-a", {}).items() if n < 0}
    basket = a.basket("tok-a")
    assert basket.lines == [] and basket.confidence > 0.99


def test_a_put_back_decides_which_twin_was_taken(store, catalog):
    # Alone at the cola plate, A takes a bottle that reads nearer cola (352 g) than lemon
    # soda (362 g), and later puts one back that reads nearer lemon soda. One by one that
    # is a cola taken and a lemon soda returned that was never taken; jointly, a shopper
    # puts back only what they took, so it was one bottle taken and put back either way.
    a = _alone_at_the_cola_plate(store, catalog)
    a.on_plate_event(event(COLA_PLATE, 4.5, -354.5, std=0.5))
    assert a.last_record.best.effects() == {"tok-a": {COLA: 1}}
    a.on_plate_event(event(COLA_PLATE, 34.5, +361.5, std=0.5))
    assert a.last_record.best.effects() == {"tok-a": {LEMON: -1}}  # read on its own
    basket = a.basket("tok-a")
    assert basket.lines == [] and not any("returned than taken" in r for r in basket.review_reasons)
    assert 0.5 < basket.confidence < 0.98  # the likeliest; a lemon soda from elsewhere is not ruled out


def test_one_shopper_swapping_a_product(store, catalog):
    # Alone at the cola plate, A puts the soup back and takes a cola in one reach.
    a = _holding_soup(store, catalog)
    for s in standing("A", "tok-a", 20.0, 28.0, (2.65, 1.55), hand_at=(2.65, 2.0, 1.0), hand_from=24.0, hand_to=26.0):
        a.history.add(s)
    a.on_plate_event(event(COLA_PLATE, 24.5, -47.0))
    assert a.last_record.best.effects() == {"tok-a": {SOUP: -1, COLA: 1}}
    assert [(ln.sku, ln.quantity) for ln in a.basket("tok-a").lines] == [(COLA, 1)]


def lifted_and_put_back(plate, t, dip, delta=2.0):
    """A disturbance that ended where it began after the plate held `dip` g less."""
    return PlateEvent(plate, plate.rsplit("-", 1)[0], t, t + 3.0, delta, 1.5, dip_g=dip)


def _alone_at_water(store, catalog) -> Associator:
    a = make(store, catalog)
    for s in standing("A", "tok-a", 0.0, 10.0, (1.95, 1.55), hand_at=(1.95, 2.0, 1.0), hand_from=4.0, hand_to=7.5):
        a.history.add(s)
    a.open_session("tok-a", 0.0)
    return a


def test_lifted_and_put_back_by_one_shopper_changes_no_basket(store, catalog):
    a = _alone_at_water(store, catalog)
    items, _ = a.on_plate_event(lifted_and_put_back(WATER_PLATE, 4.5, 480.0))
    assert a.last_record.best.effects() == {}
    assert sorted((i.action, i.sku, i.session_token) for i in items) == [(ItemEvent.TAKE, WATER, "tok-a"), (ItemEvent.RETURN, WATER, "tok-a")]
    assert all("the plate dipped 480 g" in i.note for i in items)
    basket = a.basket("tok-a")
    assert basket.lines == [] and basket.confidence > 0.99 and not basket.review_reasons


def test_a_take_hidden_by_another_shoppers_put_back_is_never_certain(store, catalog):
    # A took a water; later A and B both reach the water plate, which dips (at least
    # 400 g: slow hands overlap) and comes back. A may have lifted one and put it back, or
    # B took one while A put theirs back: neither basket may be approved as it stands.
    a = _took_water_then_both_reach(store, catalog, 1, 23.0, 27.0)
    a.on_plate_event(lifted_and_put_back(WATER_PLATE, 24.0, 400.0))
    hyps = a.last_record.hypotheses
    hidden = [h.probability for h in hyps if h.effects() == {"tok-a": {WATER: -1}, "tok-b": {WATER: 1}}]
    assert hidden and hidden[0] > 0.02
    assert a.last_record.best.effects() == {}  # most likely one shopper lifted and put back
    # B held no water: B putting one back while A took is no hypothesis
    assert not any(h.effects().get("tok-b", {}).get(WATER, 0) < 0 for h in hyps)
    assert a.basket("tok-a").confidence < 0.98 and a.basket("tok-b").confidence < 0.98
    assert [(ln.sku, ln.quantity) for ln in a.basket("tok-a").lines] == [(WATER, 1)] and a.basket("tok-b").lines == []


def test_a_dip_deeper_than_anything_on_the_plate_is_unexplained(store, catalog):
    a = _alone_at_water(store, catalog)
    a.on_plate_event(lifted_and_put_back(WATER_PLATE, 4.5, 5000.0))
    assert any("dip of 5000 g" in r for r in a.basket("tok-a").review_reasons)


def reach_past(store, catalog, arm_from: float, delta: float = -521.0) -> Associator:
    """A stands at the water plate with an arm at it from `arm_from` (the change of `delta`
    is 4.5-5.5 s); B stands right behind A, whose arm seen from above could be B's reaching past."""
    a = make(store, catalog)
    for s in standing("A", "tok-a", 0.0, 8.0, (1.95, 1.6), hand_at=(1.95, 2.0, 1.0), hand_from=arm_from, hand_to=6.0):
        a.history.add(s)
    for s in standing("B", "tok-b", 0.0, 8.0, (2.0, 1.2)):
        a.history.add(s)
    a.on_plate_event(event(WATER_PLATE, 4.5, delta))
    return a


def test_an_arm_reaching_past_a_nearer_shopper_keeps_the_take_uncertain(store, catalog):
    # A's arm is at the plate only in the second half of the change: B behind may own it
    a = reach_past(store, catalog, arm_from=5.05)
    assert a.last_record.best.session == "tok-a"
    p_b = sum(h.probability for h in a.last_record.hypotheses if "tok-b" in h.effects())
    assert p_b > 0.05
    assert a.basket("tok-a").confidence < 0.98 and a.basket("tok-b").confidence < 0.98  # a reviewer's call


def test_the_less_of_the_nearer_arm_is_seen_the_likelier_the_one_reaching_past(store, catalog):
    def p_b(arm_from: float) -> float:
        a = reach_past(store, catalog, arm_from)
        return sum(h.probability for h in a.last_record.hypotheses if "tok-b" in h.effects())

    full, half = p_b(4.0), p_b(5.05)
    assert 0.0 < full < half


def test_one_arm_seen_is_one_hand_not_two_shoppers_sharing_a_take(store, catalog):
    # A's arm is at the plate the whole change; B behind A may own it (reaching past), but
    # one arm can't be both shoppers' at once: two waters went to one of them, not one each.
    a = reach_past(store, catalog, arm_from=4.0, delta=-1041.0)
    shared = sum(h.probability for h in a.last_record.hypotheses if len(h.effects()) == 2)
    assert a.last_record.best.effects() == {"tok-a": {WATER: 2}}
    assert shared < 0.01


def test_the_shipped_config_is_the_defaults():
    # a re-fitted parameter lands in both the dataclass and the node's config file
    from pathlib import Path

    import yaml

    path = Path(__file__).resolve().parents[1] / "config" / "association_node.yaml"
    shipped = yaml.safe_load(path.read_text())["/**"]["ros__parameters"]
    defaults = AssociationParams()
    assert {k: v for k, v in shipped.items() if getattr(defaults, k) != v} == {}


def test_a_shopper_nobody_saw_during_the_change_may_have_made_it(store, catalog):
    # A stands at the plate, seen, with no arm out; B is lost (a dark camera) just beside.
    from walkout_common.types import LOST

    a = make(store, catalog)
    for s in standing("A", "tok-a", 0.0, 8.0, (1.95, 1.55)):
        a.history.add(s)
    for s in standing("B", "tok-b", 0.0, 8.0, (2.3, 1.6), state=LOST):
        a.history.add(s)
    a.on_plate_event(event(WATER_PLATE, 4.5, -521.0))
    # neither is charged without a reviewer; the unseen one is the likelier (A was seen armless)
    assert a.basket("tok-a").confidence < 0.98 and a.basket("tok-b").confidence < 0.98
    p_b = sum(h.probability for h in a.last_record.hypotheses if "tok-b" in h.effects())
    assert p_b > 0.5


def test_put_back_elsewhere_then_taken_by_another(store, catalog):
    a = make(store, catalog)
    for s in standing("A", "tok-a", 0.0, 30.0, (1.95, 1.55), hand_at=(1.95, 2.0, 1.0), hand_from=4.0, hand_to=6.0):
        a.history.add(s)
    a.on_plate_event(event(WATER_PLATE, 4.5, -519.0))
    # A walks round to the soup plate on the other face and puts the water there.
    for s in standing("A", "tok-a", 30.0, 40.0, (3.35, 3.1), hand_at=(3.35, 2.8, 1.0), hand_from=34.0, hand_to=36.0):
        a.history.add(s)
    items, _ = a.on_plate_event(event(SOUP_PLATE, 34.5, +522.0))
    assert items[0].action == ItemEvent.RETURN and items[0].sku == WATER
    assert a.basket("tok-a").lines == [] and a.basket("tok-a").confidence > 0.9
    # B later takes the foreign water from the soup plate: billed as water, not soup.
    for s in standing("B", "tok-b", 40.0, 60.0, (3.35, 3.1), hand_at=(3.35, 2.8, 1.0), hand_from=50.0, hand_to=52.0):
        a.history.add(s)
    items, _ = a.on_plate_event(event(SOUP_PLATE, 50.5, -520.0))
    assert items[0].sku == WATER and items[0].session_token == "tok-b"
    assert [(ln.sku, ln.quantity) for ln in a.basket("tok-b").lines] == [(WATER, 1)]


def _group_take_then_return(store, catalog, taker_leaves: bool):
    """A1 and A2 shop as one group: A1 takes a water and hands it to A2; A1 leaves (or
    not), then A2 puts the water back."""
    a = make(store, catalog)
    a.observe_tracks([snap("A1", "grp", 0.0, (1.0, 0.5)), snap("A2", "grp", 0.0, (1.3, 0.5))])
    for s in standing("A1", "grp", 0.1, 8.0, (1.95, 1.55), hand_at=(1.95, 2.0, 1.0), hand_from=4.0, hand_to=6.0):
        a.history.add(s)
    a.on_plate_event(event(WATER_PLATE, 4.5, -520.0))
    if taker_leaves:
        a.observe_tracks([snap("A1", "grp", 10.0, (5.0, 0.1), state=EXITED)])
    for s in standing("A2", "grp", 20.0, 28.0, (1.95, 1.55), hand_at=(1.95, 2.0, 1.0), hand_from=24.0, hand_to=26.0):
        a.history.add(s)
    items, _ = a.on_plate_event(event(WATER_PLATE, 24.5, +521.0))
    assert items[0].action == ItemEvent.RETURN and items[0].sku == WATER and items[0].session_token == "grp"
    return a


def test_a_group_members_take_stays_billed_once_they_left(store, catalog):
    # Billing is per person: put back after its taker left, the water stays on the receipt.
    basket = _group_take_then_return(store, catalog, taker_leaves=True).basket("grp")
    assert [(ln.sku, ln.quantity) for ln in basket.lines] == [(WATER, 1)]
    assert not basket.review_reasons and basket.confidence > 0.95
    # while its taker is still in the store, the same put-back takes it off
    basket = _group_take_then_return(store, catalog, taker_leaves=False).basket("grp")
    assert basket.lines == [] and not basket.review_reasons and basket.confidence > 0.95


@pytest.mark.parametrize("likelier_leaves", [False, True])
def test_a_group_put_back_is_as_doubtful_as_which_member_took_the_unit(store, catalog, likelier_leaves):
    # A1 and A2 of one group both reach into the water plate as it loses one water: either
    # took it. The record names the likelier; one of them leaves; then the other puts a
    # water back. Had the one who left taken it, it stays billed (billing rule), else it
    # comes off: the put-back must not be read as certain either way.
    a = make(store, catalog)
    a.observe_tracks([snap("A1", "grp", 0.0, (1.0, 0.5)), snap("A2", "grp", 0.0, (1.3, 0.5))])
    for who, x, y in (("A1", 1.8, 1.45), ("A2", 2.05, 1.55)):
        for s in standing(who, "grp", 0.1, 8.0, (x, y), hand_at=(x, 2.0, 1.0), hand_from=4.0, hand_to=6.0):
            a.history.add(s)
    a.on_plate_event(event(WATER_PLATE, 4.5, -520.0))
    shares = {c.track_id: c.probability / sum(d.probability for d in a.last_record.candidates if d.session_token == "grp")
              for c in a.last_record.candidates if c.session_token == "grp"}
    named = a.last_record.best.acts[0].track_id
    other = next(t for t in shares if t != named)
    assert 0.1 < shares[other] < 0.5  # a real doubt, the named one likelier
    leaves, stays = (named, other) if likelier_leaves else (other, named)
    a.observe_tracks([snap(leaves, "grp", 10.0, (5.0, 0.1), state=EXITED)])
    for s in standing(stays, "grp", 20.0, 28.0, (1.95, 1.55), hand_at=(1.95, 2.0, 1.0), hand_from=24.0, hand_to=26.0):
        a.history.add(s)
    a.on_plate_event(event(WATER_PLATE, 24.5, +521.0))
    kept = sum(h.probability for h in a.last_record.hypotheses if h.effects() == {})
    assert kept == pytest.approx(shares[leaves], abs=0.05)
    basket = a.basket("grp")
    if likelier_leaves:  # likely its taker's, who left: billed, in doubt
        assert [(ln.sku, ln.quantity) for ln in basket.lines] == [(WATER, 1)] and 0.5 < basket.confidence < 0.8
    else:  # likely the one still here took it: off the receipt, in doubt
        assert basket.lines == [] and 0.5 < basket.confidence < 0.8 and any(ln.sku == WATER for ln in basket.maybe)


def _water_taken_and_handed(store, catalog, hands_meet: bool = True) -> Associator:
    """A takes a water at 4.5 s; from 8.0 s A and B stand side by side, A handing it to B
    (their hands meet between them) or not."""
    a = make(store, catalog)
    a.observe_tracks([snap("A", "tok-a", 0.0, (1.0, 0.5)), snap("B", "tok-b", 0.0, (1.3, 0.5))])
    for s in standing("A", "tok-a", 0.1, 7.9, (1.95, 1.55), hand_at=(1.95, 2.0, 1.0), hand_from=4.0, hand_to=6.0):
        a.history.add(s)
    a.on_plate_event(event(WATER_PLATE, 4.5, -520.0))
    for t in (8.0, 8.1, 8.2):
        a.observe_tracks([snap("A", "tok-a", t, (2.5, 1.0), hands=[(2.85, 1.0, 1.1)] if hands_meet else []),
                          snap("B", "tok-b", t, (3.2, 1.0), hands=[(2.9, 1.0, 1.1)] if hands_meet else [])])
    return a


def test_an_item_handed_over_and_put_back_after_its_taker_left_stays_billed(store, catalog):
    a = _water_taken_and_handed(store, catalog)  # then A leaves
    closed = a.observe_tracks([snap("A", "tok-a", 10.0, (5.0, 0.1), state=EXITED)])
    assert [(ln.sku, ln.quantity) for ln in closed[0].lines] == [(WATER, 1)]
    for s in standing("B", "tok-b", 20.0, 28.0, (1.95, 1.55), hand_at=(1.95, 2.0, 1.0), hand_from=24.0, hand_to=26.0):
        a.history.add(s)
    items, _ = a.on_plate_event(event(WATER_PLATE, 24.5, +521.0))
    # B put back A's water: it stays on A's receipt and changes no basket (not "a return
    # that matches no basket")
    assert items[0].action == ItemEvent.RETURN and items[0].sku == WATER and items[0].session_token == "tok-b"
    assert a.last_record.best.effects() == {} and "stays on its receipt" in items[0].note
    assert [(ln.sku, ln.quantity) for ln in a.basket("tok-a").lines] == [(WATER, 1)]
    basket_b = a.basket("tok-b")
    assert basket_b.lines == [] and not basket_b.review_reasons
    # a later shopper never met A: they cannot have been handed A's water
    a.observe_tracks([snap("C", "tok-c", 30.0, (1.0, 0.5))])
    for s in standing("C", "tok-c", 40.0, 48.0, (1.95, 1.55), hand_at=(1.95, 2.0, 1.0), hand_from=44.0, hand_to=46.0):
        a.history.add(s)
    a.on_plate_event(event(WATER_PLATE, 44.5, +520.0))
    assert all(h.effects() for h in a.last_record.hypotheses if h.session == "tok-c" and not h.is_nothing)
    assert a.basket("tok-c").review_reasons


def test_every_shopper_who_may_have_taken_it_has_the_doubt_on_their_receipt(store, catalog):
    # Seven shoppers stand around a plate, no arm seen at it, when a water is taken: each
    # may have taken it. Beyond the likeliest four, each shopper this likely (actor_keep_p)
    # keeps their reading, so their receipt carries its doubt; cut at four, the other
    # three read 1.000 sure they took nothing, and their share went to the four.
    spots = [(1.95, 1.55), (1.6, 1.5), (2.3, 1.5), (1.95, 1.2), (1.5, 1.25), (2.45, 1.2), (1.95, 0.9)]

    def read(**params):
        a = make(store, catalog, **params)
        for i, xy in enumerate(spots):
            a.observe_tracks([snap(f"T{i}", f"tok-{i}", 0.0, xy)])
            for s in standing(f"T{i}", f"tok-{i}", 0.1, 8.0, xy):
                a.history.add(s)
        a.on_plate_event(event(WATER_PLATE, 4.5, -520.0))
        cands = {c.session_token: c.probability for c in a.last_record.candidates}
        return cands, {t: a.basket(t).confidence for t in cands}

    cands, sure = read()
    assert len(cands) == 7 and min(cands.values()) > 0.03
    billed = max(cands, key=cands.get)  # the water goes on the likeliest one's receipt, as sure as that
    for token, p in cands.items():
        assert sure[token] == pytest.approx(p if token == billed else 1.0 - p, abs=0.01)
    _, cut = read(actor_keep_p=1.0)
    assert sorted(cut.values())[-3:] == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("hands_met", [True, False])
def test_a_hand_over_partners_put_back_still_undecided_at_the_exit_is_waited_for(store, catalog, hands_met):
    # A takes a water and hands it to B (their hands meet), B puts it back from 13.5 s and
    # A leaves at 14.0 s, before the plate's change is decided (a second later): A's
    # session waits for it, and closes without the water. Had their hands never met, B at
    # the plate is no reason to hold A's receipt.
    a = _water_taken_and_handed(store, catalog, hands_met)
    for s in standing("B", "tok-b", 8.3, 15.0, (1.95, 1.55), hand_at=(1.95, 2.0, 1.0), hand_from=13.0, hand_to=14.0):
        a.history.add(s)
    assert a.note_unsettled(replace(event(WATER_PLATE, 13.5, +521.0), settled=False, end=13.9)) == []
    closed = [b for b in a.observe_tracks([snap("A", "tok-a", 14.0, (5.0, 0.1), state=EXITED)]) if not b.open]
    if not hands_met:
        assert [(b.session_token, [(ln.sku, ln.quantity) for ln in b.lines]) for b in closed] == [("tok-a", [(WATER, 1)])]
        return
    assert closed == []  # waiting for the plate B is at
    a.note_unsettled(replace(event(WATER_PLATE, 13.5, +521.0), settled=False, end=14.6))
    a.on_plate_event(event(WATER_PLATE, 13.5, +521.0))
    (done,) = [b for b in a.observe_tracks([snap("C", "tok-c", 15.2, (3.0, 0.5))]) if not b.open]
    assert done.session_token == "tok-a" and done.stamp == 14.0 and done.lines == []


def test_an_item_comes_back_from_another_basket_only_after_a_hand_over(store, catalog):
    def returned_by_b(hands_meet: bool) -> float:
        """P(B's put-back was A's water) after A took one and A and B stood side by side."""
        a = make(store, catalog)
        for s in standing("A", "tok-a", 0.0, 8.0, (1.95, 1.55), hand_at=(1.95, 2.0, 1.0), hand_from=4.0, hand_to=6.0):
            a.history.add(s)
        a.observe_tracks([snap("A", "tok-a", 0.0, (1.95, 1.55)), snap("B", "tok-b", 0.0, (3.0, 1.55))])
        a.on_plate_event(event(WATER_PLATE, 4.5, -520.0))
        for t in (8.0, 8.1, 8.2):  # side by side; their hands meet only in the hand-over
            hand = [(2.5, 1.55, 1.1)] if hands_meet else []
            a.observe_tracks([snap("A", "tok-a", t, (2.2, 1.55), hands=hand), snap("B", "tok-b", t, (2.8, 1.55), hands=hand)])
        for s in standing("B", "tok-b", 10.0, 18.0, (1.95, 1.55), hand_at=(1.95, 2.0, 1.0), hand_from=14.0, hand_to=16.0):
            a.history.add(s)
        a.on_plate_event(event(WATER_PLATE, 14.5, +521.0))
        return sum(h.probability for h in a.last_record.hypotheses if h.effects().get("tok-a"))

    assert returned_by_b(True) > 0.9
    assert returned_by_b(False) < 0.5


def test_unexplained_change_sends_to_review(store, catalog):
    a = make(store, catalog)
    for s in standing("A", "tok-a", 0.0, 8.0, (1.95, 1.55), hand_at=(1.95, 2.0, 1.0), hand_from=4.0, hand_to=6.0):
        a.history.add(s)
    a.on_plate_event(event(WATER_PLATE, 4.5, -260.0))  # half a bottle: no product of this plate weighs that
    basket = a.basket("tok-a")
    # Some mix of other plates' products may fit the grams, but never confidently.
    assert basket.review_reasons or basket.confidence < 0.9


def test_a_change_no_unit_could_be_holds_no_receipt(store, catalog):
    # -6 g on the water plate (520 g bottles): no bottle, whoever's hand it was (a noisy
    # plate's phantom held `lost` 5013's exact receipt at 1.000 as "unexplained"; half a
    # bottle still is, test_unexplained_change_sends_to_review).
    a = make(store, catalog)
    a.open_session("tok-a", 0.0)
    for s in standing("A", "tok-a", 0.0, 8.0, (1.95, 1.55), hand_at=(1.95, 2.0, 1.0), hand_from=4.0, hand_to=6.0):
        a.history.add(s)
    a.on_plate_event(event(WATER_PLATE, 4.5, -6.0))
    basket = a.basket("tok-a")
    assert basket.review_reasons == [] and basket.lines == []
    assert basket.confidence > 0.95  # (an off-planogram 8 g lip balm keeps a little doubt: the what-model's)
    # +5 g put down by a shopper holding nothing under 10 g: no unit of theirs either; one
    # holding a lip balm (8 g) may have put it back, and the receipt says so
    for light in (False, True):
        a = make(store, catalog)
        a.open_session("tok-a", 0.0)
        plate, hand, xy = (LIP_PLATE, (4.4, 4.1, 1.5), (4.4, 3.65)) if light else (WATER_PLATE, (1.95, 2.0, 1.0), (1.95, 1.55))
        for s in standing("A", "tok-a", 0.0, 3.0, xy, hand_at=hand, hand_from=1.0, hand_to=2.5):
            a.history.add(s)
        for s in standing("A", "tok-a", 3.0, 8.0, (1.95, 1.55), hand_at=(1.95, 2.0, 1.0), hand_from=4.0, hand_to=6.0):
            a.history.add(s)
        a.on_plate_event(event(plate, 1.2, -8.1 if light else -520.0, 0.5))
        before = a.basket("tok-a").confidence
        a.on_plate_event(event(WATER_PLATE, 4.5, 5.0))
        basket = a.basket("tok-a")
        assert before > 0.98
        if light:
            assert basket.review_reasons or basket.confidence < 0.98
        else:
            assert len(basket.lines) == 1 and basket.review_reasons == [] and basket.confidence > 0.95
    # Nor a shopper whose track was not yet bound then (crowding 5349): the little doubt
    # that they took something billed to nobody is in their confidence, not a reason.
    u = make(store, catalog)
    for s in standing("U", "", 0.0, 8.0, (1.95, 1.55), hand_at=(1.95, 2.0, 1.0), hand_from=4.0, hand_to=6.0):
        u.observe_tracks([s])
    u.on_plate_event(event(WATER_PLATE, 4.5, -5.0))
    lip = sum(h.probability for h in u.last_record.hypotheses if not h.is_nothing)
    *_, basket = u.observe_tracks([snap("U", "tok-u", 8.0, (1.95, 1.0), state=EXITED)])
    assert not basket.open and basket.review_reasons == [] and 0.0 < lip < 0.02
    assert 0.95 < basket.confidence < 1.0 - 0.5 * lip


def test_session_closes_when_all_members_exit(store, catalog):
    a = make(store, catalog)
    a.observe_tracks([snap("A", "grp", 1.0, (1.0, 0.5)), snap("B", "grp", 1.0, (1.3, 0.5))])
    assert a.observe_tracks([snap("A", "grp", 20.0, (5.0, 0.1), state=EXITED)]) == []
    closed = a.observe_tracks([snap("B", "grp", 25.0, (5.0, 0.1), state=EXITED)])
    assert len(closed) == 1 and not closed[0].open and closed[0].stamp == 25.0
    assert a.close_session("grp", 26.0) is None  # exactly once


def test_a_group_member_coming_in_after_the_others_left_opens_the_session_again(store, catalog):
    # A walks in and out with the token; B enters with it just after: B's take is the group's.
    a = make(store, catalog)
    a.observe_tracks([snap("A", "grp", 0.0, (1.0, 0.5))])
    first = a.observe_tracks([snap("A", "grp", 3.0, (5.0, 0.1), state=EXITED)])
    assert len(first) == 1 and not first[0].open and first[0].lines == []
    again = a.observe_tracks([snap("B", "grp", 4.5, (1.0, 0.5))])
    assert len(again) == 1 and again[0].open and again[0].stamp == 4.5
    for s in standing("B", "grp", 4.6, 12.0, (1.95, 1.55), hand_at=(1.95, 2.0, 1.0), hand_from=8.0, hand_to=10.0):
        a.history.add(s)
    items, _ = a.on_plate_event(event(WATER_PLATE, 8.5, -521.0))
    assert items[0].session_token == "grp" and items[0].probability > 0.95
    assert a.observe_tracks([snap("A", "grp", 13.0, (5.0, 0.1), state=EXITED)]) == []  # A's exit, heard again
    last = a.observe_tracks([snap("B", "grp", 20.0, (5.0, 0.1), state=EXITED)])
    assert len(last) == 1 and not last[0].open and last[0].stamp == 20.0
    assert [(ln.sku, ln.quantity) for ln in last[0].lines] == [(WATER, 1)]
    # a track bound only as it leaves (it exits in the snapshot that binds it) is no new visit
    assert a.observe_tracks([snap("C", "grp", 21.0, (5.0, 0.1), state=EXITED)]) == []


def test_a_session_waits_for_a_group_members_entry_before_it_closes(store, catalog):
    # B's ENTRY came (the tracker waits to bind it) just before A, the only member bound
    # so far, walks out: the session stays open, and closes once, when B leaves.
    a = make(store, catalog)
    a.observe_tracks([snap("A", "grp", 0.0, (1.0, 0.5))])
    assert a.observe_tracks([snap("A", "grp", 3.0, (5.0, 0.1), state=EXITED)], waiting=["grp"]) == []
    assert a.observe_tracks([], waiting=["grp"]) == [] and "grp" in a.held
    assert a.observe_tracks([snap("B", "grp", 3.9, (1.0, 0.5))]) == []  # bound: the session never closed
    assert a.basket("grp").open and "grp" not in a.held
    last = a.observe_tracks([snap("B", "grp", 9.0, (5.0, 0.1), state=EXITED)])
    assert len(last) == 1 and not last[0].open and last[0].stamp == 9.0
    # an ENTRY that finds no track (it expires): the session closes at the exit of the last one seen
    a.observe_tracks([snap("C", "solo", 10.0, (1.0, 0.5))])
    assert a.observe_tracks([snap("C", "solo", 12.0, (5.0, 0.1), state=EXITED)], waiting=["solo"]) == []
    gone = a.observe_tracks([], waiting=[])
    assert len(gone) == 1 and not gone[0].open and gone[0].stamp == 12.0
    # nor does a tracker that never says the ENTRY bound or expired hold it past exit_wait_s
    a.observe_tracks([snap("D", "stuck", 13.0, (1.0, 0.5))])
    assert a.observe_tracks([snap("D", "stuck", 14.0, (5.0, 0.1), state=EXITED)], waiting=["stuck"]) == []
    late = a.observe_tracks([snap("E", "other", 18.5, (1.0, 0.5))], waiting=["stuck"])
    assert [(b.session_token, b.open, b.stamp) for b in late] == [("other", True, 18.5), ("stuck", False, 14.0)]


def test_a_restarted_associator_carries_the_basket_on(store, catalog):
    from walkout_common.types import Basket, BasketLine

    kept = Basket("tok-a", 10.0, [BasketLine(SOUP, "Tomato soup can", 2, 189, 0.99)], "USD", 0.99, True, [])
    a = make(store, catalog)
    assert a.restore(kept) and not a.restore(kept)
    for s in standing("A", "tok-a", 10.0, 20.0, (1.95, 1.55), hand_at=(1.95, 2.0, 1.0), hand_from=14.0, hand_to=16.0):
        a.history.add(s)
    a.on_plate_event(event(WATER_PLATE, 14.5, -520.0))
    basket = a.basket("tok-a")
    assert sorted((ln.sku, ln.quantity) for ln in basket.lines) == sorted([(SOUP, 2), (WATER, 1)])
    assert 0.95 < basket.confidence <= 0.99


def _choice(store, hands_a: tuple[float, float], hands_b: tuple[float, float] | None, b_xy=(2.3, 1.6)):
    """who_made's features for A (at the water plate, arm at it from hands_a[0] to hands_a[1])
    and B (at b_xy, arm at the plate in hands_b, if any), over a change 4.5-5.5 s."""
    from walkout_association.who import CHOICE_FEATURES, WhoParams, who_made

    tip, tip_b = (1.95, 2.0, 1.0), (2.05, 2.0, 1.0)  # two arms at the plate, 0.1 m apart
    window = {"A": standing("A", "tok-a", 3.0, 7.0, (1.95, 1.6), hand_at=tip, hand_from=hands_a[0], hand_to=hands_a[1]),
              "B": standing("B", "tok-b", 3.0, 7.0, b_xy, hand_at=tip_b if hands_b else None,
                            hand_from=hands_b[0] if hands_b else None, hand_to=hands_b[1] if hands_b else None)}
    cands = who_made(store.plates_by_id[WATER_PLATE], event(WATER_PLATE, 4.5, -521.0), window, WhoParams())
    return {c.session_token: dict(zip(CHOICE_FEATURES, c.features, strict=True)) for c in cands}


def test_an_arm_shown_only_while_another_track_shows_one_is_not_alone(store):
    # B's arm is seen at the plate beside A's for part of the change; A's shows alone
    # the rest of it.
    f = _choice(store, (4.0, 6.0), (4.4, 5.0))
    assert f["tok-b"]["w_near_frac"] > 0.3 and f["tok-b"]["w_alone_frac"] == 0.0
    assert 0.4 < f["tok-a"]["w_alone_frac"] < f["tok-a"]["w_near_frac"] == 1.0


def test_a_hand_one_camera_gave_to_two_shoppers_is_evidence_for_neither(store):
    # A's arm is at the water plate through the change (one camera sees it alone). For
    # part of it another camera cannot tell whose arm it is and gives that hand to both A
    # and B: both tracks carry copies of one tip. Those looks say nothing of which of them
    # it was: B, with no arm of its own at the plate, is no actor for them, and A's case
    # rests on its own looks. Nor is B seen armless there: the hand may be B's, and for a
    # part beside A (two shoppers taking at once, their hands seen from above as one) it
    # counts as B's arm. Two arms seen there (B's 0.1 m beside A's) still count.
    from walkout_association.who import CHOICE_FEATURES, WhoParams, who_made

    plate, own, given = store.plates_by_id[WATER_PLATE], (1.95, 2.0, 1.0), (1.97, 2.01, 1.02)

    def choose(b_tip) -> dict:
        a = [snap("A", "tok-a", float(t), (1.95, 1.6), [own] + ([given] if 4.4 <= t <= 5.0 else [])) for t in np.arange(3.0, 7.0, 0.1)]
        b = [snap("B", "tok-b", float(t), (2.3, 1.6), [b_tip] if 4.4 <= t <= 5.0 else []) for t in np.arange(3.0, 7.0, 0.1)]
        cands = who_made(plate, event(WATER_PLATE, 4.5, -521.0), {"A": a, "B": b}, WhoParams())
        return {c.session_token: (c.probability, dict(zip(CHOICE_FEATURES, c.features, strict=True)), c.share_likelihood) for c in cands}

    one_hand, two_arms, no_arm = choose(given), choose((2.1, 2.0, 1.0)), choose((2.3, 1.2, 1.0))
    assert one_hand["tok-b"][1]["w_near_frac"] == 0.0 and one_hand["tok-a"][1]["w_alone_frac"] == 1.0
    assert one_hand["tok-b"][1]["w_armless_m"] == 0.0
    assert two_arms["tok-b"][1]["w_near_frac"] > 0.3 and two_arms["tok-a"][1]["w_alone_frac"] < 0.6
    assert one_hand["tok-a"][0] > 0.98 > two_arms["tok-a"][0]
    assert one_hand["tok-b"][2] == pytest.approx(two_arms["tok-b"][2], rel=0.2) and one_hand["tok-b"][2] > 10 * no_arm["tok-b"][2]


def test_a_track_seen_with_no_arm_at_the_plate_reports_its_distance(store):
    f = _choice(store, (4.0, 6.0), None, b_xy=(2.7, 1.3))  # beside A, not behind it
    assert f["tok-a"]["w_armless_m"] == 0.0
    assert f["tok-b"]["w_armless_m"] == pytest.approx(store.plates_by_id[WATER_PLATE].distance_to_front(np.array([2.7, 1.3])), abs=0.01)
    far = _choice(store, (4.0, 6.0), None, b_xy=(2.7, 0.4))  # 1.7 m off: hardly in reach, capped
    assert far["tok-b"]["w_armless_m"] == 1.5
    # behind A, its arm may be the one seen as A's: no missing arm counts against it
    behind = _choice(store, (4.0, 6.0), None, b_xy=(2.0, 1.2))
    assert behind["tok-b"]["w_past_frac"] > 0 and behind["tok-b"]["w_armless_m"] == 0.0


def test_a_shopper_walking_by_is_seldom_the_one_who_took(store):
    # A stands at the water plate, its arm there through the change; B's arm is seen there
    # too, 0.1 m beside A's, while B stands beside A at (2.3, 1.6), or while B walks along
    # the shelf at 0.8 m/s, passing that spot mid-change.
    from walkout_association.who import CHOICE_FEATURES, WhoParams, who_made

    tip, tip_b, plate = (1.95, 2.0, 1.0), (2.05, 2.0, 1.0), store.plates_by_id[WATER_PLATE]

    def b_walking(t0: float, t1: float) -> list:
        return [snap("B", "tok-b", float(t), (2.3 + 0.8 * (t - 5.0), 1.6), [tip_b] if 4.4 <= t <= 5.6 else [])
                for t in np.arange(t0, t1, 0.1)]

    def choose(walks: bool, params: WhoParams) -> dict:
        window = {"A": standing("A", "tok-a", 3.0, 7.0, (1.95, 1.6), hand_at=tip, hand_from=4.0, hand_to=6.0),
                  "B": b_walking(3.0, 7.0) if walks else standing("B", "tok-b", 3.0, 7.0, (2.3, 1.6), hand_at=tip_b,
                                                                   hand_from=4.4, hand_to=5.6)}
        cands = who_made(plate, event(WATER_PLATE, 4.5, -521.0), window, params)
        return {c.session_token: (c.probability, dict(zip(CHOICE_FEATURES, c.features, strict=True)), c.share_likelihood)
                for c in cands}

    stands, walks = choose(False, WhoParams()), choose(True, WhoParams())
    assert walks["tok-b"][1]["w_head_speed"] == pytest.approx(0.8, abs=0.05)
    assert walks["tok-a"][1]["w_head_speed"] == stands["tok-b"][1]["w_head_speed"] == 0.0
    assert walks["tok-b"][0] < 0.6 * stands["tok-b"][0] and walks["tok-a"][0] > stands["tok-a"][0]
    # the walk is what tells them apart: without the speed weighed, B is as likely either way
    # nor does a walker take a part of it beside A (a pair of actors weighs B's share)
    assert walks["tok-b"][2] < 0.6 * stands["tok-b"][2]
    blind = WhoParams(w_head_speed=0.0)
    assert choose(True, blind)["tok-b"][0] == pytest.approx(choose(False, blind)["tok-b"][0], rel=0.05)
    assert choose(True, blind)["tok-b"][2] == pytest.approx(choose(False, blind)["tok-b"][2], rel=0.05)


def _two_back_one_taken(store, catalog, beyond: float) -> tuple[Associator, list]:
    """A took two bottles of water alone; later A and B both have an arm at the water plate
    while one bottle comes back (+520 g net), the plate having gone `beyond` g past both ends."""
    a = make(store, catalog)
    for s in standing("A", "tok-a", 0.0, 3.0, (1.8, 1.55), hand_at=(1.8, 2.0, 1.0), hand_from=0.5, hand_to=2.5):
        a.history.add(s)
    a.on_plate_event(event(WATER_PLATE, 1.0, -1040.0))
    for tid, tok, x in (("A", "tok-a", 1.8), ("B", "tok-b", 2.15)):
        for s in standing(tid, tok, 3.0, 8.0, (x, 1.55), hand_at=(x, 2.0, 1.0), hand_from=4.0, hand_to=6.0):
            a.history.add(s)
    a.open_session("tok-b", 3.0)
    items, _ = a.on_plate_event(replace(event(WATER_PLATE, 4.5, 521.0), beyond_g=beyond))
    return a, items


def test_a_plate_going_past_both_ends_weighs_for_a_put_back_beside_a_take(store, catalog):
    def took(a: Associator) -> float:  # P(B took a bottle while A put two back)
        return sum(h.probability for h in a.last_record.hypotheses if h.effects().get("tok-b", {}).get(WATER, 0) > 0)

    (calm, _), (over, items) = _two_back_one_taken(store, catalog, 0.0), _two_back_one_taken(store, catalog, 450.0)
    assert calm.last_record.best.effects() == {"tok-a": {WATER: -1}}
    # up to a bottle above the end: the moment between a put-back of two and a take of one
    assert took(over) > 1.5 * took(calm) and over.basket("tok-b").confidence < calm.basket("tok-b").confidence
    assert all("the plate went 450 g past both ends" in i.note for i in items)  # the reviewer reads why
    # far more than a bottle: no moment between them explains it, a hand does either way
    assert took(_two_back_one_taken(store, catalog, 5000.0)[0]) == pytest.approx(took(calm), rel=1e-6)


def test_a_session_closed_long_after_its_shopper_was_last_seen_goes_to_review(store, catalog):
    # The tracker gives a LOST shopper up as gone after a long while (nobody saw them
    # leave): what they did meanwhile is unknown, so the receipt is held. A shopper seen
    # to the exit is not.
    a = make(store, catalog)
    a.observe_tracks([snap("A", "tok-a", 0.0, (1.0, 0.5)), snap("B", "tok-b", 0.0, (1.3, 0.5))])
    a.observe_tracks([snap("A", "tok-a", 5.0, (2.0, 1.5)), snap("B", "tok-b", 5.0, (2.0, 1.0))])
    a.observe_tracks([snap("A", "tok-a", 6.0, (2.0, 1.5), state=LOST), snap("B", "tok-b", 6.0, (5.0, 0.1), state=EXITED)])
    a.observe_tracks([snap("A", "tok-a", 605.0, (2.0, 1.5), state=LOST)])
    (basket,) = a.observe_tracks([snap("A", "tok-a", 606.0, (2.0, 1.5), state=EXITED)])
    assert basket.session_token == "tok-a" and not basket.open
    assert basket.review_reasons == ["exit not seen: last seen 601 s before the session closed"]
    assert a.basket("tok-b").review_reasons == []


def _leaves_while_plate_disturbed(store, catalog):
    """A takes a water at 4.5 s and is at the exit at 6.0 s, the plate's change still
    undecided (reported unsettled); B, far from that plate, leaves at the same time."""
    a = make(store, catalog)
    a.observe_tracks([snap("A", "tok-a", 0.0, (1.95, 1.55)), snap("B", "tok-b", 0.0, (5.0, 0.5))])
    for s in standing("A", "tok-a", 0.1, 5.95, (1.95, 1.55), hand_at=(1.95, 2.0, 1.0), hand_from=4.0, hand_to=5.0):
        a.history.add(s)
    for s in standing("B", "tok-b", 0.1, 5.95, (5.0, 0.5)):
        a.history.add(s)
    pending = replace(event(WATER_PLATE, 4.5, -521.0), settled=False, end=5.9)
    assert a.note_unsettled(pending) == []
    out = a.observe_tracks([snap("A", "tok-a", 6.0, (5.0, 0.1), state=EXITED), snap("B", "tok-b", 6.0, (5.2, 0.1), state=EXITED)])
    assert [b.session_token for b in out if not b.open] == ["tok-b"]  # B is not held up
    return a, out


def test_a_shopper_leaving_beside_an_undecided_plate_closes_once_it_settles(store, catalog):
    a, _ = _leaves_while_plate_disturbed(store, catalog)
    assert not [b for b in a.observe_tracks([snap("C", "tok-c", 6.5, (3.0, 0.5))]) if not b.open]  # still waiting
    a.note_unsettled(replace(event(WATER_PLATE, 4.5, -521.0), settled=False, end=6.4))
    _, baskets = a.on_plate_event(event(WATER_PLATE, 4.5, -521.0))  # decided at last
    assert all(b.open for b in baskets if b.session_token == "tok-a")  # its sibling events may follow at once
    (closed,) = [b for b in a.observe_tracks([snap("C", "tok-c", 7.0, (3.0, 0.5))]) if not b.open]
    assert closed.session_token == "tok-a" and closed.stamp == 6.0  # the exit's stamp
    assert [(ln.sku, ln.quantity) for ln in closed.lines] == [(WATER, 1)] and not closed.review_reasons


def test_a_plate_still_undecided_long_after_the_exit_sends_the_session_to_review(store, catalog):
    a, _ = _leaves_while_plate_disturbed(store, catalog)
    closed = []
    for k in range(1, 11):  # the plate keeps being reported disturbed
        t = 6.0 + 0.5 * k
        out = a.note_unsettled(replace(event(WATER_PLATE, 4.5, -521.0), settled=False, end=t))
        out += a.observe_tracks([snap("C", "tok-c", t, (3.0, 0.5))])
        closed += [(t, b) for b in out if not b.open]
    ((t, basket),) = closed
    assert t == 10.5 and basket.session_token == "tok-a"  # exit_wait_s (4 s) after the exit
    assert basket.review_reasons == [f"plate {WATER_PLATE} still disturbed 4.5 s after the exit"]


def _entered_together(store, catalog, take_water: bool, since: float | None = None):
    """A and B entered too close in time for their ENTRY stamps to tell them apart (the
    tracker names each other's session as a rival, p 0.5; or, with `since`, they met then
    and may have swapped tracks); A takes a water (at 4.5-5.5 s) or not, A leaves, then B.
    Returns (A's basket at A's exit, B's basket at B's exit)."""
    return _entered_together_assoc(store, catalog, take_water, since)[1:]


def _entered_together_assoc(store, catalog, take_water: bool = True, since: float | None = None):
    """_entered_together, with the associator first."""
    a = make(store, catalog)
    def doubt(other):  # an entry's doubt comes with no reason here (an older tracker's)
        return {"rivals": {other: 0.5}, "rival_since": {} if since is None else {other: since},
                "rival_why": {} if since is None else {other: f"passed too close to tell apart at t={since:.1f} s"}}

    a.observe_tracks([replace(snap("A", "tok-a", 0.0, (1.95, 1.55)), **doubt("tok-b")),
                      replace(snap("B", "tok-b", 0.0, (2.45, 1.55)), **doubt("tok-a"))])
    for s in standing("A", "tok-a", 0.1, 8.0, (1.95, 1.55), hand_at=(1.95, 2.0, 1.0), hand_from=4.0, hand_to=6.0):
        a.history.add(s)
    for s in standing("B", "tok-b", 0.1, 10.0, (2.45, 1.55)):
        a.history.add(s)
    if take_water:
        a.on_plate_event(event(WATER_PLATE, 4.5, -521.0))
    [basket_a] = a.observe_tracks([snap("A", "tok-a", 8.0, (0.5, 0.1), state=EXITED)])
    [basket_b] = a.observe_tracks([snap("B", "tok-b", 10.0, (0.5, 0.1), state=EXITED)])
    return a, basket_a, basket_b


def test_a_session_that_may_be_swapped_with_another_is_not_sure_of_its_bill(store, catalog):
    basket_a, basket_b = _entered_together(store, catalog, take_water=True)
    assert [(ln.sku, ln.quantity) for ln in basket_a.lines] == [(WATER, 1)]
    # the take itself is sure; the binding is a coin toss: B's shopper may have taken it
    assert 0.4 < basket_a.confidence < 0.55 and basket_a.lines[0].probability < 0.55
    assert any("may be session tok-b's" in r and "entered too close in time" in r for r in basket_a.review_reasons)  # no reason given: every one
    assert basket_b.lines == [] and basket_b.confidence < 0.55  # B's token may be A's shopper's
    assert any("tok-a" in r for r in basket_b.review_reasons)


def test_a_swap_that_bills_the_same_is_no_doubt(store, catalog):
    # Neither took anything: whoever holds which token, both receipts are right. A leaves
    # first, while B could still take something: only B's receipt, issued after both
    # left with the same bill, is sure.
    basket_a, basket_b = _entered_together(store, catalog, take_water=False)
    assert basket_a.confidence < 0.55
    assert basket_b.confidence > 0.95 and basket_b.review_reasons == []


def test_shoppers_who_met_after_their_takes_are_sure_of_their_bills(store, catalog):
    # They may have swapped tracks when they met: that moves only what came after. Met
    # on their way out (7 s; A's take ended at 5.5 s): once both have left with nothing
    # since, B's bill stands (A's, issued while B could still take something, may not).
    basket_a, basket_b = _entered_together(store, catalog, take_water=True, since=7.0)
    assert basket_b.lines == [] and basket_b.confidence > 0.95 and basket_b.review_reasons == []
    assert basket_a.confidence < 0.55
    # Met before the take (3 s): whose shopper took the water is in doubt, as for an entry.
    basket_a, basket_b = _entered_together(store, catalog, take_water=True, since=3.0)
    assert basket_b.confidence < 0.55
    # the reviewer is told why, and when: the tracker's reason
    assert "binding uncertain: this session's shopper may be session tok-a's (p 0.50): passed too close to tell apart at t=3.0 s" \
        in basket_b.review_reasons


def test_a_session_whose_shopper_was_never_seen_goes_to_review(store, catalog):
    # Its ENTRY found nobody; the tracker closes it at an EXIT (a stand-in or a track no
    # session claimed leaving under its token). An empty basket, but nothing says so.
    a = make(store, catalog)
    a.open_session("tok-x", 0.0)
    a.observe_tracks(standing("A", "tok-a", 0.0, 5.0, (1.95, 1.55)))
    [basket] = a.observe_tracks([snap("S", "tok-x", 6.0, (0.5, 0.0), state=EXITED)])
    assert not basket.open and basket.lines == []
    assert any(r.startswith("never tracked") for r in basket.review_reasons)
    [seen] = a.observe_tracks([snap("A", "tok-a", 7.0, (0.5, 0.0), state=EXITED)])
    assert seen.review_reasons == []  # a shopper seen shopping: no such doubt


def test_a_session_whose_shopper_was_tracked_for_a_moment_at_the_door_goes_to_review(store, catalog):
    # A crowd at the door: as one shopper leaves and another comes in, a track born at the
    # door takes the newcomer's token and exits 30 ms later (it was the leaver). The
    # newcomer shops on another track. An empty basket approved at 1.000 would be wrong
    # and silent; nobody's visit lasts 30 ms.
    a = make(store, catalog)
    a.observe_tracks(standing("A", "tok-a", 0.0, 9.0, (1.95, 1.55)))
    a.observe_tracks([snap("T", "tok-x", 9.76, (1.86, 0.04))])
    [basket] = a.observe_tracks([snap("T", "tok-x", 9.79, (1.84, 0.04), state=EXITED)])
    assert not basket.open and basket.lines == []
    assert any(r.startswith("binding uncertain: this session's shopper was tracked for 0.03 s in all") for r in basket.review_reasons)
    # a shopper tracked a whole visit, who took nothing: no such doubt
    [seen] = a.observe_tracks([snap("A", "tok-a", 10.0, (0.5, 0.0), state=EXITED)])
    assert not seen.open and seen.review_reasons == []


def test_a_session_claiming_its_track_as_it_leaves_was_seen_but_not_for_what_it_did_unclaimed(store, catalog):
    # U walked in and out again before its ENTRY was bound: the tracker binds "tok-u" to
    # U's track only at the EXIT. U was seen all along, so that is no "never tracked"; but
    # a take U may have made while no session claimed the track was billed to nobody, and
    # the session says so rather than approving a basket that lacks it.
    a = make(store, catalog)
    for s in standing("U", "", 0.0, 8.0, (1.95, 1.55), hand_at=(1.95, 2.0, 1.0), hand_from=4.0, hand_to=6.0):
        a.observe_tracks([s])
    items, _ = a.on_plate_event(event(WATER_PLATE, 4.5, -521.0))
    assert items[0].session_token == ""  # by nobody any session claims
    *_, basket = a.observe_tracks([snap("U", "tok-u", 8.0, (1.95, 1.0), state=EXITED)])
    assert not basket.open and not any(r.startswith("never tracked") for r in basket.review_reasons)
    assert any(r.startswith(f"plate {WATER_PLATE} changed at t=5.5 s, maybe by this session's shopper") for r in basket.review_reasons)
    b = make(store, catalog)  # the same visit without the take: nothing to doubt
    b.observe_tracks(standing("U", "", 0.0, 8.0, (1.95, 1.55)))
    *_, basket = b.observe_tracks([snap("U", "tok-u", 8.0, (1.95, 1.0), state=EXITED)])
    assert not basket.open and basket.review_reasons == [] and basket.lines == []
    # nor with only a touch, the plate back where it was (knock 5011 held a receipt so)
    c = make(store, catalog)
    for s in standing("U", "", 0.0, 8.0, (1.95, 1.55), hand_at=(1.95, 2.0, 1.0), hand_from=4.0, hand_to=6.0):
        c.observe_tracks([s])
    c.on_plate_event(replace(event(WATER_PLATE, 4.5, -2.0, 4.0), unchanged=True))
    *_, basket = c.observe_tracks([snap("U", "tok-u", 8.0, (1.95, 1.0), state=EXITED)])
    assert not basket.open and basket.review_reasons == [] and basket.lines == []


def test_a_coasting_track_is_not_looked_at(store):
    # B's track stopped being matched at 4.0 while its arm was at the water plate: it
    # coasts with that old arm tip through the change (4.5-5.5) while A, standing at the
    # plate, is seen with an arm there. B's old tip is no look at B: B was unseen.
    from walkout_association.who import CHOICE_FEATURES, WhoParams, who_made

    tip, plate = (1.95, 2.0, 1.0), store.plates_by_id[WATER_PLATE]
    b = [replace(s, unseen_s=max(0.0, s.stamp - 4.0)) for s in
         standing("B", "tok-b", 3.0, 7.0, (2.3, 1.6), hand_at=(2.0, 2.0, 1.0), hand_from=3.5, hand_to=7.0)]
    window = {"A": standing("A", "tok-a", 3.0, 7.0, (1.95, 1.6), hand_at=tip, hand_from=4.4, hand_to=5.6), "B": b}

    def choose(params: WhoParams) -> dict:
        cands = who_made(plate, event(WATER_PLATE, 4.5, -521.0), window, params)
        return {c.session_token: (c.probability, dict(zip(CHOICE_FEATURES, c.features, strict=True)), c.share_likelihood)
                for c in cands}

    now, trusting = choose(WhoParams()), choose(WhoParams(stale_s=math.inf))
    assert now["tok-b"][1]["w_unseen"] == 1.0 and now["tok-b"][1]["w_near_frac"] == 0.0
    assert trusting["tok-b"][1]["w_near_frac"] > 0.5  # its old tip read as seen, look after look
    assert now["tok-a"][0] > trusting["tok-a"][0] and now["tok-a"][0] > 0.8


@pytest.mark.parametrize("error", [0.0, 0.01])
def test_one_review_settles_both_shoppers_of_a_shared_take(store, catalog, error):
    # Two bottles gone, both arms at the plate: "one each" or "both by one of them". Both
    # receipts are held. A reviewer decides A's: that settles B's too, for the event's
    # readings that agree with A's basket leave one answer for B. B's bill is then as sure
    # as the reviewer is right (reviewer_error), whichever reading the decision was.
    def reviewed(a_has: int) -> Associator:
        a = _two_reaching(store, catalog, (1.8, 2.15), reviewer_error=error)
        for tok in ("tok-a", "tok-b"):
            a.open_session(tok, 0.0)
        a.open_session("tok-c", 0.0)  # elsewhere in the store: shares nothing
        a.on_plate_event(event(WATER_PLATE, 4.5, -1040.0))
        assert a.basket("tok-a").confidence < 0.95 and a.basket("tok-b").confidence < 0.95
        baskets = a.settle("tok-a", {WATER: a_has} if a_has else {})
        assert [b.session_token for b in baskets] == ["tok-a", "tok-b"]
        return a

    for a_has in (0, 1, 2):
        a = reviewed(a_has)
        mine, other = a.basket("tok-a"), a.basket("tok-b")
        assert [(ln.sku, ln.quantity) for ln in mine.lines] == ([(WATER, a_has)] if a_has else []) and mine.confidence == 1.0
        assert [(ln.sku, ln.quantity) for ln in other.lines] == ([(WATER, 2 - a_has)] if a_has < 2 else [])
        assert abs(other.confidence - (1.0 - error)) < 2e-3 and other.confidence > 0.98
        if a_has != 1:  # B may hold a bottle more only if A's reviewer was wrong to bill A both
            assert [m.sku for m in other.maybe] == ([WATER] if error and a_has == 2 else [])


def test_a_review_the_model_never_thought_possible_settles_nothing_else(store, catalog):
    a = _two_reaching(store, catalog, (1.8, 2.15))
    a.on_plate_event(event(WATER_PLATE, 4.5, -1040.0))
    before = a.basket("tok-b")
    a.settle("tok-a", {COLA: 3})  # three colas: no reading of the event gives A that
    after = a.basket("tok-b")
    assert [(ln.sku, ln.quantity) for ln in a.basket("tok-a").lines] == [(COLA, 3)]
    assert (after.lines, after.confidence) == (before.lines, before.confidence)
    assert a.settle("tok-nobody", {WATER: 1}) == []


def test_a_decided_basket_still_counts_what_comes_after_the_review(store, catalog):
    # A's basket was decided (one water); a member of A's group then came back in and took
    # a cola: A's basket is the decision plus the cola, and the cola's doubt is its own.
    a = _two_reaching(store, catalog, (1.8, 2.15))
    a.on_plate_event(event(WATER_PLATE, 4.5, -1040.0))
    a.settle("tok-a", {WATER: 1})
    for s in standing("A", "tok-a", 20.0, 28.0, (2.5, 1.55), hand_at=(2.5, 2.0, 1.0), hand_from=24.0, hand_to=26.0):
        a.history.add(s)
    a.on_plate_event(event(COLA_PLATE, 24.5, -352.0))
    basket = a.basket("tok-a")
    assert sorted((ln.sku, ln.quantity) for ln in basket.lines) == sorted([(WATER, 1), (COLA, 1)])
    assert basket.confidence == pytest.approx(a.last_record.consistent("tok-a"), abs=0.02) and basket.confidence < 1.0
    with pytest.raises(ValueError, match="unknown sku 999"):
        a.settle("tok-b", {"999": 1})


def test_a_decided_rival_says_whether_two_shoppers_were_swapped(store, catalog):
    # A and B entered too close to tell apart; A's shopper took a water. Held: the take is
    # sure, who is who is not. A reviewer decides B's receipt. As billed (nothing): they
    # were not swapped, and A's water is sure. With the water: B's shopper took it, or the
    # two were swapped; either way A's token took nothing.
    for decided, a_has in (({}, [(WATER, 1)]), ({WATER: 1}, [])):
        a, basket_a, basket_b = _entered_together_assoc(store, catalog)
        assert basket_a.confidence < 0.55 and basket_b.confidence < 0.55
        baskets = a.settle("tok-b", decided)
        assert [b.session_token for b in baskets] == ["tok-b", "tok-a"]  # a rival, read again
        assert [(ln.sku, ln.quantity) for ln in baskets[1].lines] == a_has
        assert baskets[1].confidence > 0.98 and not any("tok-b" in r for r in baskets[1].review_reasons)


def test_a_decided_rival_whose_bill_the_swap_gives_names_the_swap(store, catalog):
    # Where no reading of the events explains the decision, the rule itself: B decided with
    # the bill a swap would give it (A's water), not its own (nothing).
    from collections import Counter

    a = make(store, catalog)
    for tok in ("tok-a", "tok-b"):
        a.open_session(tok, 0.0)
    a.settle("tok-b", {WATER: 1})
    bills = {"tok-b": (0.5, (Counter({WATER: 1}), Counter()))}
    (reason,) = a._decided_rivals(bills)
    assert bills == {} and reason.startswith("binding swapped: the review of session tok-b found") and "gives this session nothing" in reason
    a.settle("tok-b", {})  # decided as billed: not swapped, no doubt and nothing to say
    bills = {"tok-b": (0.5, (Counter({WATER: 1}), Counter()))}
    assert a._decided_rivals(bills) == [] and bills == {}
    bills = {"tok-b": (0.5, None)}  # A still inside: the bills a swap would exchange are not known yet
    assert a._decided_rivals(bills) == [] and bills == {"tok-b": (0.5, None)}


def _three_reaching(store, catalog, reaches: int):
    """A, B and C side by side at the water plate, their arms at it at 4-6 s (and 12-14 s)."""
    a = make(store, catalog)
    for tid, tok, x in (("A", "tok-a", 1.75), ("B", "tok-b", 1.95), ("C", "tok-c", 2.15)):
        a.open_session(tok, 0.0)
        for k in range(reaches):
            for s in standing(tid, tok, 8.0 * k, 8.0 * (k + 1), (x, 1.55), hand_at=(x, 2.0, 1.0), hand_from=8.0 * k + 4.0, hand_to=8.0 * k + 6.0):
                a.history.add(s)
    return a


def _reading(rec, effects) -> str:
    """The label of the event's reading that changes the baskets so."""
    return next(h.label() for h in rec.hypotheses if h.effects() == effects)


def test_a_reviewers_word_on_one_event_settles_every_shopper_it_may_have_been(store, catalog):
    # Three arms at the water plate as one bottle goes. A's reviewer finds no bottle on A:
    # A's basket alone cannot say whether B or C took it; a word on the event can.
    a = _three_reaching(store, catalog, 1)
    items, _ = a.on_plate_event(event(WATER_PLATE, 4.5, -520.0))
    rec = a.last_record
    by_b, by_c = _reading(rec, {"tok-b": {WATER: 1}}), _reading(rec, {"tok-c": {WATER: 1}})
    assert items[0].reading == rec.best.label() and by_b in [r for r, _ in items[0].alternatives] + [items[0].reading]
    a.settle("tok-a", {})
    assert a.basket("tok-b").confidence < 0.9 and a.basket("tok-c").confidence < 0.9  # B or C: the basket cannot say
    with pytest.raises(ValueError, match="has no reading '3x Sparkling water by tok-a'"):
        a.verdict(items[0].event_id, "3x Sparkling water by tok-a")
    baskets = a.verdict(items[0].event_id, by_b)
    assert sorted(b.session_token for b in baskets) == ["tok-a", "tok-b", "tok-c"]
    # as sure as two words of reviewers who err 1 in 100 (A's decision, and this one) make it
    assert [(ln.sku, ln.quantity) for ln in a.basket("tok-b").lines] == [(WATER, 1)] and 0.98 < a.basket("tok-b").confidence < 0.99
    assert a.basket("tok-c").lines == [] and a.basket("tok-c").confidence > 0.98
    assert a.verdict("G9-S9-P9@1.000", by_b) == []  # an event this node never saw (another store's): nothing
    assert a.verdict(items[0].event_id, by_c) == []  # another reviewer's later word: the first stands
    assert a.settle("tok-c", {}, [(items[0].event_id, by_c)])[0].session_token == "tok-c"
    assert [(ln.sku, ln.quantity) for ln in a.basket("tok-b").lines] == [(WATER, 1)]


def test_a_decision_and_its_word_on_events_are_taken_whole(store, catalog):
    # Two events at the water plate, each with three arms at it. The reviewer's decision on
    # A comes with a word on both: they are applied together, or (one reading unknown) not at all.
    a = _three_reaching(store, catalog, 2)
    first = a.on_plate_event(event(WATER_PLATE, 4.5, -520.0))[0][0]
    by_b = _reading(a.last_record, {"tok-b": {WATER: 1}})
    second = a.on_plate_event(event(WATER_PLATE, 12.5, -520.0))[0][0]
    by_c = _reading(a.last_record, {"tok-c": {WATER: 1}})
    before = a.basket("tok-b").confidence
    with pytest.raises(ValueError, match="has no reading"):
        a.settle("tok-a", {}, [(first.event_id, by_b), (second.event_id, "9x Sparkling water by tok-b")])
    assert a.basket("tok-b").confidence == before and a.sessions["tok-a"].reviewed is None  # nothing taken of it
    baskets = a.settle("tok-a", {}, [(first.event_id, by_b), (second.event_id, by_c)])
    assert [b.session_token for b in baskets] == ["tok-a", "tok-b", "tok-c"]  # each once, read after both words
    assert [(ln.sku, ln.quantity) for ln in baskets[1].lines] == [(WATER, 1)] and baskets[1].confidence > 0.98
    assert [(ln.sku, ln.quantity) for ln in baskets[2].lines] == [(WATER, 1)] and baskets[2].confidence > 0.98


@pytest.mark.parametrize("first", ["water", "cola"])
def test_a_shopper_busy_at_another_plate_meanwhile_is_less_likely_here(store, catalog, first):
    # A takes a water at its plate; B, standing beside it with no arm there, takes a cola
    # at the next plate at the same time. B's small case for the water shrinks by
    # two_plates_factor, whichever change is read first; changes apart in time keep it.
    def water_doubt(factor: float, cola_at: float) -> float:
        a = make(store, catalog, two_plates_factor=factor)
        for s in standing("A", "tok-a", 0.0, 12.0, (1.95, 1.6), hand_at=(1.95, 2.0, 1.0), hand_from=4.0, hand_to=6.0):
            a.history.add(s)
        for s in standing("B", "tok-b", 0.0, 12.0, (2.4, 1.6), hand_at=(2.65, 2.0, 1.0), hand_from=cola_at - 0.5, hand_to=cola_at + 1.5):
            a.history.add(s)
        water, cola = event(WATER_PLATE, 4.5, -521.0), event(COLA_PLATE, cola_at, -352.0)
        records = {}
        for name, ev in sorted({"water": water, "cola": cola}.items(), key=lambda kv: kv[0] != first):
            a.on_plate_event(ev)
            records[name] = a.last_record
        rec = records["water"]
        assert rec.best.session == "tok-a" and records["cola"].best.session == "tok-b"
        return 1.0 - rec.consistent("tok-b")  # P(B took the water)

    alone, together = water_doubt(1.0, 4.7), water_doubt(0.1, 4.7)
    assert alone > 1e-3  # B stands near enough to be a real doubt
    assert together < 0.2 * alone
    assert water_doubt(0.1, 9.0) == pytest.approx(water_doubt(1.0, 9.0))  # one after the other: no bearing


def test_an_arm_given_to_a_farther_shopper_over_a_nearer_ones_head_is_in_doubt(store):
    # A stands 0.7 m from the water plate; B 0.29 m, on A's way to it. The camera gives the
    # hand at the plate to A (a long arm hidden behind B's body fits by free space), and B
    # shows none of its own. Such a hand was the nearer one's 4 times in 8 (`groups`
    # 45354: B's take went to A at 0.99): neither is sure. With B beside A's way, 0.35 m
    # off it, the hand stays A's.
    from walkout_association.who import WhoParams, who_made

    plate, tip = store.plates_by_id[WATER_PLATE], (1.95, 2.0, 1.0)

    def probabilities(b_xy, params=None) -> dict:
        a = [snap("A", "tok-a", float(t), (1.95, 1.3), [tip] if 4.0 <= t <= 5.0 else []) for t in np.arange(3.0, 7.0, 0.1)]
        b = [snap("B", "tok-b", float(t), b_xy) for t in np.arange(3.0, 7.0, 0.1)]
        window = {"A": a, "B": b}
        return {c.session_token: c.probability for c in who_made(plate, event(WATER_PLATE, 4.5, -521.0), window, params or WhoParams())}

    over, beside, off = probabilities((2.0, 1.71)), probabilities((2.3, 1.71)), WhoParams(over_head_m=0.0)
    assert over["tok-a"] < 0.8 and over["tok-b"] > 0.2
    assert probabilities((2.0, 1.71), off)["tok-a"] > 0.95  # as before: B only by a hidden arm
    assert beside == probabilities((2.3, 1.71), off) and beside["tok-a"] > 0.95
