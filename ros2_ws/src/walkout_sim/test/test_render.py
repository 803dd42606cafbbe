"""Depth renderer geometry: bodies, gondolas, the capsule ray test, noise statistics."""

from dataclasses import replace
from pathlib import Path

import numpy as np

from walkout_common.store import load_store
from walkout_sim.bodies import STANDARD, BodyBuild, PersonPose, gondolas, varied_build
from walkout_sim.depth_render import DepthRenderer, _ray_capsules

ROOT = Path(__file__).resolve().parents[4]
STORE = load_store(ROOT / "calibration" / "nanostore" / "store.yaml")
CORNER = load_store(ROOT / "calibration" / "corner_shop" / "store.yaml")


def _pixel(r: DepthRenderer, p) -> tuple[int, int]:
    uv = r.project(np.asarray(p, dtype=float))
    return int(round(uv[1])), int(round(uv[0]))


def test_capsule_ray_test_matches_ray_marching():
    rng = np.random.default_rng(3)
    o = np.array([0.1, -0.2, 3.0])
    a = rng.uniform(-0.5, 0.5, (6, 3)) + [0, 0, 1.0]
    b = a + rng.uniform(-0.4, 0.4, (6, 3))
    b[0] = a[0]  # one sphere
    r = rng.uniform(0.04, 0.15, 6)
    d = rng.normal(size=(400, 3)) * [0.25, 0.25, 0.0] + [0, 0, -1.0]
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    got = _ray_capsules(o, d.astype(np.float32), a, b, r)
    # brute force: march each ray in 1 mm steps, distance to every segment
    ts = np.arange(0.0, 4.0, 0.001)
    pts = o + ts[:, None, None] * d[None]  # (T, P, 3)
    dist = np.full(pts.shape[:2], np.inf)
    for ai, bi, ri in zip(a, b, r, strict=True):
        ba = bi - ai
        s = np.clip(((pts - ai) @ ba) / max(ba @ ba, 1e-12), 0.0, 1.0)
        dist = np.minimum(dist, np.linalg.norm(pts - ai - s[..., None] * ba, axis=-1) - ri)
    inside = dist <= 0
    want = np.where(inside.any(0), ts[np.argmax(inside, axis=0)], np.inf)
    assert np.array_equal(np.isinf(got), np.isinf(want)) or np.mean(np.isinf(got) != np.isinf(want)) < 0.01
    both = np.isfinite(got) & np.isfinite(want)
    assert both.sum() > 50
    assert np.max(np.abs(got[both] - want[both])) < 0.003


def test_head_renders_at_its_pixel_and_depth():
    cam = STORE.cameras_of_kind("depth")[0]
    r = DepthRenderer(STORE, cam)
    xy = cam.translation[:2] + [0.3, 0.2]
    for height in (1.45, 1.75, 2.05):
        depth = r.render([PersonPose(xy, height, 0.4)])
        v, u = _pixel(r, [*xy, height])
        # the top of the head, seen from 3.2 m (a little slanted off the axis)
        assert abs(depth[v, u] - (cam.translation[2] - height)) < 0.03
    empty = r.render([])
    assert abs(empty[v, u] - cam.translation[2]) < 0.01  # the floor, straight below is at 3.2 m


def test_shoulders_are_about_045_m_wide_and_arms_reach_their_hands():
    cam = STORE.cameras_of_kind("depth")[0]
    r = DepthRenderer(STORE, cam, 320, 240)
    xy = cam.translation[:2].copy()
    p = PersonPose(xy, 1.8, 0.0)
    d = r.render([p])
    floor = r.render([])
    body = d < floor - 0.05
    # across the shoulders (map y at facing 0), at the shoulders' height
    ys = np.arange(-0.4, 0.4, 0.005)
    hit = [body[_pixel(r, [xy[0], xy[1] + y, p.shoulder_z])] for y in ys]
    width = np.ptp(ys[np.array(hit)])
    assert 0.38 < width < 0.52
    hand = np.array([xy[0] + 0.55, xy[1] + 0.1, 1.2])
    d = r.render([PersonPose(xy, 1.8, 0.0, [hand])])
    v, u = _pixel(r, hand + [0, 0, 0.04])
    assert abs(d[v, u] - (cam.translation[2] - hand[2] - 0.045)) < 0.05


