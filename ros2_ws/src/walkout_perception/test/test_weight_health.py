"""A plate's health for the store engineer: the smallest change it shows against the
lightest product on it."""

from pathlib import Path

import numpy as np

from walkout_common.store import load_catalog, load_store
from walkout_common.types import LoadCellBatch
from walkout_perception.weight import WeightEventDetector
from walkout_perception.weight_health import OK, STALE, WARN, ShelfClock, lightest_products, plate_health

ROOT = Path(__file__).resolve().parents[4]
STORE = load_store(ROOT / "calibration" / "nanostore" / "store.yaml")
CATALOG = load_catalog(ROOT / "calibration" / "nanostore" / "catalog.yaml", STORE)
SHELF = "G2-S2"
PLATES = [p.id for p in STORE.plates if p.shelf_id == SHELF]
LIP = "G2-S2-P4"  # lip balm, 8 g


def fed(division: float, noise: float, seconds: float = 40.0) -> WeightEventDetector:
    """The shelf's plates read for `seconds` at 30 Hz, still, in steps of `division` g."""
    rng = np.random.default_rng(4)
    det = WeightEventDetector(STORE)
    t = np.arange(0, seconds, 1 / 30)
    g = 1000.0 + 2.4 + rng.normal(0, noise, (t.size, len(PLATES)))
    if division:
        g = np.round(g / division) * division
    for k in range(0, t.size, 3):
        det.add_batch(LoadCellBatch(float(t[k]), SHELF, 30.0, PLATES, g[k : k + 3]))
    return det


def test_a_plate_in_5_g_steps_warns_that_it_cannot_show_a_lip_balm():
    lightest = lightest_products(CATALOG)
    assert lightest[LIP] == ("Lip balm", 8.0)
    coarse = {s.plate_id: s for s in fed(5.0, 2.0).status()}[LIP]
    assert coarse.step_g == 5.0 and coarse.smallest_change_g > 8.0
    level, message = plate_health(coarse, lightest[LIP], 40.0, 10.0)
    assert level == WARN and "Lip balm (8 g)" in message
    fine = {s.plate_id: s for s in fed(0.0, 1.0).status()}[LIP]
    assert fine.step_g == 0.0 and fine.smallest_change_g < 8.0
    assert plate_health(fine, lightest[LIP], 40.0, 10.0)[0] == OK
    assert plate_health(fine, lightest[LIP], 60.0, 10.0)[0] == STALE  # no reading for 20 s


def test_a_plate_never_read_is_stale():
    status = {s.plate_id: s for s in WeightEventDetector(STORE).status()}
    assert set(status) == {p.id for p in STORE.plates}
    assert plate_health(status[LIP], ("Lip balm", 8.0), 0.0, 10.0) == (STALE, "no readings yet")


def test_plates_go_stale_when_every_shelf_falls_silent():
    # The shelves' clock runs 1000 s ahead of the node's; the node's own clock moves it on.
    status = {s.plate_id: s for s in fed(0.0, 1.0).status()}[LIP]
    clock = ShelfClock()
    assert clock.now(5.0) == 0.0  # nothing heard yet
    clock.heard(39.9, 1039.9)
    clock.heard(20.0, 1040.0)  # a late batch of another shelf: the newest stays
    assert plate_health(status, None, clock.now(1041.0), 10.0)[0] == OK
    level, message = plate_health(status, None, clock.now(1055.0), 10.0)
    assert level == STALE and message == "no readings for 15 s"
