"""The scenario library: every type builds, repeats, and really contains its feature;
the example stores stay inside the contract (the minimart's cameras see everyone)."""

from functools import cache
from pathlib import Path

import numpy as np
import pytest

from walkout_common.store import load_catalog, load_store
from walkout_sim.coverage import envelope_problems, seen_by, standing_points, tilt_deg, unseen_points
from walkout_sim.library import LIBRARY, TWIN_TOL, build, store_files, twins
from walkout_sim.people import Timeline, stand_point
from walkout_sim.scenario import Scenario, SimParams, build_scenario
from walkout_sim.world import World

ROOT = Path(__file__).resolve().parents[4]
STORES = sorted(p.parent.name for p in (ROOT / "calibration").glob("*/store.yaml"))
SEED = 3


@cache
def _scenario(name: str, seed: int = SEED) -> Scenario:
    return build(name, seed)


@cache
def _world(name: str) -> World:
    """The world of a type's scenario: its timeline (people) is simulated, nothing rendered."""
    sc = _scenario(name)
    return World(sc.store, sc.catalog, sc)


def _timeline(name: str) -> Timeline:
    return _world(name).timeline


def _series(world: World, plate_id: str) -> tuple[np.ndarray, np.ndarray]:
    """(sample times, grams) of one plate's load cell."""
    t, g = [], []
    for m in world.load_cell_messages():
        f = m.fields
        if plate_id in f["plate_ids"]:
            rows = np.asarray(f["grams"]).reshape(-1, len(f["plate_ids"]))
            t.append(m.stamp + np.arange(len(rows)) / f["sample_rate_hz"])
            g.append(rows[:, f["plate_ids"].index(plate_id)])
    return np.concatenate(t), np.concatenate(g)


def _median(t: np.ndarray, g: np.ndarray, a: float, b: float) -> float:
    return float(np.nanmedian(g[(t >= a) & (t < b)]))


# ---- every type ----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(LIBRARY))
def test_every_type_builds_repeatably_in_its_store(name):
    kind = LIBRARY[name]
    sc = _scenario(name)
    assert sc.kind == name and kind.name == name and kind.description
    assert sc.store is store_files(kind.store)[0]
    assert sc == build(name, SEED)  # same seed, same scenario (shoppers, actions, sensors)
    assert build(name, SEED + 1).shoppers != sc.shoppers
    tokens = {s.token for s in sc.shoppers}
    assert 1 <= len(tokens) <= 2 * kind.sessions
    assert sc.sensors.depth_hz == 10.0  # the eval's rate; eval may replace it
    plates = sc.store.plates_by_id
    for s in sc.shoppers:
        assert 1.45 <= s.height <= 2.05
        for a in s.actions:
            assert a.give_to or a.plate_id in plates


def test_everyone_leaves_and_the_truth_is_the_billing_rule():
    for name in ("putback", "groups", "handoff", "multi", "touch"):
        world = _world(name)
        truth = world.truth()
        assert set(world.timeline.exits) == {s.person_id for s in world.scenario.shoppers}
        assert len(truth["receipts"]) == len({s.token for s in world.scenario.shoppers})
        # per token: everything its members took, less what anyone put back before the taker left
        want: dict = {}
        for e in world.timeline.truth_events:
            if e.n < 0 and world.timeline.exits[e.taker_id] <= e.t:
                continue
            want.setdefault(e.billed_token, {}).setdefault(e.sku, 0)
            want[e.billed_token][e.sku] += e.n
        for r in truth["receipts"]:
            got = {i["sku"]: i["qty"] for i in r["items"]}
            assert got == {k: v for k, v in want.get(r["session_token"], {}).items() if v > 0}, name


