"""Fitting who made a plate event: the association's conditional-logit choice weights.

Each settled plate event of the scenario library offers a choice among the tracks in
reach (walkout_association.who: `choice_features` of each) and "nobody tracked"; the
simulator's truth says which session's shopper it was. The weights maximise the
likelihood of the true choices (multinomial logit with one utility per candidate and
nobody's fixed at log(nobody_likelihood)), with a Gaussian prior that holds them at the
hand-set model where the data say little. Events with several true actors (two shoppers
in one disturbance) are left out: who_made's choice is of one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ChoiceSample:
    features: np.ndarray  # (candidates, CHOICE_FEATURES)
    actor: np.ndarray  # (candidates,) bool: this track's session made the event


@dataclass
class ChoiceFit:
    bias: float
    weights: np.ndarray  # CHOICE_FEATURES order
    n: int
    log_loss_before: float  # mean -log P(true actor) with the starting weights
    log_loss_after: float


def log_loss(samples: list[ChoiceSample], bias: float, weights: np.ndarray, nobody_log: float) -> float:
    """Mean -log P(the true actor's session) over the samples."""
    total = 0.0
    for s in samples:
        u = bias + s.features @ weights
        top = max(float(u.max()), nobody_log)
        z = np.log(np.exp(u - top).sum() + np.exp(nobody_log - top)) + top
        total -= float(np.log(np.exp(u[s.actor] - top).sum()) + top - z)
    return total / max(len(samples), 1)


def fit_choice(samples: list[ChoiceSample], start: np.ndarray, nobody_log: float, prior_sd: float = 2.0) -> ChoiceFit:
    """Maximum a-posteriori weights (bias first) from `start` (bias, weights...)."""
    from scipy.optimize import minimize

    samples = [s for s in samples if len(s.features) and s.actor.any()]
    n = max(len(samples), 1)

    def loss(w: np.ndarray) -> float:
        return log_loss(samples, w[0], w[1:], nobody_log) * n + 0.5 * float(((w - start) / prior_sd) @ ((w - start) / prior_sd))

    res = minimize(loss, start, method="L-BFGS-B")
    return ChoiceFit(float(res.x[0]), res.x[1:], len(samples), log_loss(samples, start[0], start[1:], nobody_log),
                     log_loss(samples, res.x[0], res.x[1:], nobody_log))
