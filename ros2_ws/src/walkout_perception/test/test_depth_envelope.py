"""Depth perception across the contract's envelope: encodings, mounting heights, tilt,
worst-case noise and holes, distortion coefficients, and the shelf rasters."""

import logging
import math
from pathlib import Path

import numpy as np
import pytest
from sensor_msgs.msg import Image

from walkout_common.images import depth_to_metres
from walkout_common.store import Camera, load_store, matrix_to_quaternion
from walkout_perception.depth import DepthParams, DepthPerceiver
from walkout_perception.depth_head import HeadCentre, cap_offsets
from walkout_perception.depth_shelves import ShelfMap, _gaps
from walkout_sim.bodies import PersonPose
from walkout_sim.depth_render import DepthRenderer
from walkout_sim.encode import depth_bytes

ROOT = Path(__file__).resolve().parents[4]
STORE = load_store(ROOT / "calibration" / "nanostore" / "store.yaml")
DOWN = np.diag([1.0, -1.0, -1.0])  # optical z down, as the store's cameras


def camera(xyz, tilt_deg=0.0, axis="x") -> Camera:
    t = np.radians(tilt_deg)
    c, s = np.cos(t), np.sin(t)
    r = np.array([[1, 0, 0], [0, c, -s], [0, s, c]]) if axis == "x" else np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return Camera("test_cam", "depth", "test_optical", "/t/image", "/t/info", np.array(xyz, dtype=float), matrix_to_quaternion(r @ DOWN))


def pair(cam, size=(160, 120), noise=0.008, holes=0.04):
    r = DepthRenderer(STORE, cam, *size, noise_frac=noise, hole_frac=holes)
    dp = DepthPerceiver(STORE, cam)
    dp.set_camera_info(r.K, *size)
    return r, dp


def image(depth: np.ndarray, encoding: str) -> Image:
    data, step = depth_bytes(depth, encoding)
    return Image(height=depth.shape[0], width=depth.shape[1], encoding=encoding, step=step, data=data)


def test_16uc1_and_32fc1_give_the_same_people():
    r, dp = pair(next(c for c in STORE.cameras if c.id == "depth1"))
    people = [PersonPose(np.array([0.9, 1.1]), 1.8, 0.0, hands=[np.array([1.5, 1.3, 1.2])]), PersonPose(np.array([1.3, 0.6]), 1.55, 1.0)]
    depth = r.render(people, np.random.default_rng(3))
    a = dp.process(0.0, depth_to_metres(image(depth, "16UC1"))).people
    b = dp.process(0.0, depth_to_metres(image(depth, "32FC1"))).people
    assert len(a) == len(b) == 2
    for x, y in zip(sorted(a, key=lambda d: d.head[0]), sorted(b, key=lambda d: d.head[0]), strict=True):
        assert np.linalg.norm(x.head - y.head) < 0.005  # millimetre rounding only
        assert len(x.hands) == len(y.hands)


@pytest.mark.parametrize("mount_z", [2.4, 3.6])
def test_mounting_heights_of_the_envelope(mount_z):
    r, dp = pair(camera([1.0, 1.0, mount_z]))
    for height in (1.45, 2.05):
        (d,) = dp.process(0.0, r.render([PersonPose(np.array([1.1, 0.9]), height, 0.3)], np.random.default_rng(1))).people
        assert np.linalg.norm(d.head[:2] - [1.1, 0.9]) < 0.05
        assert d.height_m == pytest.approx(height, abs=0.05)


@pytest.mark.parametrize("axis", ["x", "y"])
def test_25_degree_tilt(axis):
    r, dp = pair(camera([3.0, 1.0, 3.2], 25.0, axis))
    for xy in ([3.0, 1.2], [2.6, 0.8], [3.4, 1.3]):
        people = dp.process(0.0, r.render([PersonPose(np.array(xy), 1.75, 0.0)], np.random.default_rng(2))).people
        if not people:  # the head may be out of this camera's view; the renderer says
            assert r.project(np.array([*xy, 1.75])) is None or not _in_view(r, np.array([*xy, 1.75]))
            continue
        (d,) = people
        assert np.linalg.norm(d.head[:2] - xy) < 0.06 and d.height_m == pytest.approx(1.75, abs=0.06)


