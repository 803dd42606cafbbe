from pathlib import Path

import numpy as np

from walkout_bringup.markers import LINE_LIST, SPHERE, gate_markers, plate_markers, track_markers
from walkout_common.store import load_store
from walkout_common.types import CONFIRMED, TrackSnapshot

STORE = load_store(Path(__file__).resolve().parents[4] / "calibration" / "nanostore" / "store.yaml")


def test_plates_glow_after_events_and_gates_are_lines():
    specs = plate_markers(STORE, {"G1A-S1-P1": -520.0, "G1A-S1-P2": 352.0}, 0.0)
    assert len(specs) == len(STORE.plates)
    by = {STORE.plates[s.id].id: s for s in specs}
    assert by["G1A-S1-P1"].color[0] > 0.8 and by["G1A-S1-P2"].color[1] > 0.7
    lines = [s for s in gate_markers(STORE) if s.type == LINE_LIST]
    assert len(lines) == len(STORE.gates) and all(len(s.points) == 2 for s in lines)


def test_tracks_show_heads_reaches_and_running_totals():
    snap = TrackSnapshot("t1", "tok", CONFIRMED, 1.0, np.array([1.0, 1.5, 1.7]), np.zeros(2), np.eye(2) * 0.01, [np.array([1.0, 2.0, 1.0])])
    specs = track_markers([snap], {"tok": 398}, "USD")
    assert [s.type for s in specs].count(SPHERE) == 1
    assert any(s.text == "tok  3.98 USD" for s in specs)
    assert any(s.ns == "reaches" and len(s.points) == 2 for s in specs)
