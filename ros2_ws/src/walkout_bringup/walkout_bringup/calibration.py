"""Calibration of receipt confidence, and the review threshold that follows from it.

A receipt's confidence should mean what it says: of receipts at confidence 0.9, nine in
ten are exactly right. We measure that on the scenario suite (reliability bins, expected
calibration error) and set the approval threshold by decision theory: approving costs
(1 - p) * C_silent in expectation, holding for review costs C_review, so approve when
p > 1 - C_review / C_silent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Reliability:
    edges: np.ndarray
    mean_confidence: np.ndarray  # per bin (NaN where empty)
    accuracy: np.ndarray
    counts: np.ndarray
    ece: float  # expected calibration error, weighted by bin counts
    brier: float


def reliability(confidence: list[float], correct: list[bool], bins: int = 10) -> Reliability:
    c = np.clip(np.asarray(confidence, dtype=float), 0.0, 1.0)
    y = np.asarray(correct, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(c, edges[1:-1]), 0, bins - 1)
    mean_c = np.full(bins, np.nan)
    acc = np.full(bins, np.nan)
    counts = np.zeros(bins, dtype=int)
    for b in range(bins):
        m = idx == b
        counts[b] = int(m.sum())
        if counts[b]:
            mean_c[b], acc[b] = c[m].mean(), y[m].mean()
    n = max(len(c), 1)
    ece = float(np.nansum(counts / n * np.abs(np.nan_to_num(mean_c) - np.nan_to_num(acc))))
    brier = float(np.mean((c - y) ** 2)) if len(c) else 0.0
    return Reliability(edges, mean_c, acc, counts, ece, brier)


@dataclass
class PlattFit:
    slope: float
    offset: float
    n: int  # pairs the fit used (certain ones, p of 0 or 1, carry no information)
    log_loss_before: float
    log_loss_after: float


def fit_platt(probability: list[float], correct: list[bool], prior_strength: float = 1.0) -> PlattFit:
    """Platt scaling on the log-odds, p' = sigmoid(slope * logit(p) + offset), fitted by
    maximum likelihood with a weak Gaussian prior that holds it at the identity (slope 1,
    offset 0) where the data say little."""
    from scipy.optimize import minimize

    p = np.asarray(probability, dtype=float)
    y = np.asarray(correct, dtype=float)
    keep = (p > 0.0) & (p < 1.0)
    p = np.clip(p[keep], 1e-12, 1 - 1e-12)
    y = y[keep]
    z = np.log(p / (1 - p))

    def loss(w: np.ndarray) -> float:
        s = w[0] * z + w[1]
        # log(1 + exp(-s)) for y = 1, log(1 + exp(s)) for y = 0, stably
        nll = np.sum(np.logaddexp(0.0, -s) * y + np.logaddexp(0.0, s) * (1 - y))
        return float(nll + 0.5 * prior_strength * ((w[0] - 1.0) ** 2 + w[1] ** 2))

    before = loss(np.array([1.0, 0.0]))
    res = minimize(loss, np.array([1.0, 0.0]), method="Nelder-Mead", options={"xatol": 1e-4, "fatol": 1e-6})
    n = max(int(keep.sum()), 1)
    return PlattFit(float(res.x[0]), float(res.x[1]), int(keep.sum()), before / n, float(res.fun) / n)


def approval_threshold(cost_silent_error: float, cost_review: float) -> float:
    """The confidence above which approving is cheaper in expectation than a review."""
    if cost_silent_error <= 0 or cost_review <= 0:
        raise ValueError("costs must be positive")
    return max(0.0, 1.0 - cost_review / cost_silent_error)


def plot_reliability(rel: Reliability, path: str, title: str = "Receipt confidence calibration",
                     what: str = "receipt confidence") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    m = rel.counts > 0
    ax.plot(rel.mean_confidence[m], rel.accuracy[m], "o-", label=f"Walkout (ECE {rel.ece:.3f})")
    for x, y, n in zip(rel.mean_confidence[m], rel.accuracy[m], rel.counts[m], strict=True):
        ax.annotate(str(n), (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set_xlabel(f"predicted {what}")
    ax.set_ylabel("observed fraction exactly right")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