def _in_view(r: DepthRenderer, p: np.ndarray, border: float = 8.0) -> bool:
    uv = r.project(p)
    return uv is not None and border <= uv[0] <= r.width - border and border <= uv[1] <= r.height - border


def test_worst_noise_and_holes_still_find_heads_arms_and_close_pairs():
    """1.5 % range noise and 10 % random holes (plus the renderer's edge dropouts)."""
    r, dp = pair(next(c for c in STORE.cameras if c.id == "depth4"), noise=0.015, holes=0.10)
    rng = np.random.default_rng(7)
    head_err, tip_err, pairs_found = [], [], 0
    for i in range(12):
        xy = np.array([1.0, 3.4]) + rng.uniform(-0.4, 0.4, 2) * [1.0, 0.5]
        ang = rng.uniform(0, 2 * np.pi)
        tip = np.array([*(xy + 0.6 * np.array([np.cos(ang), np.sin(ang)])), 1.2])
        (d,) = dp.process(0.0, r.render([PersonPose(xy, 1.7, ang, hands=[tip])], rng)).people
        head_err.append(np.linalg.norm(d.head[:2] - xy))
        assert abs(d.height_m - 1.7) < 0.05, i
        assert len(d.hands) == 1, i
        tip_err.append(np.linalg.norm(d.hands[0][:2] - tip[:2]))
        two = [PersonPose(xy, 1.75, 0.0), PersonPose(xy + [0.37, 0.0], 1.6, 0.0)]
        pairs_found += len(dp.process(0.0, r.render(two, rng)).people) == 2
    assert max(head_err) < 0.05
    assert max(tip_err) < 0.10
    assert pairs_found >= 11  # heads 0.37 m apart: at most one miss in 12 noisy frames


@pytest.mark.parametrize("work_width", [0, 320])
def test_a_640x480_camera_read_whole_or_at_every_other_pixel(work_width):
    """A 640x480 camera (many real ones) gives the heads, heights and reach tips a
    160x120 one gives, whether read at every pixel or, to the working width, at every
    n-th; the image must still be the size its CameraInfo says."""
    cam = next(c for c in STORE.cameras if c.id == "depth4")
    r = DepthRenderer(STORE, cam, 640, 480, noise_frac=0.015, hole_frac=0.10)
    dp = DepthPerceiver(STORE, cam, DepthParams(work_width_px=work_width))
    dp.set_camera_info(r.K, 640, 480)
    assert (dp.intrinsic.width, dp.intrinsic.height) == ((320, 240) if work_width else (640, 480))
    rng = np.random.default_rng(3)
    for _ in range(6):
        xy = np.array([1.0, 3.4]) + rng.uniform(-0.4, 0.4, 2) * [1.0, 0.5]
        ang = rng.uniform(0, 2 * np.pi)
        tip = np.array([*(xy + 0.6 * np.array([np.cos(ang), np.sin(ang)])), 1.2])
        (d,) = dp.process(0.0, r.render([PersonPose(xy, 1.7, ang, hands=[tip])], rng)).people
        assert np.linalg.norm(d.head[:2] - xy) < 0.05 and abs(d.height_m - 1.7) < 0.05
        assert len(d.hands) == 1 and np.linalg.norm(d.hands[0][:2] - tip[:2]) < 0.1
    two = [PersonPose(np.array([1.0, 3.4]), 1.75, 0.0), PersonPose(np.array([1.37, 3.4]), 1.6, 0.0)]
    assert len(dp.process(0.0, r.render(two, rng)).people) == 2
    with pytest.raises(ValueError, match="CameraInfo says 640x480"):
        dp.process(0.0, np.zeros((240, 320), np.float32))


