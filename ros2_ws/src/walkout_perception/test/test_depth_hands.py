"""Hands at shelves (depth_arms.py) and the learned background (depth_background.py), on
rendered overhead depth images."""

from pathlib import Path

import numpy as np

from walkout_common.store import load_store
from walkout_perception.depth import DepthParams, DepthPerceiver
from walkout_perception.depth_background import DepthBackground
from walkout_sim.bodies import PersonPose
from walkout_sim.depth_render import DepthRenderer

ROOT = Path(__file__).resolve().parents[4]
STORE = load_store(ROOT / "calibration" / "nanostore" / "store.yaml")


def rig(cam_id: str, **params):
    cam = next(c for c in STORE.cameras if c.id == cam_id)
    r = DepthRenderer(STORE, cam)
    dp = DepthPerceiver(STORE, cam, DepthParams(**params))
    dp.set_camera_info(r.K, r.width, r.height)
    return r, dp


def with_box(r: DepthRenderer, depth: np.ndarray, lo, hi) -> np.ndarray:
    """The depth image with an axis-aligned box in the scene (a product sticking out of a shelf)."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    d = r.dirs
    with np.errstate(divide="ignore", invalid="ignore"):
        t0, t1 = (lo - r.t) / d, (hi - r.t) / d
    near = np.nanmax(np.minimum(t0, t1), axis=-1)
    far = np.nanmin(np.maximum(t0, t1), axis=-1)
    hit = (near <= far) & (far > 0)
    z = near * r.zscale
    out = depth.copy()
    closer = hit & ~(np.isfinite(out) & (out <= z))
    out[closer] = z[closer]
    return out


def hands_near(dets, xy, radius=0.15):
    return [d for d in dets if any(np.linalg.norm(h[:2] - np.asarray(xy)) < radius for h in d.hands)]


def test_a_hand_whose_arm_hides_behind_its_own_head_is_found_and_given_to_it():
    # depth2 looks at this shopper from behind: the arm reaching straight ahead is hidden
    # by the head and shoulders, only the hand shows at the shelf, apart from the body
    r, dp = rig("depth2")
    pose = PersonPose(np.array([2.82, 1.58]), 1.67, np.pi / 2, hands=[np.array([2.82, 1.96, 1.05])])
    (d,) = dp.process(0.0, r.render([pose], np.random.default_rng(0))).people
    assert any(np.linalg.norm(h[:2] - [2.82, 1.95]) < 0.1 for h in d.hands)


def test_an_arm_reaching_past_a_neighbour_at_the_shelf_is_not_the_neighbours():
    # the bystander stands right at the shelf; the reacher's arm passes beside them to it
    r, dp = rig("depth2")
    reacher = PersonPose(np.array([2.45, 1.2]), 1.85, 0.9, hands=[np.array([2.9, 1.96, 1.0])])
    bystander = PersonPose(np.array([2.75, 1.72]), 1.6, np.pi / 2)
    dets = dp.process(0.0, r.render([reacher, bystander], np.random.default_rng(1))).people
    assert len(dets) == 2
    by = min(dets, key=lambda d: np.linalg.norm(d.head[:2] - bystander.head_xy))
    re = min(dets, key=lambda d: np.linalg.norm(d.head[:2] - reacher.head_xy))
    assert hands_near([re], [2.9, 1.93]) and not hands_near([by], [2.9, 1.93])


def test_a_body_touching_a_shelf_while_walking_by_is_no_hand():
    r, dp = rig("depth2")
    walker = PersonPose(np.array([2.6, 1.82]), 1.8, 0.0)  # head 0.18 m from the shelf front, no reach
    (d,) = dp.process(0.0, r.render([walker], np.random.default_rng(2))).people
    assert d.hands == []


def test_static_clutter_at_a_shelf_front_is_learned_and_no_hand():
    # A product sticking 8 cm out of the shelf front beside a standing shopper: in a single
    # frame it looks like a hand at the shelf; once the camera has seen it stay put with
    # nobody near, it is background.
    lo, hi = [2.3, 1.92, 0.95], [2.42, 2.0, 1.1]
    shopper = PersonPose(np.array([2.55, 1.55]), 1.75, np.pi / 2)
    r, fresh = rig("depth2")
    single = fresh.process(0.0, with_box(r, r.render([shopper], np.random.default_rng(3)), lo, hi)).people
    assert hands_near(single, [2.36, 1.92], 0.2)  # the test can fail: clutter is a hand at first sight
    r, dp = rig("depth2")
    rng = np.random.default_rng(4)
    for k in range(30):  # 3 s of an empty aisle at 10 Hz
        dp.process(0.1 * k, with_box(r, r.render([], rng), lo, hi))
    later = dp.process(3.0, with_box(r, r.render([shopper], rng), lo, hi)).people
    assert len(later) == 1 and not hands_near(later, [2.36, 1.92], 0.2)


def test_a_shopper_standing_still_from_the_first_frame_is_never_learned():
    r, dp = rig("depth2")
    rng = np.random.default_rng(5)
    still = PersonPose(np.array([2.6, 1.4]), 1.7, np.pi / 2, hands=[np.array([2.6, 1.96, 1.0])])
    for k in range(300):  # 30 s without moving, hand resting on the shelf
        dets = dp.process(0.1 * k, r.render([still], rng)).people
    assert len(dets) == 1 and np.linalg.norm(dets[0].head[:2] - still.head_xy) < 0.06
    assert hands_near(dets, [2.6, 1.95])


def test_background_takes_a_farther_depth_and_learns_a_new_nearer_one():
    bg = DepthBackground((2, 2))
    far, near = np.full((2, 2), 3.0, np.float32), np.full((2, 2), 2.0, np.float32)
    nobody = np.zeros((2, 2), dtype=bool)
    for k in range(20):
        bg.update(0.1 * k, near, nobody)
    assert not bg.foreground(near).any()  # learned
    for k in range(20, 23):
        bg.update(0.1 * k, far, nobody)  # the object was taken away
    assert not bg.foreground(far).any() and bg.foreground(near).all()
    protected = np.ones((2, 2), dtype=bool)
    for k in range(23, 100):
        bg.update(0.1 * k, near, protected)  # a shopper stands there: never learned
    assert bg.foreground(near).all()
    bg.update(10.0, np.zeros((2, 2), np.float32), nobody)  # no reading: changes nothing
    assert bg.foreground(near).all()


def test_a_hand_whose_owner_stands_out_of_view_is_not_given_to_the_one_in_view():
    # depth1 sees the short shopper and the tall one's hand at the shelf, but not the tall
    # one's head (just past its image border): the hand is left to a camera that sees both
    # (the short one would otherwise be billed for the tall one's take)
    r, dp = rig("depth1")
    # (recorded in the held-out suite's `rest` 5009; on the old code the short one got it)
    tall = PersonPose(np.array([2.48, 1.63]), 1.95, np.pi / 2, hands=[np.array([2.45, 1.96, 1.12])])
    short = PersonPose(np.array([2.1, 1.7]), 1.6, np.pi / 2)
    for seed in range(3):
        dets = dp.process(0.0, r.render([tall, short], np.random.default_rng(seed))).people
        assert len(dets) == 1 and np.linalg.norm(dets[0].head[:2] - short.head_xy) < 0.15
        assert not hands_near(dets, [2.45, 1.95])
    # the camera that sees its owner gives it to them (and sees the short one 0.39 m off,
    # whose arm could reach there over the tall one's shoulder: from above, that arm is
    # not seen through, so the hand is theirs too, for the association to weigh)
    r2, dp2 = rig("depth2")
    dets2 = dp2.process(0.0, r2.render([tall, short], np.random.default_rng(0))).people
    assert len(dets2) == 2
    owner = min(dets2, key=lambda d: np.linalg.norm(d.head[:2] - tall.head_xy))
    assert np.linalg.norm(owner.head[:2] - tall.head_xy) < 0.15 and owner in hands_near(dets2, [2.45, 1.95])


def test_an_arm_through_a_shelf_from_out_of_view_does_not_take_a_shoppers_hand():
    # mm_depth_3's view ends behind this gondola: an arm from there, through the shelf,
    # would find the shelf's surfaces all along and outscore the shopper's own (the
    # held-out crowd of 22 lost a take's hand so); an arm reaches a shelf from the aisle
    store = load_store(ROOT / "calibration" / "minimart" / "store.yaml")
    cam = next(c for c in store.cameras if c.id == "mm_depth_3")
    r, dp = DepthRenderer(store, cam), DepthPerceiver(store, cam, DepthParams())
    dp.set_camera_info(r.K, r.width, r.height)
    shopper = PersonPose(np.array([5.96, 4.36]), 1.85, np.pi / 4, hands=[np.array([6.33, 4.76, 1.27])])
    for seed in range(3):
        (d,) = dp.process(0.0, r.render([shopper], np.random.default_rng(seed))).people
        assert hands_near([d], [6.33, 4.76])


def test_an_arm_reaches_a_shelf_from_the_aisle_not_through_the_gondola():
    # a hand at G1A-S1-P2's front (y 2.0, facing -y): a head in that aisle can own it, one
    # across the gondola (the next aisle, or beside its back plates) cannot, whoever sees them
    _, dp = rig("depth2")
    tip = np.array([2.65, 1.98, 1.05])
    places = np.array([[2.62, 1.55], [2.1, 1.6], [2.7, 3.0], [2.65, 2.95], [3.3, 2.9]])
    assert dp._from_aisle(places, tip).tolist() == [True, True, False, False, False]
