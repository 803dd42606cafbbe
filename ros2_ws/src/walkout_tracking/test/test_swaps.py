"""The swap shadow on its own: two shoppers meet, and one frame's pairing may be wrong."""

import numpy as np
import pytest

from walkout_tracking.swaps import Encounter, Head, SwapParams, spawn

P = SwapParams()
DT = 0.1  # one camera at 10 Hz


def head(x, y, vx, vy, height, t=0.0):
    return Head(np.array([x, y, vx, vy], float), np.diag([0.005, 0.005, 0.05, 0.05]), height, t)


def shoppers(t):
    """A walks east at 1 m/s along y = 0, B west along y = 0.3; they pass at t = 1 s.
    (place, height) of each."""
    return (np.array([-1.0 + t, 0.0]), 1.80), (np.array([1.0 - t, 0.3]), 1.62)


def follow(tracker_swapped: bool, rng, p_other=0.3, meet=1.0, until=2.0, dt=DT, weight=1.0):
    """Tracks a and b follow A and B up to `meet`; from then on the tracker's a follows B
    and b follows A if `tracker_swapped`. At `meet` a shadow starts with the other pairing
    than the tracker's; each later frame (`dt` apart) weighs `weight` of a look. Returns the
    encounter after `until`."""
    a, b = head(-1.0, 0.0, 1.0, 0.0, 1.80), head(1.0, 0.3, -1.0, 0.0, 1.62)
    enc = None
    for k in range(1, int(round(until / dt)) + 1):
        t = k * dt
        (za, ha), (zb, hb) = shoppers(t)
        za, zb = za + rng.normal(0, 0.03, 2), zb + rng.normal(0, 0.03, 2)
        truth = ((za, ha), (zb, hb))
        swapped = tracker_swapped and t >= meet
        seen = (truth[1], truth[0]) if swapped else truth
        a.predict(t, P)
        b.predict(t, P)
        if enc is not None:
            enc.step(t, (a.copy(), b.copy()), seen, P, weight)
        elif abs(t - meet) < dt / 2:
            enc = Encounter([], t)
            enc.add(spawn((a, b), (seen[1], seen[0]), p_other, t, P), 4)
        a.update(*seen[0], P)
        b.update(*seen[1], P)
    return enc


@pytest.mark.parametrize("seed", range(5))
def test_a_swap_the_tracker_made_is_found_as_the_shoppers_walk_on(seed):
    # The tracker crossed them where they met; the shadow pairs them right, and their pace
    # and heights, kept through the meeting, make it all but certain.
    enc = follow(tracker_swapped=True, rng=np.random.default_rng(seed))
    assert enc.shadows and enc.shadows[0].crossed
    assert enc.p_swapped > 0.99


@pytest.mark.parametrize("seed", range(5))
def test_a_frame_the_tracker_paired_right_leaves_no_doubt(seed):
    # The shadow of the wrong pairing falls behind at once: dropped, or rejoined.
    enc = follow(tracker_swapped=False, rng=np.random.default_rng(seed))
    assert enc.p_swapped < 1e-3


@pytest.mark.parametrize("seed", range(3))
def test_a_cameras_frames_weigh_as_looks_not_as_frames(seed):
    # The same meeting seen by one camera at 10 Hz and at 30 Hz. Counted in full, the 30 Hz
    # frames made the swap surer than the 10 Hz ones by their number alone (errors of one
    # viewpoint last longer than a frame); each weighs a third of a look there (Tracker:
    # encounter_look_s), and the swap the tracker made is still found all but certainly.
    def follow_at(dt, weight):
        return follow(tracker_swapped=True, rng=np.random.default_rng(seed), until=1.5, dt=dt, weight=weight)
    at10, at30, full30 = follow_at(0.1, 1.0), follow_at(1 / 30, 1 / 3), follow_at(1 / 30, 1.0)
    assert at30.p_swapped > 0.99 and at10.p_swapped > 0.99
    assert at30.shadows[0].log_odds <= at10.shadows[0].log_odds < full30.shadows[0].log_odds


def test_heads_read_as_one_say_nothing_and_keep_the_shadow_as_it_was():
    # Both tracks given one head's detections for a while (two shoppers read as one): either
    # pairing fits as well, the shadow neither gains nor rejoins the tracker.
    a, b = head(0.0, 0.0, 0.0, 0.0, 1.7), head(0.02, 0.0, 0.0, 0.0, 1.7)
    enc = Encounter([], 0.0)
    enc.add(spawn((a, b), ((np.array([0.02, 0.0]), 1.7), (np.array([0.0, 0.0]), 1.7)), 0.4, 0.0, P), 4)
    for k in range(1, 6):
        t = k * DT
        a.predict(t, P)
        b.predict(t, P)
        z = (np.array([0.01, 0.0]), 1.7)
        enc.step(t, (a.copy(), b.copy()), (z, z), P)
        a.update(*z, P)
        b.update(*z, P)
    assert enc.shadows and enc.shadows[0].crossed
    assert 0.2 < enc.p_swapped < 0.6
