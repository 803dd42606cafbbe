"""Tracker speed with 25 shoppers in six overlapping 10 Hz depth cameras:
`python -m walkout_tracking.bench` prints the update time per frame."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from walkout_common.store import load_store

from .synthetic import CameraView, IdentityScorer, frames, lanes
from .tracker import Tracker

STORE = Path(__file__).resolve().parents[4] / "calibration" / "nanostore" / "store.yaml"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--store", type=Path, default=STORE)
    ap.add_argument("--people", type=int, default=25)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--noise", type=float, default=0.04, help="head noise (m, one std)")
    ap.add_argument("--drop", type=float, default=0.1, help="fraction of frames dropped")
    args = ap.parse_args(argv)
    store = load_store(args.store)
    cams = [CameraView(f"d{i}", (x, y, x + 2.6, y + 2.6), 10.0, 0.017 * i)
            for i, (x, y) in enumerate([(0, -0.8), (2, -0.8), (3.5, -0.8), (0, 1.9), (2, 1.9), (3.5, 1.9)])]
    walkers = lanes(args.people, args.seconds, per_lane=5)
    fr = frames(walkers, cams, 0.0, args.seconds, np.random.default_rng(0), noise_m=args.noise, drop=args.drop)
    tracker = Tracker(store, seed=0)
    scorer = IdentityScorer(walkers)
    times = []
    for f in fr:
        t0 = time.perf_counter()
        tracker.update(f)
        times.append(time.perf_counter() - t0)
        scorer.observe(f.stamp, tracker.snapshots())
    ms = np.array(times) * 1e3
    dets = sum(len(f.people) for f in fr)
    print(f"{args.people} people, {len(cams)} cameras at 10 Hz, {len(fr)} frames ({dets / len(fr):.1f} detections a frame), "
          f"noise {args.noise} m, {args.drop:.0%} frames dropped")
    print(f"update: mean {ms.mean():.2f} ms, median {np.median(ms):.2f} ms, p99 {np.percentile(ms, 99):.2f} ms, max {ms.max():.2f} ms a frame")
    print(f"identity: {scorer.score.switches} id switches, {scorer.score.tracks} tracks for {args.people} people")


if __name__ == "__main__":
    main()