def test_the_working_width_reads_every_nth_pixel_of_any_size():
    cam = next(c for c in STORE.cameras if c.id == "depth4")
    for (w, h), cap, want in [((848, 480), 320, (283, 160)), ((320, 240), 320, (320, 240)), ((1280, 720), 160, (160, 90))]:
        dp = DepthPerceiver(STORE, cam, DepthParams(work_width_px=cap))
        k = np.array([[w * 0.6, 0.0, (w - 1) / 2], [0.0, w * 0.6, (h - 1) / 2], [0.0, 0.0, 1.0]])
        dp.set_camera_info(k, w, h)
        s = dp.stride
        assert (dp.intrinsic.width, dp.intrinsic.height) == want and s == math.ceil(w / cap)
        # a map point lands on the read pixel that holds the camera pixel it lands on
        u, v, _ = dp._project(np.array([[1.2, 3.1, 0.9]]))
        full = k @ ((np.linalg.inv(cam.transform) @ [1.2, 3.1, 0.9, 1.0])[:3])
        assert u[0] * s == pytest.approx(full[0] / full[2]) and v[0] * s == pytest.approx(full[1] / full[2])


@pytest.mark.parametrize("old", [False, True])
def test_a_short_shopper_squeezed_into_a_jam_of_tall_ones_is_seen(old):
    """A jam at the contract's closest heads (0.36-0.38 m): a 1.5 m shopper among 1.85-2.05
    m ones, whose shoulders stand higher than its head within a head's width of it. Its
    head top is the highest point only of a narrow window (head_peak_window_m), and its
    region is small once the taller ones took its shoulders, like a raised arm's: its
    round top, 0.33 m or more from its neighbour's, keeps it a person (head_cap_min_sd_m,
    head_dome_apart_m). crowd20 of suite 23000 lost 1 in 5 heads in such jams. With the old settings (a window of 0.26 m, every small region a
    limb) it is mostly lost."""
    r, dp = pair(next(c for c in STORE.cameras if c.id == "depth2"), noise=0.01, holes=0.05)
    if old:
        dp.params.head_peak_window_m, dp.params.head_cap_min_sd_m = 0.26, math.inf
    rng = np.random.default_rng(3)
    found = 0
    for _ in range(10):
        sp = rng.uniform(0.36, 0.38)
        mid = np.array([3.0, 1.2]) + rng.normal(0.0, 0.05, 2)
        jam = [PersonPose(mid, 1.5, rng.uniform(0, 2 * np.pi))]
        jam += [PersonPose(mid + np.array(o) * sp, rng.uniform(1.85, 2.05), rng.uniform(0, 2 * np.pi)) for o in ((-1, 0), (1, 0), (0, 1), (0, -1))]
        dets = dp.process(0.0, r.render(jam, rng)).people
        found += any(np.linalg.norm(d.head[:2] - jam[0].head_xy) < 0.1 for d in dets)
        assert len(dets) <= len(jam)
    assert found <= 4 if old else found >= 8  # measured: 2 and 8 of 10


def test_a_hand_held_up_before_the_face_is_no_head():
    """A shopper looking at a product holds it up 0.25-0.45 m before the face, 0.15-0.45 m
    below the head top: its top is small and round too, but it stands clear of the head
    by less than a body's shoulders do, and only rarely does it pass as a head."""
    r, dp = pair(next(c for c in STORE.cameras if c.id == "depth2"), noise=0.01, holes=0.05)
    rng = np.random.default_rng(5)
    extra = 0
    for _ in range(30):
        xy, h, a = np.array([3.0, 1.2]) + rng.normal(0.0, 0.1, 2), rng.uniform(1.45, 2.05), rng.uniform(0, 2 * np.pi)
        hand = np.array([*(xy + rng.uniform(0.25, 0.45) * np.array([np.cos(a), np.sin(a)])), h - rng.uniform(0.15, 0.45)])
        extra += len(dp.process(0.0, r.render([PersonPose(xy, h, a, hands=[hand])], rng)).people) - 1
    assert extra <= 1


def test_nonzero_distortion_is_warned_once_and_ignored(caplog):
    r, dp = pair(next(c for c in STORE.cameras if c.id == "depth1"))
    depth = r.render([PersonPose(np.array([1.0, 1.0]), 1.8, 0.0)])
    ref = dp.process(0.0, depth).people
    with caplog.at_level(logging.WARNING, logger="walkout.depth"):
        dp.set_camera_info(r.K, 160, 120, np.array([0.1, -0.02, 0.0, 0.0, 0.0]))
        dp.set_camera_info(r.K, 160, 120, np.array([0.1, -0.02, 0.0, 0.0, 0.0]))
        dp.set_camera_info(r.K, 160, 120, np.zeros(5))
        dp.set_camera_info(r.K, 160, 120, np.array([]))
    assert sum("distortion" in rec.getMessage() for rec in caplog.records) == 1
    (d,) = dp.process(0.0, depth).people
    assert np.allclose(d.head, ref[0].head)


