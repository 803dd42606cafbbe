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


def assign(costs: np.ndarray, gate: float, dist: np.ndarray | None = None, max_dist: float = np.inf,
           allowed: np.ndarray | None = None) -> list[tuple[int, int]]:
    """Pairs (track, measurement) minimising total cost, only inside the gate (`allowed`
    when given, else costs up to `gate`).

    Leaving a track or a measurement unpaired costs gate / 2 each, so the solver never
    trades two good pairs for more pairs (a plain Hungarian on a gated matrix pairs as
    many as it can, which swaps neighbours when one of them is missing from a frame)."""
    n_t, n_m = costs.shape
    if n_t == 0 or n_m == 0:
        return []
    allowed = costs <= gate if allowed is None else allowed & np.isfinite(costs)
    if dist is not None:
        allowed &= dist <= max_dist
    miss = gate / 2
    full = np.full((n_t + n_m, n_m + n_t), BIG)
    full[:n_t, :n_m] = np.where(allowed, costs, BIG)
    full[np.arange(n_t), n_m + np.arange(n_t)] = miss  # track unpaired
    full[n_t + np.arange(n_m), np.arange(n_m)] = miss  # measurement unpaired
    full[n_t:, n_m:] = 0.0
    rows, cols = linear_sum_assignment(full)
    return [(int(r), int(k)) for r, k in zip(rows, cols, strict=True) if r < n_t and k < n_m and allowed[r, k]]
