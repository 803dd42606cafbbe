"""Gated global-nearest-neighbour assignment (Mahalanobis gate, Hungarian solve)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

BIG = 1e6


def mahalanobis_costs(means: np.ndarray, covs: np.ndarray, meas: np.ndarray, meas_cov: np.ndarray) -> np.ndarray:
    """(tracks, measurements) squared Mahalanobis distances of innovations."""
    if len(means) == 0 or len(meas) == 0:
        return np.zeros((len(means), len(meas)))
    s = covs + meas_cov[None]  # (T, 2, 2)
    s_inv = np.linalg.inv(s)
    d = meas[None, :, :] - means[:, None, :]  # (T, M, 2)
    return np.einsum("tmi,tij,tmj->tm", d, s_inv, d)


def assign(costs: np.ndarray, gate: float, dist: np.ndarray | None = None, max_dist: float = np.inf) -> list[tuple[int, int]]:
    """Pairs (track, measurement) minimising total cost, only inside the gate."""
    if costs.size == 0:
        return []
    allowed = costs <= gate
    if dist is not None:
        allowed &= dist <= max_dist
    c = np.where(allowed, costs, BIG)
    rows, cols = linear_sum_assignment(c)
    return [(int(r), int(k)) for r, k in zip(rows, cols, strict=True) if allowed[r, k]]