def test_library_names_work_in_the_sim_parameters():
    store, catalog = store_files("minimart")
    sc = build_scenario(SimParams(scenario="crossing", seed=2, depth_hz=12.0), store, catalog)
    assert sc.kind == "crossing" and sc.sensors.depth_hz == 12.0
    dark = build_scenario(SimParams(scenario="dark", seed=2), *store_files("nanostore"))
    assert dark.sensors.dark_cameras  # a type's own sensor settings stay
    with pytest.raises(ValueError):
        build_scenario(SimParams(scenario="twins"), *store_files("corner_shop"))  # no twins there


# ---- each type's feature ---------------------------------------------------------------


def _sync_events(name: str) -> list:
    sc, tl = _scenario(name), _timeline(name)
    synced = {(s.person_id, a.plate_id) for s in sc.shoppers for a in s.actions if a.sync}
    return [e for e in tl.truth_events if (e.person_id, e.plate_id) in synced]


def test_crowding_puts_four_or_more_side_by_side_reaching_at_once():
    evs = _sync_events("crowding")
    assert len({e.person_id for e in evs}) >= 4
    assert max(e.t for e in evs) - min(e.t for e in evs) < 3.5
    plates = _scenario("crowding").store.plates_by_id
    spots = np.array([stand_point(plates[e.plate_id]) for e in evs])
    d = np.linalg.norm(spots[:, None] - spots[None], axis=-1)
    assert np.all(d + np.eye(len(evs)) >= 0.5) and d.max() < 0.95 * len(evs)  # adjacent, shoulder to shoulder
    # and they really stand there together at the moment
    t = float(np.mean([e.t for e in evs]))
    heads = np.array([p.head_xy for p in _timeline("crowding").poses_at(t)])
    assert sum(np.min(np.linalg.norm(heads - s, axis=1)) < 0.35 for s in spots) >= 4


def _cross(a0, a1, b0, b1) -> bool:
    """Whether 2D segments a0-a1 and b0-b1 intersect."""
    def side(p, q, r):
        return np.sign((q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]))
    return side(a0, a1, b0) != side(a0, a1, b1) and side(b0, b1, a0) != side(b0, b1, a1)


def test_crossing_reaches_cross_arms():
    tl = _timeline("crossing")
    evs = _sync_events("crossing")
    assert len({e.person_id for e in evs}) == 2 and abs(evs[0].t - evs[1].t) < 1.0
    crossed = False
    for t in np.arange(min(e.t for e in evs) - 1.0, max(e.t for e in evs) + 1.0, 0.05):
        arms = [(p.head_xy, p.hands[0][:2]) for p in tl.poses_at(t) if p.hands]
        crossed |= len(arms) >= 2 and any(_cross(*a, *b) for i, a in enumerate(arms) for b in arms[i + 1 :])
    assert crossed


def test_two_shoppers_take_from_one_plate_at_nearly_the_same_time():
    tl = _timeline("sameplate")
    a, b = _sync_events("sameplate")
    assert a.plate_id == b.plate_id and a.person_id != b.person_id and abs(a.t - b.t) < 1.0
    plate = _scenario("sameplate").store.plates_by_id[a.plate_id]
    both = [t for t in np.arange(min(a.t, b.t) - 1.0, max(a.t, b.t) + 1.0, 0.05)
            if sum(bool(p.hands) and plate.distance_to_front(p.hands[0]) < 0.1 for p in tl.poses_at(t)) == 2]
    assert both  # both hands at that plate's front at one moment


def test_several_units_in_one_reach():
    ns = [e.n for e in _timeline("multi").truth_events]
    assert max(ns) >= 2 and min(ns) <= -2


def test_put_backs_then_someone_takes_the_foreign_item():
    tl, catalog = _timeline("putback"), _scenario("putback").catalog
    backs = [e for e in tl.truth_events if e.n < 0]
    home = [e for e in backs if e.plate_id in catalog.by_sku[e.sku].plates]
    foreign = [e for e in backs if e.plate_id not in catalog.by_sku[e.sku].plates]
    assert home and foreign
    f = foreign[0]
    later = [e for e in tl.truth_events if e.n > 0 and e.sku == f.sku and e.plate_id == f.plate_id and e.t > f.t]
    assert later and later[0].person_id != f.person_id


