"""The weight node over real rclpy topics: live (unsettled) events while a plate is
disturbed, then one settled event; duplicate batches are skipped."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy

from walkout_bringup.testing import spin_until, wait_matched
from walkout_common.msgconv import plate_event, set_stamp, stamp_to_sec
from walkout_common.types import PlateEvent
from walkout_msgs import msg as wm
from walkout_perception.weight_node import EVENTS_QOS, WeightNode, plate_event_msg

STORE_FILE = Path(__file__).resolve().parents[4] / "calibration" / "nanostore" / "store.yaml"
PLATES = ["G1A-S2-P1", "G1A-S2-P2"]


def batch(t: float, grams: np.ndarray, plates: list[str] = PLATES, shelf: str = "G1A-S2", rate: float = 50.0) -> wm.LoadCellBatch:
    m = wm.LoadCellBatch(shelf_id=shelf, sample_rate_hz=rate, plate_ids=plates)
    set_stamp(m.header.stamp, t)
    m.header.frame_id = "map"
    m.grams = [float(g) for g in np.asarray(grams, dtype=np.float32).ravel()]
    return m


def rig(unsettled_period_s: float):
    """A weight node and a probe on one executor, matched: (executor, batch publisher, events)."""
    node = WeightNode(parameter_overrides=[Parameter("store_file", value=str(STORE_FILE)), Parameter("unsettled_period_s", value=unsettled_period_s)])
    probe = rclpy.create_node("probe")
    events: list[wm.PlateEvent] = []
    probe.create_subscription(wm.PlateEvent, "/perception/plate_events", events.append, EVENTS_QOS)
    pub = probe.create_publisher(wm.LoadCellBatch, "/shelves/load_cells", QoSProfile(depth=500, reliability=ReliabilityPolicy.RELIABLE))
    ex = SingleThreadedExecutor()
    ex.add_node(node)
    ex.add_node(probe)
    wait_matched(ex, [pub])
    return ex, pub, events


def test_weight_node_publishes_live_then_settled_events():
    rclpy.init()
    try:
        ex, pub, events = rig(0.02)
        rng = np.random.default_rng(2)
        t = np.arange(0, 8, 1 / 50)
        g = np.stack([np.where(t < 4, 3000.0, 2250.0), np.full(t.size, 700.0)], 1) + rng.normal(0, 3, (t.size, 2))
        split = 4 * 50 + 20
        for k in range(0, split, 5):  # up to 0.4 s after the take: disturbed, not settled
            pub.publish(batch(t[k], g[k : k + 5]))
            pub.publish(batch(t[k], g[k : k + 5]))  # every batch twice: duplicates are skipped
        assert spin_until(ex, lambda: any(not e.settled for e in events))
        live = next(e for e in events if not e.settled)
        assert live.plate_id == "G1A-S2-P1" and abs(live.delta_g + 750) < 10
        for k in range(split, t.size, 5):
            pub.publish(batch(t[k], g[k : k + 5]))
        assert spin_until(ex, lambda: any(e.settled for e in events))
        (done,) = [e for e in events if e.settled]
        assert done.plate_id == "G1A-S2-P1" and done.shelf_id == "G1A-S2" and done.header.frame_id == "map"
        assert abs(done.delta_g + 750) < 3 and 0 < done.delta_std_g < 2
        assert 3.9 <= stamp_to_sec(done.start) <= stamp_to_sec(done.end) <= 4.1
        assert stamp_to_sec(done.header.stamp) == stamp_to_sec(done.end)
    finally:
        rclpy.try_shutdown()


SHELF_S1 = ["G1A-S1-P1", "G1A-S1-P2", "G1A-S1-P3", "G1A-S1-P4"]


def test_weight_node_publishes_a_settled_event_and_survives_bad_batches():
    rclpy.init()
    try:
        ex, pub, events = rig(0.0)
        rng = np.random.default_rng(0)
        t = np.arange(0, 8, 1 / 60)
        g = np.stack([np.where(t < 4, 2000.0, 1480.0) + rng.normal(0, 2, t.size)] + [np.full(t.size, 900.0)] * 3, 1)
        for k in range(0, t.size, 6):
            if k == 60:
                pub.publish(batch(t[k], np.full((6, 4), np.nan), SHELF_S1, "G1A-S1", 60.0))  # a NaN batch
                pub.publish(batch(t[k], np.zeros(6), ["NOPE"], "G1A-S1", 60.0))  # an unknown plate
                bad = batch(t[k], np.zeros(5), SHELF_S1, "G1A-S1", 60.0)  # grams that do not fit the plates
                pub.publish(bad)
            pub.publish(batch(t[k], g[k : k + 6], SHELF_S1, "G1A-S1", 60.0))
            ex.spin_once(timeout_sec=0.0)
        assert spin_until(ex, lambda: len(events) >= 1)
        (ev,) = [e for e in events if e.settled]
        assert ev.plate_id == "G1A-S1-P1" and abs(ev.delta_g + 520) < 3
    finally:
        rclpy.try_shutdown()


def test_weight_node_reports_each_plates_health_on_diagnostics():
    # The lip balm plate reads in 5 g steps: the smallest change it shows is over 8 g, a
    # warning naming the product; a plate read finely is OK; one never read is stale. When
    # the shelf falls silent (the whole store's, here), its plates go stale too.
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus

    rclpy.init()
    try:
        catalog = STORE_FILE.parent / "catalog.yaml"
        node = WeightNode(parameter_overrides=[Parameter("store_file", value=str(STORE_FILE)), Parameter("catalog_file", value=str(catalog)),
                                               Parameter("unsettled_period_s", value=0.0), Parameter("diagnostics_period_s", value=0.1),
                                               Parameter("diagnostics_stale_s", value=2.0)])
        probe = rclpy.create_node("probe")
        reports: list[DiagnosticArray] = []
        diag = probe.create_subscription(DiagnosticArray, "/diagnostics", reports.append, 10)
        pub = probe.create_publisher(wm.LoadCellBatch, "/shelves/load_cells", QoSProfile(depth=500, reliability=ReliabilityPolicy.RELIABLE))
        ex = SingleThreadedExecutor()
        ex.add_node(node)
        ex.add_node(probe)
        wait_matched(ex, [pub, diag])
        rng = np.random.default_rng(1)
        plates = ["G2-S2-P3", "G2-S2-P4"]  # batteries (110 g), read finely; lip balm (8 g), in 5 g steps
        t = np.arange(0, 20, 1 / 30)
        g = np.stack([800.0 + rng.normal(0, 1.0, t.size), np.round((1002.4 + rng.normal(0, 2.0, t.size)) / 5) * 5], 1)
        for k in range(0, t.size, 6):
            pub.publish(batch(t[k], g[k : k + 6], plates, "G2-S2", 30.0))
        assert spin_until(ex, lambda: node.core.detectors.get("G2-S2-P4") is not None and node.core.detectors["G2-S2-P4"].last is not None
                          and node.core.detectors["G2-S2-P4"].last[0] > 19.0)
        reports.clear()
        assert spin_until(ex, lambda: bool(reports))
        status = {s.hardware_id: s for s in reports[-1].status}
        assert status["G2-S2-P4"].level == DiagnosticStatus.WARN and "Lip balm (8 g)" in status["G2-S2-P4"].message
        assert status["G2-S2-P3"].level == DiagnosticStatus.OK and {v.key for v in status["G2-S2-P3"].values} >= {"noise_g", "smallest_change_g"}
        assert status["G1A-S1-P1"].level == DiagnosticStatus.STALE
        assert spin_until(ex, lambda: {s.hardware_id: s.level for s in reports[-1].status}["G2-S2-P3"] == DiagnosticStatus.STALE)
        assert {s.hardware_id: s for s in reports[-1].status}["G2-S2-P4"].message.startswith("no readings for ")
    finally:
        rclpy.try_shutdown()


def test_a_plate_event_keeps_every_field_through_its_message():
    # a lifted-and-put-back event: no change, but its dip is what the associator weighs
    ev = PlateEvent("G1A-S2-P1", "G1A-S2", 11.65, 15.985, 3.2, 1.5, True, "G1A-S2-P1@15.985", dip_g=697.0)
    back = plate_event(plate_event_msg(ev))
    assert back.beyond_g == 0.0 and plate_event(plate_event_msg(replace(ev, beyond_g=1493.0))).beyond_g == pytest.approx(1493.0)
    assert back.dip_g == pytest.approx(697.0) and back.delta_g == pytest.approx(3.2) and back.delta_std_g == pytest.approx(1.5)
    assert (back.plate_id, back.shelf_id, back.settled, back.event_id) == (ev.plate_id, ev.shelf_id, True, ev.event_id)
    assert not back.unchanged and plate_event(plate_event_msg(replace(ev, dip_g=0.0, unchanged=True))).unchanged
    assert (back.start, back.end) == (pytest.approx(11.65), pytest.approx(15.985))
