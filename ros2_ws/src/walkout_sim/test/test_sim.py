"""The simulator: determinism, people, load cells, gates, truth, bags."""

import json
from pathlib import Path

import numpy as np
import pytest

from walkout_common.bagio import read_messages
from walkout_common.msgconv import load_cell_batch
from walkout_common.store import load_catalog, load_store
from walkout_sim.bag import record_bag
from walkout_sim.scenario import SensorConfig, random_scenario, single_shopper
from walkout_sim.world import World, simulate

ROOT = Path(__file__).resolve().parents[4]
STORE = load_store(ROOT / "calibration" / "nanostore" / "store.yaml")
CATALOG = load_catalog(ROOT / "calibration" / "nanostore" / "catalog.yaml", STORE)


def test_same_seed_same_world():
    a = World(STORE, CATALOG, random_scenario(STORE, CATALOG, 3, seed=5))
    b = World(STORE, CATALOG, random_scenario(STORE, CATALOG, 3, seed=5))
    assert a.truth() == b.truth()
    c = World(STORE, CATALOG, random_scenario(STORE, CATALOG, 3, seed=6))
    assert c.truth()["events"] != a.truth()["events"]


def test_a_take_lowers_its_plate_by_one_unit(tmp_path):
    sc = single_shopper(STORE, CATALOG)
    sc.sensors = SensorConfig(depth_hz=10.0, lost_batch_frac=0.0, knocks_per_min=0.0)
    truth = record_bag(STORE, CATALOG, sc, tmp_path / "bag")
    first = truth["events"][0]
    shelf = first["plate"].rsplit("-", 1)[0]
    series = []
    for _topic, _, msg in read_messages(tmp_path / "bag", ["/shelves/load_cells"]):
        b = load_cell_batch(msg)
        if b.shelf_id == shelf:
            col = b.plate_ids.index(first["plate"])
            series += list(zip(b.sample_times(), b.grams[:, col], strict=True))
    t = np.array([s[0] for s in series])
    g = np.array([s[1] for s in series])
    before = np.nanmedian(g[(t > first["t"] - 3) & (t < first["t"] - 1.5)])
    after = np.nanmedian(g[(t > first["t"] + 1.5) & (t < first["t"] + 3)])
    unit = CATALOG.by_sku[first["sku"]].weight_g
    assert abs((before - after) - unit * first["n"]) < 6 * first["n"] + 6
    doc = json.loads((tmp_path / "bag" / "truth.json").read_text())
    assert doc["receipts"][0]["items"] and doc["receipts"][0]["status"] == "approved"
    topics = {topic for topic, _, _ in read_messages(tmp_path / "bag")}
    assert {"/clock", "/gates/events", "/shelves/load_cells", STORE.cameras[0].image_topic, STORE.cameras[0].info_topic} <= topics


def _digest(messages, limit_s: float) -> list:
    out = []
    for m in messages:
        if m.stamp > limit_s:
            break
        f = {k: (np.asarray(v).tobytes() if isinstance(v, np.ndarray) else v) for k, v in m.fields.items()}
        out.append((m.stamp, m.topic, m.typename, repr(sorted(f.items()))))
    return out


def test_same_seed_same_messages():
    cfg = SensorConfig(depth_hz=5.0)
    a = _digest(simulate(random_scenario(STORE, CATALOG, 2, seed=11), cfg), 12.0)
    b = _digest(simulate(random_scenario(STORE, CATALOG, 2, seed=11), cfg), 12.0)
    assert a == b and len(a) > 1000
    assert {m[2] for m in a} >= {"rosgraph_msgs/msg/Clock", "walkout_msgs/msg/LoadCellBatch", "sensor_msgs/msg/Image", "sensor_msgs/msg/CameraInfo"}
    c = _digest(simulate(random_scenario(STORE, CATALOG, 2, seed=12), cfg), 12.0)
    assert c != a
    stamps = [m[0] for m in a]
    assert stamps == sorted(stamps)


