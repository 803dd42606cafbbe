"""The markers core: what RViz shows for plates, gates, tracks, reaches and baskets."""

from dataclasses import replace
from pathlib import Path

import numpy as np

from walkout_bringup.markers import (
    LINE_LIST,
    SPHERE,
    TEXT,
    MarkerBoard,
    basket_markers,
    gate_markers,
    plate_markers,
    track_markers,
)
from walkout_common.store import load_store
from walkout_common.types import CONFIRMED, EXITED, Basket, BasketLine, PlateEvent, TrackSnapshot

STORE = load_store(Path(__file__).resolve().parents[4] / "calibration" / "nanostore" / "store.yaml")


def event(plate, delta, end, settled=True):
    return PlateEvent(plate, plate.rsplit("-", 1)[0], end - 0.5, end, delta, 1.0, settled)


def snap(track_id, token, state=CONFIRMED, hands=()):
    return TrackSnapshot(track_id, token, state, 1.0, np.array([1.0, 1.5, 1.7]), np.zeros(2), np.eye(2) * 0.01, list(hands))


def test_plates_glow_after_events_then_fade_and_gates_are_lines():
    evs = {"G1A-S1-P1": event("G1A-S1-P1", -520.0, 10.0), "G1A-S1-P2": event("G1A-S1-P2", 352.0, 10.0)}
    specs = [s for s in plate_markers(STORE, evs, now=10.5, glow_s=3.0) if s.ns == "plates"]
    assert len(specs) == len(STORE.plates)
    by = {STORE.plates[s.id].id: s for s in specs}
    assert by["G1A-S1-P1"].color[0] > 0.8 > by["G1A-S1-P1"].color[1]  # red: taken
    assert by["G1A-S1-P2"].color[1] > 0.7 > by["G1A-S1-P2"].color[0]  # green: returned
    idle = by["G1A-S1-P3"].color
    later = {STORE.plates[s.id].id: s for s in plate_markers(STORE, evs, now=14.0, glow_s=3.0) if s.ns == "plates"}
    assert later["G1A-S1-P1"].color == idle
    texts = [s.text for s in plate_markers(STORE, evs, now=10.5) if s.type == TEXT]
    assert sorted(texts) == ["+352 g", "-520 g"]
    # lifted and put back: no change, but not a green "+2 g" return either
    lifted = replace(event("G1A-S1-P3", 2.0, 10.0), dip_g=480.0)
    (spec,) = [s for s in plate_markers(STORE, {"G1A-S1-P3": lifted}, now=10.0) if s.type == TEXT]
    assert spec.text == "480 g lifted, put back" and spec.color[0] > 0.9 and spec.color[1] > 0.7 > spec.color[2]  # yellow
    # settled back unchanged: a touch, with how sure the plate is of that
    touched = replace(event("G1A-S1-P3", 1.0, 10.0), unchanged=True, delta_std_g=2.4)
    (spec,) = [s for s in plate_markers(STORE, {"G1A-S1-P3": touched}, now=10.0) if s.type == TEXT]
    assert spec.text == "touched (+1 ± 2 g)" and spec.color[0] > 0.9 and spec.color[1] > 0.7 > spec.color[2]
    # settled back after holding 110 g more, quietly: units laid down and lifted again
    laid = replace(touched, beyond_g=110.0)
    (spec,) = [s for s in plate_markers(STORE, {"G1A-S1-P3": laid}, now=10.0) if s.type == TEXT]
    assert spec.text == "110 g laid down, lifted"
    lines = [s for s in gate_markers(STORE) if s.type == LINE_LIST]
    assert len(lines) == len(STORE.gates) and all(len(s.points) == 2 for s in lines)
    for g, line in zip(STORE.gates, lines, strict=True):
        a, b = np.array(line.points)[:, :2]
        assert abs(np.linalg.norm(a - b) - g.width) < 1e-9


def test_tracks_show_heads_reaches_short_ids_and_running_totals():
    specs = track_markers([snap("t0123456789", "tok", hands=[np.array([1.0, 2.0, 1.0])]), snap("tffff", "", EXITED)], {"tok": 398}, "USD")
    assert [s.type for s in specs].count(SPHERE) == 1  # the exited track is not drawn
    assert any(s.text == "t0123 tok  3.98 USD" for s in specs)
    (reach,) = [s for s in specs if s.ns == "reaches"]
    assert reach.points[1] == (1.0, 2.0, 1.0)
    # a binding that may be swapped names the other session
    doubtful = replace(snap("t0123456789", "tok-a"), rivals={"tok-b": 0.5})
    assert any(s.text == "t0123 tok-a  or tok-b (50%)" for s in track_markers([doubtful], {}))
    # a coasting track is faint, says how long it has gone unseen, and shows no old hands
    coasting = replace(snap("t0123456789", "tok", hands=[np.array([1.0, 2.0, 1.0])]), unseen_s=0.4)
    specs = track_markers([coasting], {})
    assert [s.text for s in specs if s.type == TEXT] == ["t0123 tok (unseen 0.4 s)"]
    assert not [s for s in specs if s.ns == "reaches"]
    assert [s.color[3] for s in specs if s.type == SPHERE] == [0.35]


def test_baskets_list_their_lines_and_closed_ones_disappear():
    open_b = Basket("tok-a", 5.0, [BasketLine("012", "Water", 2, 199, 0.98)], "USD", 0.97, True, ["ambiguous taker"])
    closed = Basket("tok-b", 6.0, [], "USD", 1.0, False)
    (spec,) = basket_markers(STORE, [closed, open_b])
    assert spec.text.splitlines() == ["tok-a: 3.98 USD (97%)", "2 x Water", "review: ambiguous taker"]
    assert spec.position[0] > STORE.floor_max[0]


def test_board_keeps_live_events_until_settled_and_drops_stale_ones():
    board = MarkerBoard(STORE, glow_s=3.0)
    board.on_plate_event(event("G1A-S1-P1", -300.0, 10.0, settled=False))
    live = [s for s in board.markers(10.1) if s.ns == "plate_deltas"]
    assert [s.text for s in live] == ["-300 g"]
    board.on_plate_event(event("G1A-S1-P1", -520.0, 10.4))
    board.on_plate_event(event("G1A-S1-P1", -100.0, 10.3, settled=False))  # a late live update
    assert [s.text for s in board.markers(10.5) if s.ns == "plate_deltas"] == ["-520 g"]
    board.on_plate_event(PlateEvent("G1A-S1-P1", "G1A-S1", 12.0, 12.2, 200.0, 1.0, False))  # a new reach
    assert [s.text for s in board.markers(12.3) if s.ns == "plate_deltas"] == ["+200 g"]
    board.on_plate_event(event("G1A-S1-P2", 50.0, 11.0, settled=False))
    assert [s.text for s in board.markers(20.0) if s.ns == "plate_deltas"] == []
    board.on_basket(Basket("tok", 1.0, [BasketLine("012", "Water", 1, 199, 0.9)], "USD", 0.9))
    board.on_tracks([snap("t0123456789", "tok")])
    assert any(s.text == "t0123 tok  1.99 USD" for s in board.markers(21.0))
