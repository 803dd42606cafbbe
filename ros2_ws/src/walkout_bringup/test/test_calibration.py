import numpy as np
import pytest

from walkout_bringup.calibration import approval_threshold, plot_reliability, reliability


def test_calibrated_predictions_have_small_ece():
    rng = np.random.default_rng(0)
    conf = rng.uniform(0.5, 1.0, 5000)
    correct = rng.uniform(size=5000) < conf
    rel = reliability(conf.tolist(), correct.tolist())
    assert rel.ece < 0.03


def test_overconfident_predictions_have_large_ece(tmp_path):
    conf = [0.99] * 100
    correct = [True] * 70 + [False] * 30
    rel = reliability(conf, correct)
    assert rel.ece == pytest.approx(0.29, abs=1e-6)
    plot_reliability(rel, str(tmp_path / "r.png"))
    assert (tmp_path / "r.png").stat().st_size > 1000


def test_threshold_from_costs():
    assert approval_threshold(50.0, 1.0) == pytest.approx(0.98)
    with pytest.raises(ValueError):
        approval_threshold(0.0, 1.0)
