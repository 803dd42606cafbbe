"""People from rendered overhead depth images (the simulator's ray caster)."""

from pathlib import Path

import numpy as np
import pytest

from walkout_common.store import Camera, load_store, matrix_to_quaternion
from walkout_perception.depth import DepthPerceiver
from walkout_sim.bodies import BodyBuild, PersonPose
from walkout_sim.depth_render import DepthRenderer

ROOT = Path(__file__).resolve().parents[4]
STORE = load_store(ROOT / "calibration" / "nanostore" / "store.yaml")


def setup(cam_id="depth1", camera=None, size=(160, 120)):
    cam = camera or next(c for c in STORE.cameras if c.id == cam_id)
    r = DepthRenderer(STORE, cam, *size)
    dp = DepthPerceiver(STORE, cam)
    dp.set_camera_info(r.K, *size)
    return r, dp


def detect(r, dp, people, seed=0):
    return dp.process(0.0, r.render(people, np.random.default_rng(seed))).people


def test_one_person_head_and_height():
    r, dp = setup()
    (d,) = detect(r, dp, [PersonPose(np.array([1.0, 1.0]), 1.8, 0.0)])
    assert np.linalg.norm(d.head[:2] - [1.0, 1.0]) < 0.05
    assert d.height_m == pytest.approx(1.8, abs=0.06)
    assert d.hands == []


def test_empty_store_and_shelves_give_nothing():
    for cam in ("depth2", "depth5"):
        r, dp = setup(cam)
        assert detect(r, dp, []) == []


def test_heads_035_m_apart_are_two_people():
    r, dp = setup()
    people = [PersonPose(np.array([0.8, 1.0]), 1.75, 0.0), PersonPose(np.array([1.15, 1.0]), 1.6, 0.0)]
    heads = sorted(d.head[0] for d in detect(r, dp, people))
    assert len(heads) == 2 and abs(heads[0] - 0.8) < 0.06 and abs(heads[1] - 1.15) < 0.06


def test_reaching_arm_tip_at_the_shelf_front():
    r, dp = setup("depth5")
    # a hand inside plate G2-S2-P3 (front edge at y = 4.1); seen up to the shelf front
    (d,) = detect(r, dp, [PersonPose(np.array([3.5, 3.68]), 1.68, np.pi / 2, hands=[np.array([3.6, 4.18, 1.57])])])
    assert np.linalg.norm(d.head[:2] - [3.5, 3.68]) < 0.06
    (hand,) = d.hands
    assert abs(hand[1] - 4.05) < 0.08 and abs(hand[0] - 3.6) < 0.1


# Builds at the edges of the simulator's variety (bodies.varied_build), as another
# simulator or a real store may show people: slight and thin-armed, broad with a bent
# elbow, a backpack, a basket in the free hand.
OTHER_BUILDS = [BodyBuild(head_r=0.085, arm_r=0.033, shoulder_half=0.13, torso_r=0.1),
                BodyBuild(head_r=0.115, arm_r=0.06, shoulder_half=0.2, torso_r=0.15, elbow_drop=0.15),
                BodyBuild(backpack=True, basket=True, elbow_drop=0.08),
                BodyBuild(head_r=0.09, arm_r=0.035, shoulder_half=0.2, basket=True, elbow_drop=0.15)]
SHELF_FRONT_Y = 4.1  # plates G2-S2-*, under depth5


def _at_shelf(hands, near_m=0.15):
    return [h for h in hands if abs(h[1] - SHELF_FRONT_Y) < near_m]


@pytest.mark.parametrize("build", OTHER_BUILDS)
def test_other_builds_give_one_head_and_the_reaching_arms_tip(build):
    r, dp = setup("depth5")
    (d,) = detect(r, dp, [PersonPose(np.array([3.5, 3.68]), 1.68, np.pi / 2, hands=[np.array([3.6, 4.18, 1.57])], build=build)])
    assert np.linalg.norm(d.head[:2] - [3.5, 3.68]) < 0.06 and d.height_m == pytest.approx(1.68, abs=0.06)
    (hand,) = _at_shelf(d.hands)  # a broad shopper's hanging arm or basket may read as a tip too, never at the shelf
    assert abs(hand[1] - 4.05) < 0.08 and abs(hand[0] - 3.6) < 0.1


@pytest.mark.parametrize("build", OTHER_BUILDS)
def test_a_basket_or_hanging_arm_half_a_metre_from_a_shelf_is_no_hand_at_it(build):
    r, dp = setup("depth5")
    # side on to the shelf, the free arm (and basket) on its side; closer than about 0.45 m
    # a broad shopper's hanging arm can read as a hand at the shelf (the README's limits)
    for y in (3.55, 3.6):
        (d,) = detect(r, dp, [PersonPose(np.array([3.5, y]), 1.6, 0.0, build=build)])
        assert np.linalg.norm(d.head[:2] - [3.5, y]) < 0.06
        assert _at_shelf(d.hands) == []


def test_arm_crossing_in_front_of_another_person_stays_with_its_owner():
    r, dp = setup("depth2")
    reacher = PersonPose(np.array([2.3, 1.5]), 1.85, 0.0, hands=[np.array([2.95, 2.08, 1.0])])
    bystander = PersonPose(np.array([2.75, 1.45]), 1.6, np.pi / 2)
    dets = detect(r, dp, [reacher, bystander])
    assert len(dets) == 2
    owner = min(dets, key=lambda d: np.linalg.norm(d.head[:2] - reacher.head_xy))
    other = max(dets, key=lambda d: np.linalg.norm(d.head[:2] - reacher.head_xy))
    # the tip is found within 0.2 m of the shelf-front point even across the other body
    assert owner.hands and np.linalg.norm(owner.hands[0][:2] - [2.95, 2.0]) < 0.2
    assert not any(np.linalg.norm(h[:2] - [2.95, 2.0]) < 0.15 for h in other.hands)


def test_tilted_camera_and_larger_image():
    tilt = np.radians(20.0)
    rx = np.array([[1, 0, 0], [0, np.cos(tilt), -np.sin(tilt)], [0, np.sin(tilt), np.cos(tilt)]])
    cam = Camera("tilted", "depth", "tilted_optical", "/t/image", "/t/info", np.array([1.5, 0.6, 3.0]),
                 matrix_to_quaternion(rx @ np.diag([1.0, -1.0, -1.0])))
    r, dp = setup(camera=cam, size=(200, 150))
    (d,) = detect(r, dp, [PersonPose(np.array([1.4, 1.3]), 1.7, 0.0)])
    assert np.linalg.norm(d.head[:2] - [1.4, 1.3]) < 0.06 and d.height_m == pytest.approx(1.7, abs=0.06)


def test_bad_input_is_named():
    r, dp = setup()
    with pytest.raises(ValueError, match="CameraInfo says 160x120"):
        dp.process(0.0, np.zeros((10, 10), np.float32))
    fresh = DepthPerceiver(STORE, STORE.cameras[0])
    with pytest.raises(ValueError, match="before its CameraInfo"):
        fresh.process(0.0, np.zeros((120, 160), np.float32))
    with pytest.raises(ValueError, match="no usable intrinsics"):
        fresh.set_camera_info(np.zeros((3, 3)), 160, 120)
