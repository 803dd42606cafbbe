import numpy as np
import pytest

from walkout_association.associator import recalibrated
from walkout_bringup.calibration import approval_threshold, fit_platt, plot_reliability, reliability


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


def test_platt_fit_recovers_an_overconfident_model():
    # Events whose stated p is too sure: the truth is sigmoid(0.5 * logit(p)).
    rng = np.random.default_rng(1)
    z = rng.normal(3.0, 2.0, 20000)
    stated = 1 / (1 + np.exp(-z))
    correct = rng.uniform(size=z.size) < 1 / (1 + np.exp(-0.5 * z))
    fit = fit_platt(stated.tolist(), correct.tolist())
    assert fit.slope == pytest.approx(0.5, abs=0.05) and abs(fit.offset) < 0.1
    assert fit.log_loss_after < fit.log_loss_before
    fixed = [recalibrated(float(p), fit.slope, fit.offset) for p in stated]
    assert reliability(fixed, correct.tolist()).ece < reliability(stated.tolist(), correct.tolist()).ece / 3


def test_platt_fit_of_a_calibrated_model_is_the_identity():
    rng = np.random.default_rng(2)
    stated = rng.uniform(0.3, 0.999, 20000)
    correct = rng.uniform(size=stated.size) < stated
    fit = fit_platt(stated.tolist(), correct.tolist())
    assert fit.slope == pytest.approx(1.0, abs=0.07) and abs(fit.offset) < 0.1
    assert recalibrated(1.0, fit.slope, fit.offset) == 1.0


def test_who_choice_fit_learns_what_tells_the_actor():
    import math

    from walkout_bringup.fit_who import ChoiceSample, fit_choice, log_loss

    rng = np.random.default_rng(3)

    def events(n):
        out = []
        for _ in range(n):
            x = np.c_[rng.uniform(0, 1, 3), rng.normal(size=3)]  # a telling feature, a useless one
            actor = np.zeros(3, dtype=bool)
            actor[int(np.argmax(4.0 * x[:, 0] + rng.gumbel(size=3)))] = True
            out.append(ChoiceSample(x, actor))
        return out

    train, test = events(300), events(300)
    start = np.zeros(3)
    fit = fit_choice(train, start, math.log(1e-4))
    assert fit.weights[0] > 2.0 and abs(fit.weights[1]) < 0.5
    assert fit.log_loss_after < fit.log_loss_before
    assert log_loss(test, fit.bias, fit.weights, math.log(1e-4)) < log_loss(test, 0.0, start[1:], math.log(1e-4))
