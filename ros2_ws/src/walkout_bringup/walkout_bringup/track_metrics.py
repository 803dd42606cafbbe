"""Tracking accuracy against the simulator's true tracks: MOTA, IDF1 and HOTA (TrackEval).

Both sides are resampled onto a common 10 Hz clock; a predicted and a true head are
similar by 1 - d / match_radius (zero beyond it), TrackEval's usual form for points.
Only the store's floor is scored (the region of interest): a simulated shopper walking up
to the entry outside it is no one the cameras can or should see.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from trackeval.metrics import CLEAR, HOTA, Identity

TrackLog = list[tuple[float, str, float, float]]  # (t, id, x, y)


def paths(log: TrackLog) -> dict[str, np.ndarray]:
    """Each id's samples as a time-sorted (n, 3) array of (t, x, y)."""
    grouped: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for t, tid, x, y in log:
        grouped[tid].append((t, x, y))
    return {tid: np.array(sorted(p)) for tid, p in grouped.items()}


def _resample(log: TrackLog, dt: float, max_gap_s: float) -> dict[int, dict[str, np.ndarray]]:
    """{step k: {id: (x, y) at k * dt}}, each id's path interpolated linearly onto the
    clock (never across a gap in its samples longer than max_gap_s). Rounding sample times
    to the nearest step instead would drop every other step of a log sampled half a step
    off the clock (0.05, 0.15, ...: round() goes to even)."""
    out: dict[int, dict[str, np.ndarray]] = defaultdict(dict)
    for tid, a in paths(log).items():
        t = a[:, 0]
        ks = np.arange(int(np.ceil(t[0] / dt - 1e-9)), int(np.floor(t[-1] / dt + 1e-9)) + 1)
        if len(t) == 1:
            ks = np.array([int(round(t[0] / dt))])
        grid = ks * dt
        j = np.clip(np.searchsorted(t, grid), 1, max(len(t) - 1, 1))
        gap = t[j] - t[j - 1] if len(t) > 1 else np.zeros(len(grid))
        xs, ys = np.interp(grid, t, a[:, 1]), np.interp(grid, t, a[:, 2])
        for k, g, x, y in zip(ks, gap, xs, ys, strict=True):
            if g <= max_gap_s:
                out[int(k)][tid] = np.array([x, y])
    return out


def _inside(log: TrackLog, region: tuple[np.ndarray, np.ndarray] | None) -> TrackLog:
    if region is None:
        return log
    lo, hi = region
    return [s for s in log if lo[0] <= s[2] <= hi[0] and lo[1] <= s[3] <= hi[1]]


def track_metrics(truth: TrackLog, predicted: TrackLog, match_radius_m: float = 0.5, dt: float = 0.1,
                  region: tuple[np.ndarray, np.ndarray] | None = None, max_gap_s: float = 0.5) -> dict[str, float]:
    """{'MOTA', 'IDF1', 'HOTA', 'IDSW', ...} of predicted tracks against true ones, both
    cropped to `region` ((min xy, max xy), e.g. the store floor) when given."""
    truth, predicted = _inside(truth, region), _inside(predicted, region)
    gt, pr = _resample(truth, dt, max_gap_s), _resample(predicted, dt, max_gap_s)
    steps = sorted(set(gt) | set(pr))
    gt_ids = {tid: i for i, tid in enumerate(sorted({tid for _, tid, _, _ in truth}))}
    pr_ids = {tid: i for i, tid in enumerate(sorted({tid for _, tid, _, _ in predicted}))}
    data: dict = {"gt_ids": [], "tracker_ids": [], "similarity_scores": [], "num_timesteps": len(steps)}
    n_gt = n_pr = 0
    for k in steps:
        g, p = gt.get(k, {}), pr.get(k, {})
        g_keys, p_keys = sorted(g), sorted(p)
        data["gt_ids"].append(np.array([gt_ids[t] for t in g_keys], dtype=int))
        data["tracker_ids"].append(np.array([pr_ids[t] for t in p_keys], dtype=int))
        sim = np.zeros((len(g_keys), len(p_keys)))
        for i, a in enumerate(g_keys):
            for j, b in enumerate(p_keys):
                sim[i, j] = max(0.0, 1.0 - float(np.linalg.norm(g[a] - p[b])) / match_radius_m)
        data["similarity_scores"].append(sim)
        n_gt += len(g_keys)
        n_pr += len(p_keys)
    data.update(num_gt_ids=len(gt_ids), num_tracker_ids=len(pr_ids), num_gt_dets=n_gt, num_tracker_dets=n_pr)
    cfg = {"PRINT_CONFIG": False, "THRESHOLD": 0.5}
    hota = HOTA().eval_sequence(data)
    clear = CLEAR(cfg).eval_sequence(data)
    ident = Identity(cfg).eval_sequence(data)
    return {
        "HOTA": float(np.mean(hota["HOTA"])),
        "DetA": float(np.mean(hota["DetA"])),
        "AssA": float(np.mean(hota["AssA"])),
        "MOTA": float(clear["MOTA"]),
        "IDSW": int(clear["IDSW"]),
        "IDF1": float(ident["IDF1"]),
        "gt_ids": len(gt_ids),
        "tracker_ids": len(pr_ids),
    }


def rebind_truth(rebinds: list, predicted: TrackLog, truth: TrackLog, tokens: dict[str, str], after_s: tuple[float, float] = (0.3, 1.5),
                 radius_m: float = 0.5) -> list[tuple[float, bool]]:
    """Each re-binding (tracker `Rebind`s) as (predicted P(right), right): its choice's
    probability times no takeover, and whether the true shopper nearest the re-bound track
    soon after (`after_s` past the re-binding, first sample within `radius_m`) holds the
    token it was given (`tokens`: true id -> token). Those with no true shopper there are
    left out."""
    tracks, people = paths(predicted), paths(truth)
    out = []
    for rb in rebinds:
        a = tracks.get(rb.old_id)
        if a is None:
            continue
        after = a[(a[:, 0] >= rb.stamp + after_s[0]) & (a[:, 0] <= rb.stamp + after_s[1])]
        if not len(after):
            continue
        t, x, y = after[0]
        best, best_d = None, radius_m
        for pid, b in people.items():
            if b[0, 0] <= t <= b[-1, 0]:
                d = float(np.hypot(np.interp(t, b[:, 0], b[:, 1]) - x, np.interp(t, b[:, 0], b[:, 2]) - y))
                if d <= best_d:
                    best, best_d = pid, d
        if best is not None:
            out.append((rb.probability * (1.0 - rb.takeover), tokens.get(best) == rb.token))
    return out