def test_varied_builds_are_drawn_per_person_and_show_their_baskets_and_bent_elbows():
    builds = [varied_build(np.random.default_rng(seed)) for seed in range(200)]
    assert builds[7] == varied_build(np.random.default_rng(7)) and len(set(builds)) == 200
    assert 0.2 < np.mean([b.basket for b in builds]) < 0.6 and 0.15 < np.mean([b.backpack for b in builds]) < 0.5
    assert min(b.arm_r for b in builds) < 0.04 < 0.055 < max(b.arm_r for b in builds)
    cam = STORE.cameras_of_kind("depth")[0]
    r = DepthRenderer(STORE, cam, 320, 240)
    xy = cam.translation[:2].copy()
    plain = PersonPose(xy, 1.7, 0.0)
    floor, d0 = r.render([]), r.render([plain])
    # a basket in the free hand: 0.3 m fore and aft of it, below the hip
    d1 = r.render([replace(plain, build=BodyBuild(basket=True))])
    tip = np.array([xy[0], xy[1] + STANDARD.shoulder_half + 0.03, plain.hip_z - 0.02])
    for fore in (-0.14, 0.14):
        v, u = _pixel(r, tip + [fore, 0, -0.1])
        assert d0[v, u] > floor[v, u] - 0.01 and d1[v, u] < floor[v, u] - 0.3
    # a bent elbow: the arm's middle hangs lower than the straight line, the hand where it was
    hand = np.array([xy[0] + 0.55, xy[1] + 0.1, 1.2])
    straight = r.render([PersonPose(xy, 1.7, 0.0, [hand])])
    bent = r.render([PersonPose(xy, 1.7, 0.0, [hand], build=BodyBuild(elbow_drop=0.15))])
    mid = (np.array([*xy, 0.818 * 1.7]) + [0, 0.16, 0] + hand) / 2
    v, u = _pixel(r, mid)
    assert bent[v, u] > straight[v, u] + 0.1
    v, u = _pixel(r, hand + [0, 0, 0.04])
    assert abs(bent[v, u] - straight[v, u]) < 0.03


def test_gondolas_cover_their_plates_and_hide_what_is_below_the_top():
    for store in (STORE, CORNER):
        boxes = gondolas(store)
        assert len(boxes) < len(store.plates)  # grouped, not one per plate
        for p in store.plates:
            assert any(b.contains_xy(p.center[:2]) and b.top > p.center[2] for b in boxes)
    cam = next(c for c in STORE.cameras if c.kind == "depth" and np.linalg.norm(c.translation[:2] - [2.65, 2.4]) < 1.5)
    r = DepthRenderer(STORE, cam)
    plate = min(STORE.plates, key=lambda p: p.center[2])  # the lowest plate: others stand above it
    box = next(b for b in gondolas(STORE) if b.contains_xy(plate.center[:2]))
    empty = r.render([])
    v, u = _pixel(r, [*plate.center[:2], box.top])
    assert abs(empty[v, u] - (cam.translation[2] - box.top)) < 0.1
    # a hand inside the shelf, below its top, is hidden; the arm shows at the shelf front
    inside = np.array([*(plate.center[:2]), plate.center[2] + 0.1])
    stand = plate.front_center[:2] + plate.front_normal * 0.45
    seen = r.render([PersonPose(stand, 1.8, 0.0, [inside])])
    assert abs(seen[v, u] - empty[v, u]) < 1e-6


def test_bounding_boxes_do_not_crop_bodies():
    cam = STORE.cameras_of_kind("depth")[1]
    r = DepthRenderer(STORE, cam)
    rng = np.random.default_rng(1)
    people = []
    for _ in range(6):
        xy = cam.translation[:2] + rng.uniform(-1.2, 1.2, 2)
        hands = [np.array([*(xy + rng.uniform(-0.6, 0.6, 2)), rng.uniform(0.6, 1.6)])]
        people.append(PersonPose(xy, float(rng.uniform(1.45, 2.05)), float(rng.uniform(0, 6.3)), hands))
    fast = r.render(people)
    # reference: every capsule against every pixel
    t = r.static.copy()
    for p in people:
        a, b, rad = p.capsules()
        t = np.minimum(t, _ray_capsules(r.t, r.dirs.reshape(-1, 3), a, b, rad).reshape(t.shape))
    ref = (t * r.zscale).astype(np.float32)
    assert np.allclose(np.nan_to_num(fast), np.nan_to_num(ref), atol=2e-3)


def test_noise_and_holes_within_bounds():
    cam = CORNER.cameras_of_kind("depth")[0]  # a tilted one
    for noise, hole in ((0.005, 0.02), (0.015, 0.10)):
        r = DepthRenderer(CORNER, cam, 200, 150, noise_frac=noise, hole_frac=hole)
        people = [PersonPose(cam.translation[:2] + [0.2, 0.1], 1.7, 0.0)]
        clean = r.render(people)
        noisy = r.render(people, np.random.default_rng(0))
        holes = np.isnan(noisy).mean() - np.isnan(clean).mean()
        rel = (noisy - clean) / clean
        assert abs(holes - hole) < 0.25 * hole + 0.005
        assert abs(np.nanstd(rel) - noise) < 0.1 * noise
        assert abs(np.nanmean(rel)) < 0.1 * noise
    assert np.array_equal(r.render(people), r.render(people))  # rng=None: noise-free, repeatable