def test_people_keep_apart_and_everyone_leaves():
    from walkout_sim.people import PeopleSim

    sc = random_scenario(STORE, CATALOG, 8, seed=4, arrival_gap_s=3.0)
    tl = PeopleSim(STORE, CATALOG, sc).run()
    assert set(tl.exits) == {s.person_id for s in sc.shoppers}
    closest = np.inf
    for t in np.arange(0.0, tl.end_time, 0.1):
        xy = np.array([p.head_xy for p in tl.poses_at(t)]).reshape(-1, 2)
        if len(xy) > 1:
            d = np.linalg.norm(xy[:, None] - xy[None], axis=-1) + np.eye(len(xy)) * 9
            closest = min(closest, d.min())
    assert 0.35 <= closest < 1.0
    heights = [s.height for s in sc.shoppers]
    assert 1.45 <= min(heights) and max(heights) <= 2.05


def test_load_cells_follow_their_config_and_noise_bounds():
    shelf = sorted(STORE.shelves)[0]
    cfg = SensorConfig(depth_hz=1.0, knocks_per_min=0.0, lost_batch_frac=0.0, shelf_rates={shelf: (30.0, 3)})
    sc = random_scenario(STORE, CATALOG, 0, seed=3, duration_s=20.0, sensors=cfg)
    world = World(STORE, CATALOG, sc)
    batches = [m for m in world.messages() if m.kind == "load_cells"]
    mine = [m for m in batches if m.fields["shelf_id"] == shelf]
    assert {m.fields["sample_rate_hz"] for m in mine} == {30.0}
    assert all(len(m.fields["grams"]) == 3 * len(m.fields["plate_ids"]) for m in mine[:-1])
    other = [m for m in batches if m.fields["shelf_id"] != shelf]
    assert {len(m.fields["grams"]) // len(m.fields["plate_ids"]) for m in other[:-10]} == {6}
    # nobody in the store: each plate is offset + slow drift + its own noise (1-5 g)
    for sid in STORE.shelves:
        rows = np.concatenate([np.asarray(m.fields["grams"]).reshape(-1, len(m.fields["plate_ids"])) for m in batches if m.fields["shelf_id"] == sid])
        nan_frac = np.isnan(rows).mean()
        assert nan_frac < 0.02
        diffs = np.diff(rows, axis=0)
        sigma = np.nanstd(diffs, axis=0) / np.sqrt(2)
        assert np.all(sigma > 0.7) and np.all(sigma < 5.5)
        assert np.nanstd(np.nanmean(rows, axis=0)) > 50  # offsets differ: readings are not zeroed


def test_load_cells_whose_filter_correlates_their_readings():
    # `load_cell_filter` 0.8: each reading's noise is 0.8 of the last one's (AR(1)), its sd
    # kept; consecutive readings then differ far less than the plate scatters
    def noise(phi):
        cfg = SensorConfig(depth_hz=1.0, knocks_per_min=0.0, lost_batch_frac=0.0, nan_frac=0.0, drift_g_per_h=0.0,
                           load_cell_noise_g=(4.0, 4.0), load_cell_filter=phi)
        sc = random_scenario(STORE, CATALOG, 0, seed=3, duration_s=30.0, sensors=cfg)
        shelf = sorted(STORE.shelves)[0]
        rows = np.concatenate([np.asarray(m.fields["grams"]).reshape(-1, len(m.fields["plate_ids"]))
                               for m in World(STORE, CATALOG, sc).messages() if m.kind == "load_cells" and m.fields["shelf_id"] == shelf])
        x = rows[:, 0] - rows[:, 0].mean()
        return float(x.std()), float(np.corrcoef(x[:-1], x[1:])[0, 1])
    (sd0, r0), (sd8, r8) = noise(0.0), noise(0.8)
    assert abs(r0) < 0.1 and r8 == pytest.approx(0.8, abs=0.05)
    assert sd0 == pytest.approx(4.0, rel=0.1) and sd8 == pytest.approx(4.0, rel=0.15)


def test_record_bag_with_the_scenario_signature(tmp_path):
    from walkout_sim.scenario import group_token

    sc = group_token(STORE, CATALOG)
    truth = record_bag(sc, SensorConfig(depth_hz=2.0, depth_encoding="32FC1"), tmp_path / "bag")
    (receipt,) = truth["receipts"]  # one token, two people: one receipt
    members = [p for p, tr in truth["tracks"].items() if tr["token"] == receipt["session_token"]]
    assert len(members) == 2
    assert receipt["total_cents"] == sum(CATALOG.by_sku[i["sku"]].price_cents * i["qty"] for i in receipt["items"])
    gates = [msg for _t, _, msg in read_messages(tmp_path / "bag", ["/gates/events"])]
    exits = [g.header.stamp.sec + g.header.stamp.nanosec * 1e-9 for g in gates if g.kind == 1]
    assert len(exits) == 2 and abs(max(exits) - receipt["exit_stamp"]) <= 0.5
    assert all(g.session_token == receipt["session_token"] for g in gates if g.kind == 0)
    img = next(msg for _t, _, msg in read_messages(tmp_path / "bag", [STORE.cameras_of_kind("depth")[0].image_topic]))
    assert img.encoding == "32FC1"


def test_handed_over_items_stay_on_the_takers_receipt_unless_put_back_first():
    from walkout_sim.scenario import Action, handover

    sc = handover(STORE, CATALOG)
    truth = World(STORE, CATALOG, sc).truth()
    (h,) = truth["handovers"]
    by_token = {r["session_token"]: {i["sku"]: i["qty"] for i in r["items"]} for r in truth["receipts"]}
    assert by_token["tok-ann"].get(h["sku"]) == 1 and h["sku"] not in by_token["tok-bob"]
    # Bob puts the handed unit back on a shelf: off Ann's receipt if she is still inside then
    sc = handover(STORE, CATALOG)
    bob = sc.shoppers[1]
    bob.actions.append(Action(bob.actions[0].plate_id, h["sku"], -1))
    truth = World(STORE, CATALOG, sc).truth()
    back = next(e for e in truth["events"] if e["n"] < 0)
    assert back["billed_token"] == "tok-ann" and back["person"] == "p1"
    ann_exit = next(r["exit_stamp"] for r in truth["receipts"] if r["session_token"] == "tok-ann")
    ann = {i["sku"]: i["qty"] for r in truth["receipts"] if r["session_token"] == "tok-ann" for i in r["items"]}
    assert ann.get(h["sku"], 0) == (1 if back["t"] >= ann_exit else 0)
    # random scenarios make handovers when asked
    sc = random_scenario(STORE, CATALOG, 6, seed=2, handover_prob=1.0)
    assert any(a.give_to for s in sc.shoppers for a in s.actions)


def test_shelf_clocks_and_gate_stamps_reach_the_contracts_edges():
    # The contract: shelf clocks within 50 ms of the cameras', gate events stamped within
    # 0.5 s of the crossing. Same world, stamped by exact clocks and by the edges' ones.
    def world(**edges):
        cfg = SensorConfig(depth_hz=1.0, knocks_per_min=0.0, lost_batch_frac=0.0, **edges)
        return World(STORE, CATALOG, random_scenario(STORE, CATALOG, 6, seed=4, sensors=cfg))

    exact, edge = world(shelf_clock_s=0.0, gate_stamp_s=0.0), world(shelf_clock_s=0.05, gate_stamp_s=0.5)
    stamps: dict = {}
    for w in (exact, edge):
        for m in w.load_cell_messages():
            stamps.setdefault((id(w), m.fields["shelf_id"]), []).append(m.stamp)
    skews = []
    for shelf in STORE.shelves:  # each batch against the same batch by the exact clock (0.1 s apart)
        a, b = np.array(stamps[(id(exact), shelf)]), np.array(stamps[(id(edge), shelf)])
        d = b[:, None] - a[None, :]
        off = d[np.arange(len(b)), np.abs(d).argmin(1)]
        assert np.ptp(off) < 1e-6  # a constant offset
        skews.append(float(off[0]))
    assert all(abs(k) <= 0.05 for k in skews) and max(skews) - min(skews) > 0.02  # each shelf its own
    delays = [b[0] - a[0] for a, b in zip(exact.timeline.gate_events, edge.timeline.gate_events, strict=True)]
    assert len(delays) == 12 and all(abs(d) <= 0.5 for d in delays) and max(map(abs, delays)) > 0.3
    assert exact.truth() == edge.truth()  # what happened is the same


def test_the_suite_bags_carry_color_images_only_when_asked():
    from walkout_bringup.evaluate import BagOptions

    assert BagOptions().apply(SensorConfig(color_hz=7.0)).color_hz == 0.0  # the contract makes them optional: none by default
    assert BagOptions(color_hz=5.0).apply(SensorConfig()).color_hz == 5.0


def test_the_suite_bags_at_another_depth_size_and_the_option_that_asks_for_it():
    import argparse

    from walkout_bringup.cli import _depth_size
    from walkout_bringup.evaluate import BagOptions

    assert BagOptions().apply(SensorConfig()).depth_size == (160, 120)  # the scenario's own
    big = BagOptions(depth_size=(640, 480)).apply(SensorConfig(depth_hz=1.0))
    assert big.depth_size == (640, 480)
    assert World(STORE, CATALOG, random_scenario(STORE, CATALOG, 2, seed=4, sensors=big)).renderers()["depth1"].width == 640
    assert _depth_size("848X480") == (848, 480)
    for bad, says in (("640", "WIDTHxHEIGHT"), ("120x90", "at least 160x120")):
        with pytest.raises(argparse.ArgumentTypeError, match=says):
            _depth_size(bad)


def test_a_gate_that_reports_late_stamps_every_crossing_late_within_the_contract():
    from walkout_bringup.evaluate import BagOptions

    late = BagOptions(gate_latency_s=0.4).apply(SensorConfig(depth_hz=1.0, knocks_per_min=0.0, lost_batch_frac=0.0, gate_stamp_s=0.5))
    assert late.gate_latency_s == 0.4 and abs(late.gate_stamp_s - 0.1) < 1e-9  # jitter cut: 0.4 + 0.1 <= 0.5
    exact = SensorConfig(depth_hz=1.0, knocks_per_min=0.0, lost_batch_frac=0.0, gate_stamp_s=0.0)
    a = World(STORE, CATALOG, random_scenario(STORE, CATALOG, 6, seed=4, sensors=exact))
    b = World(STORE, CATALOG, random_scenario(STORE, CATALOG, 6, seed=4, sensors=late))
    delays = [y[0] - x[0] for x, y in zip(a.timeline.gate_events, b.timeline.gate_events, strict=True)]
    assert len(delays) == 12 and all(0.3 - 1e-9 <= d <= 0.5 + 1e-9 for d in delays)


def test_varied_bodies_give_each_person_one_build_of_their_own_and_change_nothing_that_happens():
    from walkout_bringup.evaluate import BagOptions
    from walkout_sim.bodies import STANDARD

    plain = SensorConfig(depth_hz=1.0, knocks_per_min=0.0, lost_batch_frac=0.0)
    varied = BagOptions(depth_hz=1.0, varied_bodies=True).apply(plain)
    assert varied.varied_bodies and not BagOptions(depth_hz=1.0).apply(plain).varied_bodies
    a = World(STORE, CATALOG, random_scenario(STORE, CATALOG, 6, seed=4, sensors=plain))
    b = World(STORE, CATALOG, random_scenario(STORE, CATALOG, 6, seed=4, sensors=varied))
    again = World(STORE, CATALOG, random_scenario(STORE, CATALOG, 6, seed=4, sensors=varied))
    assert all(p.build == STANDARD for tr in a.timeline.tracks for p in tr.poses)
    builds = [{p.build for p in tr.poses} for tr in b.timeline.tracks]
    assert all(len(x) == 1 for x in builds) and len({next(iter(x)) for x in builds}) == len(builds)  # one each, all different
    assert builds == [{p.build for p in tr.poses} for tr in again.timeline.tracks]  # the seed decides
    assert a.truth() == b.truth()  # the people move, take and pay the same: only how the cameras see them differs
