"""Time DepthPerceiver.process on rendered overhead frames: `python -m walkout_perception.bench_depth`.

Frames are rendered first (not timed) for every depth camera of the store with 0-4
shoppers, some reaching; then each frame is processed and the per-frame time printed
as median / p90 / max, and the resulting real-time factor for N cameras at R Hz.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from walkout_common.store import load_store
from walkout_sim.bodies import PersonPose
from walkout_sim.depth_render import DepthRenderer

from .depth import DepthParams, DepthPerceiver

DEFAULT_STORE = Path(__file__).resolve().parents[4] / "calibration" / "nanostore" / "store.yaml"


def random_people(rng: np.random.Generator, n: int, lo: np.ndarray, hi: np.ndarray) -> list[PersonPose]:
    people = []
    for _ in range(n):
        xy = rng.uniform(lo, hi)
        hands = []
        if rng.uniform() < 0.5:
            ang = rng.uniform(0, 2 * np.pi)
            hands.append(np.array([xy[0] + 0.6 * np.cos(ang), xy[1] + 0.6 * np.sin(ang), rng.uniform(0.9, 1.5)]))
        people.append(PersonPose(xy, float(rng.uniform(1.45, 2.05)), float(rng.uniform(0, 2 * np.pi)), hands=hands))
    return people


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--store", default=str(DEFAULT_STORE))
    ap.add_argument("--frames", type=int, default=60, help="frames per camera")
    ap.add_argument("--width", type=int, default=160)
    ap.add_argument("--height", type=int, default=120)
    ap.add_argument("--rate", type=float, default=15.0, help="camera rate for the real-time factor")
    ap.add_argument("--work-width", type=int, default=DepthParams.work_width_px,
                    help="read wider images at every n-th pixel, to this width or less (0: every pixel; default: the node's)")
    args = ap.parse_args(argv)
    store = load_store(args.store)
    cams = store.cameras_of_kind("depth")
    rng = np.random.default_rng(1)
    jobs = []
    for cam in cams:
        r = DepthRenderer(store, cam, args.width, args.height)
        dp = DepthPerceiver(store, cam, DepthParams(work_width_px=args.work_width))
        dp.set_camera_info(r.K, args.width, args.height)
        # people somewhere under this camera (ground point of the optical axis +- 1.2 m)
        centre = cam.translation[:2]
        for i in range(args.frames):
            people = random_people(rng, i % 5, centre - 1.2, centre + 1.2)
            jobs.append((dp, r.render(people, rng)))
    for dp, depth in jobs[:5]:  # warm-up (open3d, scipy first calls)
        dp.process(0.0, depth)
    times, found = [], 0
    for dp, depth in jobs:
        t0 = time.perf_counter()
        found += len(dp.process(0.0, depth).people)
        times.append(time.perf_counter() - t0)
    ms = np.array(times) * 1000.0
    per_s = len(cams) * args.rate * np.median(ms) / 1000.0
    read = jobs[0][0].intrinsic
    print(f"{len(jobs)} frames {args.width}x{args.height} (read at {read.width}x{read.height}) from {len(cams)} depth cameras, "
          f"{found} people found")
    print(f"per frame: median {np.median(ms):.2f} ms, p90 {np.percentile(ms, 90):.2f} ms, max {ms.max():.2f} ms")
    print(f"{len(cams)} cameras at {args.rate:g} Hz: {per_s:.3f} s of compute per second of store time "
          f"({1.0 / per_s:.1f}x real time on one core)")


if __name__ == "__main__":
    main()
