import numpy as np

from walkout_bringup.track_metrics import rebind_truth, track_metrics


def walk(tid, y, t0=0.0, t1=10.0, dt=0.1, offset=0.0):
    return [(float(t), tid, float(t * 0.5), y + offset) for t in np.arange(t0, t1, dt)]


def test_perfect_tracks_score_one():
    truth = walk("p1", 1.0) + walk("p2", 3.0)
    pred = walk("a", 1.0, offset=0.02) + walk("b", 3.0, offset=-0.02)
    m = track_metrics(truth, pred)
    assert m["MOTA"] > 0.99 and m["IDF1"] > 0.99 and m["HOTA"] > 0.9 and m["IDSW"] == 0


def test_identity_swap_is_seen():
    truth = walk("p1", 1.0) + walk("p2", 1.3)
    # the tracker swaps the two people halfway
    pred = walk("a", 1.0, 0, 5) + walk("a", 1.3, 5, 10) + walk("b", 1.3, 0, 5) + walk("b", 1.0, 5, 10)
    m = track_metrics(truth, pred)
    assert m["IDSW"] >= 2 and m["IDF1"] < 0.6


def test_missed_person_lowers_mota():
    truth = walk("p1", 1.0) + walk("p2", 3.0)
    m = track_metrics(truth, walk("a", 1.0))
    assert 0.45 < m["MOTA"] < 0.55


def test_only_the_region_is_scored():
    # The person walks up from y = -1 outside the floor; the tracker sees them from y = 0.
    truth = [(float(t), "p1", 1.0, -1.0 + 0.5 * t) for t in np.arange(0.0, 8.0, 0.1)]
    pred = [(t, "a", x, y + 0.02) for t, _, x, y in truth if y >= 0.0]
    floor = (np.array([0.0, 0.0]), np.array([4.0, 4.0]))
    whole = track_metrics(truth, pred)
    cropped = track_metrics(truth, pred, region=floor)
    assert whole["MOTA"] < 0.8  # the walk-up counts as missed
    assert cropped["MOTA"] > 0.99 and cropped["IDF1"] > 0.99
    # A track outside the floor is not scored either (no false positive for it).
    ghost = [(t, "g", 1.0, -0.5) for t, *_ in truth]
    assert track_metrics(truth, pred + ghost, region=floor)["MOTA"] > 0.99


def test_logs_off_the_clock_are_resampled():
    # Truth sampled half a step off the 10 Hz clock (0.05, 0.15, ...), the tracker on it:
    # a perfect tracker still scores ~1, not half its steps unmatched.
    truth = [(t + 0.05, "p1", 0.5 * t, 1.0) for t in np.arange(0.0, 10.0, 0.1)]
    pred = walk("a", 1.0, offset=0.01)
    m = track_metrics(truth, pred)
    assert m["MOTA"] > 0.97 and m["IDF1"] > 0.97


def test_a_lost_stretch_is_not_interpolated():
    truth = walk("p1", 1.0)
    pred = [s for s in walk("a", 1.0) if not 3.0 <= s[0] < 6.0]  # the tracker lost them for 3 s
    m = track_metrics(truth, pred)
    assert 0.6 < m["MOTA"] < 0.75


def test_tracks_plot_is_drawn(tmp_path):
    from pathlib import Path

    from walkout_bringup.track_plot import plot_tracks
    from walkout_common.store import load_store

    store = load_store(Path(__file__).resolve().parents[4] / "calibration" / "nanostore" / "store.yaml")
    truth = walk("p1", 1.0) + walk("p2", 3.0)
    out = tmp_path / "tracks.png"
    plot_tracks(store, truth, walk("a", 1.0, offset=0.05), str(out), "two shoppers, one tracked")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 5000


def test_a_rebinding_is_checked_against_the_true_shopper_it_carries_on():
    from walkout_tracking.sessions import Rebind

    truth = walk("p1", 1.0) + walk("p2", 3.0)
    # the track re-bound at t=5 as "tok-a" follows p2 (whose token is tok-b): wrong; the one
    # re-bound as tok-b follows p2 too: right; one re-bound where nobody walks: not checked
    pred = walk("t1", 3.0, 5, 10, offset=0.05) + walk("t2", 3.0, 5, 10, offset=-0.05) + walk("t3", 9.0, 5, 10)
    rebinds = [Rebind("n1", "t1", "tok-a", 1.0, 5.0), Rebind("n2", "t2", "tok-b", 0.8, 5.0, takeover=0.5),
               Rebind("n3", "t3", "tok-a", 1.0, 5.0)]
    got = rebind_truth(rebinds, pred, truth, {"p1": "tok-a", "p2": "tok-b"})
    assert got == [(1.0, False), (0.4, True)]
