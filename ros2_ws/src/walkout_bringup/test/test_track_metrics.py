import numpy as np

from walkout_bringup.track_metrics import track_metrics


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
