"""Benchmark of the depth renderer: milliseconds per frame with N people in view.

    ./walkout shell python -m walkout_sim.bench_render [--people 5] [--frames 200] [--size 160x120]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from walkout_common.store import load_store

from .bodies import PersonPose
from .depth_render import DepthRenderer

ROOT = Path(__file__).resolve().parents[4]


def people_under(r: DepthRenderer, n: int, rng: np.random.Generator) -> list[PersonPose]:
    """n people at random floor points under the camera, heads >= 0.35 m apart, some reaching."""
    out: list[PersonPose] = []
    centre = r.t[:2]
    while len(out) < n:
        xy = centre + rng.uniform(-1.0, 1.0, 2)
        if any(np.linalg.norm(xy - p.head_xy) < 0.35 for p in out):
            continue
        h = float(rng.uniform(1.45, 2.05))
        facing = float(rng.uniform(0, 2 * np.pi))
        hands = []
        if rng.uniform() < 0.5:
            hands.append(np.array([*(xy + 0.6 * np.array([np.cos(facing), np.sin(facing)])), 1.2]))
        out.append(PersonPose(xy, h, facing, hands))
    return out


def bench(store_file: Path, people: int, frames: int, size: tuple[int, int], noise: bool) -> dict[str, float]:
    store = load_store(store_file)
    cam = store.cameras_of_kind("depth")[0]
    t0 = time.perf_counter()
    r = DepthRenderer(store, cam, *size)
    setup_ms = (time.perf_counter() - t0) * 1e3
    rng = np.random.default_rng(0)
    scenes = [people_under(r, people, rng) for _ in range(frames)]
    r.render(scenes[0])  # warm up
    chunks = []
    for part in np.array_split(np.arange(frames), 5):  # the best of 5 runs: others share this machine
        t0 = time.perf_counter()
        for i in part:
            r.render(scenes[i], rng if noise else None)
        chunks.append((time.perf_counter() - t0) / max(len(part), 1) * 1e3)
    return {"setup_ms": setup_ms, "frame_ms": float(np.mean(chunks)), "best_ms": float(np.min(chunks))}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--store", type=Path, default=ROOT / "calibration/nanostore/store.yaml")
    p.add_argument("--people", type=int, default=5)
    p.add_argument("--frames", type=int, default=200)
    p.add_argument("--size", default="160x120")
    args = p.parse_args(argv)
    size = tuple(int(v) for v in args.size.split("x"))
    for noise in (False, True):
        res = bench(args.store, args.people, args.frames, size, noise)
        print(f"depth render {size[0]}x{size[1]}, {args.people} people, {'with' if noise else 'no'} noise: "
              f"{res['frame_ms']:.2f} ms/frame mean, {res['best_ms']:.2f} best of 5 runs (static background cast once: {res['setup_ms']:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