def test_groups_share_tokens_and_hand_items_inside():
    sc, tl = _scenario("groups"), _timeline("groups")
    sizes = sorted(sum(s.token == tok for s in sc.shoppers) for tok in {s.token for s in sc.shoppers})
    assert sizes[-2:] == [2, 3]
    token = {s.person_id: s.token for s in sc.shoppers}
    assert any(token[h.giver] == token[h.receiver] for h in tl.handovers)


def test_handoffs_stay_on_the_takers_receipt():
    world = _world("handoff")
    truth = world.truth()
    token = {s.person_id: s.token for s in world.scenario.shoppers}
    assert len(truth["handovers"]) == 2
    for h in truth["handovers"]:
        assert token[h["giver"]] != token[h["receiver"]]
    a = truth["handovers"][0]  # A's second unit went to B: still billed to A unless put back before A left
    takes = [e for e in truth["events"] if e["person"] == a["giver"] and e["sku"] == a["sku"]]
    back = [e for e in truth["events"] if e["n"] < 0 and e["sku"] == a["sku"]]
    assert all(e["billed_token"] == token[a["giver"]] for e in back)
    receipt = {r["session_token"]: {i["sku"]: i["qty"] for i in r["items"]} for r in truth["receipts"]}
    undone = sum(-e["n"] for e in back if e["t"] < world.timeline.exits[a["giver"]])
    assert receipt[token[a["giver"]]].get(a["sku"], 0) == sum(e["n"] for e in takes) - undone


def test_twins_on_one_plate_weigh_within_3_percent():
    sc, tl = _scenario("twins"), _timeline("twins")
    assert tl.truth_events
    for e in tl.truth_events:
        pairs = twins(sc.catalog, e.plate_id)
        assert any(e.sku in p for p in pairs)
        for a, b in pairs:
            wa, wb = sc.catalog.by_sku[a].weight_g, sc.catalog.by_sku[b].weight_g
            assert abs(wa - wb) <= TWIN_TOL * min(wa, wb)


def test_a_touch_moves_the_plate_and_it_comes_back_with_no_event():
    world = _world("touch")
    tl, sc = world.timeline, world.scenario
    touched = {a.plate_id for s in sc.shoppers for a in s.actions if a.n == 0}
    presses = [c for c in tl.plate_changes if c.press and c.plate_id in touched]
    leans = [c for c in presses if c.grams >= 300]
    assert len(presses) >= 3 and leans
    for c in presses:
        near = [e for e in tl.truth_events if e.plate_id == c.plate_id and abs(e.t - c.t0) < 1.5]
        assert not near
    t, g = _series(world, leans[0].plate_id)
    c = leans[0]
    before, after = _median(t, g, c.t0 - 1.2, c.t0 - 0.2), _median(t, g, c.t1 + 0.3, c.t1 + 1.3)
    assert abs(after - before) < 8.0  # back to its level: nothing was taken
    assert _median(t, g, c.t0, c.t1) - before > 0.5 * c.grams  # while the hand leans on it


def test_rests_and_slow_picks():
    for c in _timeline("rest").plate_changes:
        if not c.press:  # every unit change comes right after the hand rested on that plate
            assert any(p.press and p.plate_id == c.plate_id and 0 <= c.t0 - p.t0 < 1.0 for p in _timeline("rest").plate_changes)
    assert all(c.t1 - c.t0 >= 2.0 for c in _timeline("slow").plate_changes)


def test_knocks_lost_batches_and_noise_at_the_envelope():
    assert _scenario("knock").sensors.knocks_per_min >= 4.0
    cfg = _scenario("noisy").sensors
    assert (cfg.depth_noise_frac, cfg.depth_hole_frac, cfg.load_cell_noise_g[1]) == (0.015, 0.10, 5.0)
    world = _world("lost")
    assert world.scenario.sensors.lost_batch_frac == 0.01
    got = sum(1 for _ in world.load_cell_messages())
    cfg = world.scenario.sensors
    want = sum(int(np.ceil(world.end * cfg.load_cell_hz / cfg.load_cell_batch)) for _ in world.store.shelves)
    assert 0.002 < 1 - got / want < 0.025


