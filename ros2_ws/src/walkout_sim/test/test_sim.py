"""The simulator: geometry of its renders, determinism, load cells, bags."""

import json
from pathlib import Path

import numpy as np

from walkout_common.bagio import read_messages
from walkout_common.msgconv import load_cell_batch
from walkout_common.store import load_catalog, load_store
from walkout_sim.bag import record_bag
from walkout_sim.bodies import PersonPose
from walkout_sim.depth_render import DepthRenderer
from walkout_sim.scenario import SensorConfig, random_scenario, single_shopper
from walkout_sim.world import World

ROOT = Path(__file__).resolve().parents[4]
STORE = load_store(ROOT / "calibration" / "nanostore" / "store.yaml")
CATALOG = load_catalog(ROOT / "calibration" / "nanostore" / "catalog.yaml", STORE)


def test_head_renders_at_its_pixel_and_depth():
    cam = STORE.cameras[0]
    r = DepthRenderer(STORE, cam)
    uv = r.project(np.array([1.3, 1.2, 1.8]))
    depth = r.render([PersonPose(np.array([1.3, 1.2]), 1.8, 0.0)])
    u, v = int(round(uv[0])), int(round(uv[1]))
    assert abs(depth[v, u] - (3.2 - 1.8)) < 0.02
    assert abs(np.nanmax(depth) - 3.2) < 0.6  # the floor, seen slanted at the image corners


def test_gondola_hides_what_is_below_its_top():
    cam = next(c for c in STORE.cameras if c.id == "depth2")
    r = DepthRenderer(STORE, cam)
    uv = r.project(np.array([2.65, 2.2, 1.65]))
    depth = r.render([])
    assert abs(depth[int(round(uv[1])), int(round(uv[0]))] - (3.2 - 1.65)) < 0.05


def test_noise_and_holes_within_bounds():
    r = DepthRenderer(STORE, STORE.cameras[0], noise_frac=0.01, hole_frac=0.05)
    clean = r.render([])
    noisy = r.render([], np.random.default_rng(0))
    holes = np.isnan(noisy).mean()
    rel = np.nanstd((noisy - clean) / clean)
    assert 0.04 < holes < 0.10 and 0.008 < rel < 0.012


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