def test_person_leaning_on_a_shelf_is_kept_and_the_shelf_is_not_a_person():
    r, dp = pair(next(c for c in STORE.cameras if c.id == "depth2"))
    # the first gondola's aisle-side front is at y = 1.99; a shopper stands 0.3 m from it
    (d,) = dp.process(0.0, r.render([PersonPose(np.array([3.0, 1.65]), 1.7, np.pi / 2)], np.random.default_rng(4))).people
    assert np.linalg.norm(d.head[:2] - [3.0, 1.65]) < 0.05
    assert all(h[1] < 2.0 for h in d.hands)  # nothing inside the gondola


def test_shelf_map_matches_the_exact_rectangles():
    params = DepthParams()
    sm = ShelfMap(STORE.plates, params.shelf_margin_m, params.shelf_head_clearance_m, params.gondola_gap_m)
    xy = np.random.default_rng(0).uniform([-0.5, -0.5], [6.5, 5.0], (20000, 2))
    rects = [(pl.center[:2], np.array([pl.along, pl.front_normal]), pl.size / 2) for pl in STORE.plates]
    rects += _gaps(STORE.plates, params.gondola_gap_m)

    def exact(grow: float) -> np.ndarray:
        out = np.zeros(len(xy), dtype=bool)
        for centre, axes, half in rects:
            out |= np.all(np.abs((xy - centre) @ axes.T) <= half + grow, axis=1)
        return out

    # raster cells are 1 cm: only points within a cell of an edge may differ
    assert (sm.in_shelf(xy) != exact(params.shelf_margin_m)).mean() < 0.01
    assert (sm.near_shelf(xy) != exact(params.shelf_head_clearance_m)).mean() < 0.01
    dist = np.full(len(xy), np.inf)
    for centre, axes, half in rects:
        local = np.abs((xy - centre) @ axes.T) - half
        dist = np.minimum(dist, np.linalg.norm(np.maximum(local, 0.0), axis=1))
    close = dist < sm.pad_m
    assert np.abs(sm.distance_to(xy)[close] - dist[close]).max() < 0.02
    assert np.all(sm.distance_to(xy)[~close] >= sm.pad_m - 0.02)


def test_gaps_between_plates_of_one_gondola_are_shelf_but_the_aisle_is_not():
    sm = ShelfMap(STORE.plates, 0.03, 0.15, gondola_gap_m=0.5)
    # G2's plates are 0.6 m wide at x = 1.6, 2.5, 3.5, 4.4 (gaps of 0.3 and 0.4 m); its front is y = 4.1
    inside = np.array([[2.05, 4.29], [3.0, 4.29], [3.95, 4.15]])
    aisle = np.array([[3.0, 3.9], [3.0, 3.2], [0.5, 4.29], [5.5, 4.29]])
    assert sm.in_shelf(inside).all() and not sm.in_shelf(aisle).any()
    # with no gap allowed only the plates themselves are shelf
    assert not ShelfMap(STORE.plates, 0.03, 0.15, gondola_gap_m=0.0).in_shelf(inside[:2]).any()


def test_a_gondola_top_between_plates_is_not_a_person():
    r, dp = pair(next(c for c in STORE.cameras if c.id == "depth5"), noise=0.015, holes=0.10)
    for seed in range(5):
        assert dp.process(0.0, r.render([], np.random.default_rng(seed))).people == []


def test_short_person_alone_is_kept():
    r, dp = pair(next(c for c in STORE.cameras if c.id == "depth1"), noise=0.015, holes=0.10)
    for facing in np.linspace(0.0, np.pi, 7):
        (d,) = dp.process(0.0, r.render([PersonPose(np.array([1.49, 0.28]), 1.46, facing)], np.random.default_rng(0))).people
        assert np.linalg.norm(d.head[:2] - [1.49, 0.28]) < 0.05