def test_drift_at_the_maximum_over_minutes_of_an_empty_store():
    world = _world("drift")
    tl, cfg = world.timeline, world.scenario.sensors
    assert cfg.drift_full and cfg.drift_g_per_h == 100.0
    first_out = min(tl.exits.values())
    later_in = min(tr.t[0] for tr in tl.tracks if tr.t[0] > first_out)
    assert later_in - first_out > 120.0 and world.end < 200.0  # idle minutes, a short bag
    plate = tl.truth_events[-1].plate_id
    t, g = _series(world, plate)
    idle = (t > first_out + 5) & (t < later_in - 5) & np.isfinite(g)
    slope_per_h = np.polyfit(t[idle], g[idle], 1)[0] * 3600
    assert 85.0 < abs(slope_per_h) < 115.0


def test_a_dark_camera_sends_nothing_while_shoppers_pick_below_it():
    world = _world("dark")
    ((cam_id, a, b),) = world.scenario.sensors.dark_cameras
    assert b - a >= 6.0 - 1e-9
    assert all(a < e.t < b for e in _sync_events("dark"))
    stamps = [m.stamp for m in world._depth(cam_id, world.renderers()[cam_id]) if m.kind == "depth"]
    assert not [s for s in stamps if a <= s < b]
    assert len(stamps) > 0.8 * (world.end - (b - a)) * world.scenario.sensors.depth_hz  # the rest of the time it works
    # the shoppers picking then are below that camera: it would see their heads
    pickers = {e.person_id for e in _sync_events("dark")}
    heads = [[*tr.poses[i].head_xy, tr.poses[i].height] for tr in world.timeline.tracks if tr.person_id in pickers
             for e in _sync_events("dark") if e.person_id == tr.person_id for i in [int(np.searchsorted(tr.t, e.t))]]
    assert seen_by(world.renderers()[cam_id], np.array(heads)).all()


def test_twenty_and_more_shoppers_at_once():
    tl = _timeline("crowd20")
    assert max(len(tl.poses_at(t)) for t in np.arange(0.0, tl.end_time, 1.0)) >= 20
    assert len({s.token for s in _scenario("crowd20").shoppers}) == 20
    assert set(tl.exits) == {s.person_id for s in _scenario("crowd20").shoppers}


# ---- the stores ------------------------------------------------------------------------


def test_the_minimart_cameras_see_every_head_wherever_a_person_can_stand():
    store = load_store(ROOT / "calibration" / "minimart" / "store.yaml")
    assert len(standing_points(store)) > 2000
    assert len(unseen_points(store)) == 0  # heads at 1.45, 1.75 and 2.05 m, 160 x 120 pixels
    heights = [float(c.translation[2]) for c in store.cameras_of_kind("depth")]
    tilts = [tilt_deg(c) for c in store.cameras_of_kind("depth")]
    assert max(heights) - min(heights) >= 0.8 and min(tilts) < 1.0 and max(tilts) >= 20.0
    assert min(float(p.size[0]) for p in store.plates) <= 0.1


@pytest.mark.parametrize("name", STORES)
def test_stores_follow_the_contract(name):
    store = load_store(ROOT / "calibration" / name / "store.yaml")
    catalog = load_catalog(ROOT / "calibration" / name / "catalog.yaml", store)
    assert envelope_problems(store) == []
    assert len(unseen_points(store, heights=(1.45,))) == 0  # every standing point seen, at least at a short person's head
    assert all(5.0 <= p.weight_g <= 3000.0 for p in catalog.products)
    assert max(len(catalog.stocked_on(p.id)) for p in store.plates) <= 4
