"""Tracking accuracy against the simulator's true tracks: MOTA, IDF1 and HOTA (TrackEval).

Both sides are resampled onto a common 10 Hz clock; a predicted and a true head are
similar by 1 - d / match_radius (zero beyond it), TrackEval's usual form for points.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from trackeval.metrics import CLEAR, HOTA, Identity

TrackLog = list[tuple[float, str, float, float]]  # (t, id, x, y)


def _bucket(log: TrackLog, dt: float) -> dict[int, dict[str, np.ndarray]]:
    out: dict[int, dict[str, np.ndarray]] = defaultdict(dict)
    for t, tid, x, y in log:
        out[int(round(t / dt))][tid] = np.array([x, y])
    return out


def track_metrics(truth: TrackLog, predicted: TrackLog, match_radius_m: float = 0.5, dt: float = 0.1) -> dict[str, float]:
    """{'MOTA', 'IDF1', 'HOTA', 'IDSW', ...} of predicted tracks against true ones."""
    gt, pr = _bucket(truth, dt), _bucket(predicted, dt)
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