MINIMART = load_store(ROOT / "calibration" / "minimart" / "store.yaml")


def _far_camera(params=None):
    # mm_depth_1 hangs at (1.2, 0.8, 3.6) and sees the north gondola (front y = 5.02, top
    # shelf at 1.45 m) from 4 m away, at a slant
    cam = next(c for c in MINIMART.cameras if c.id == "mm_depth_1")
    r = DepthRenderer(MINIMART, cam, 160, 120, noise_frac=0.015, hole_frac=0.10)
    dp = DepthPerceiver(MINIMART, cam, params)
    dp.set_camera_info(r.K, 160, 120)
    return r, dp


def test_a_far_shelf_under_the_worst_noise_makes_no_heads():
    """At 1.5 % depth noise the top shelf's points, seen from 4 m at a slant, scatter up to
    0.2 m into the aisle at head height: no head may be found there (without the rule,
    there are)."""
    def ghosts(params):
        r, dp = _far_camera(params)
        return sum(d.head[1] > 4.5 for seed in range(40) for d in dp.process(0.0, r.render([], np.random.default_rng(seed))).people)

    assert ghosts(DepthParams(shelf_noise_sigmas=0.0)) > 0
    assert ghosts(DepthParams()) == 0


def test_a_shopper_at_that_far_shelf_is_still_seen():
    """A shopper 0.4 m from that shelf's front is seen by the far camera in every frame
    (from there, at this noise, the head comes out up to 0.25 m toward the camera); one
    closer may be lost by it now and then, and is left to the cameras nearer them."""
    r, dp = _far_camera()
    for seed in range(8):
        people = dp.process(0.0, r.render([PersonPose(np.array([2.6, 4.6]), 1.7, np.pi / 2)], np.random.default_rng(seed))).people
        assert any(np.linalg.norm(d.head[:2] - [2.6, 4.6]) < 0.25 for d in people)


@pytest.mark.parametrize("sphere_m", [0.09, 0.0])
def test_cameras_on_either_side_place_one_head_at_one_point(sphere_m):
    """A camera sees the near side of a head: uncorrected, two cameras 2 m to either side
    of a shopper (rays 54 degrees off the vertical) place them 0.08 m apart."""
    truth = np.array([3.0, 1.1])
    heads = []
    for x, tilt in ((1.0, -25.0), (5.0, 25.0)):
        cam = camera([x, 1.1, 3.2], tilt, "y")
        r = DepthRenderer(STORE, cam, 160, 120, noise_frac=0.008, hole_frac=0.04)
        assert _in_view(r, np.array([*truth, 1.75]))
        dp = DepthPerceiver(STORE, cam, DepthParams(head_sphere_m=sphere_m))
        dp.set_camera_info(r.K, 160, 120)
        (d,) = dp.process(0.0, r.render([PersonPose(truth, 1.75, 0.0)], np.random.default_rng(4))).people
        heads.append(d.head[:2])
    apart = float(np.linalg.norm(heads[0] - heads[1]))
    if sphere_m:
        assert apart < 0.03 and all(np.linalg.norm(h - truth) < 0.02 for h in heads)
    else:  # what the correction is for
        assert apart > 0.06


def test_head_centre_moves_a_slanted_view_away_from_the_camera_only():
    centre = HeadCentre(np.array([2.0, 1.0, 3.0]), 0.09, 0.06)
    below = np.array([2.0, 1.0, 1.7])
    assert np.array_equal(centre(below), below)  # seen from straight above: nothing hidden
    shifts = []
    for dx in (0.3, 0.8, 1.5, 2.5):
        seen = np.array([2.0 + dx, 1.0, 1.7])
        moved = centre(seen)
        assert moved[1] == seen[1] and moved[2] == seen[2]  # along the floor, away from the camera
        shifts.append(moved[0] - seen[0])
    assert all(0 < a < b for a, b in zip(shifts, shifts[1:], strict=False)) and shifts[-1] < 0.09
    assert np.allclose(cap_offsets(0.09, 0.06, np.radians([0.0])), 0.0, atol=1e-3)
