"""`./walkout sim`: simulate a store and record a rosbag2 bag with its ground truth."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from walkout_common.store import StoreFileError, load_catalog, load_store

from .bag import record_bag
from .scenario import NAMED, SensorConfig, random_scenario

ROOT = Path(__file__).resolve().parents[4]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="walkout sim", description="Simulate a store's sensors and record a rosbag2 (mcap) bag.")
    p.add_argument("--store", type=Path, default=ROOT / "calibration/nanostore/store.yaml")
    p.add_argument("--catalog", type=Path, default=ROOT / "calibration/nanostore/catalog.yaml")
    p.add_argument("--scenario", default="random", help=f"random or one of {sorted(NAMED)}")
    p.add_argument("--shoppers", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--duration", type=float, default=0.0, help="seconds at least (0: until the last shopper left)")
    p.add_argument("--depth-hz", type=float, default=15.0)
    p.add_argument("--color-hz", type=float, default=0.0)
    p.add_argument("--depth-size", default="160x120", help="depth image WIDTHxHEIGHT (contract: at least 160x120)")
    p.add_argument("--encoding", choices=("16UC1", "32FC1"), default="16UC1")
    p.add_argument("--noise", type=float, default=0.008, help="depth noise, fraction of range (contract: up to 0.015)")
    p.add_argument("--holes", type=float, default=0.04, help="fraction of depth pixels without a reading (contract: up to 0.10)")
    p.add_argument("--storage", choices=("mcap", "sqlite3"), default="mcap")
    p.add_argument("--out", type=Path, required=True)
    return p


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        store = load_store(args.store)
        catalog = load_catalog(args.catalog, store)
    except StoreFileError as exc:
        print(f"walkout sim: {exc}", file=sys.stderr)
        return 2
    try:
        size = tuple(int(v) for v in args.depth_size.lower().split("x"))
        assert len(size) == 2 and min(size) > 0
    except (ValueError, AssertionError):
        print(f"walkout sim: --depth-size must be WIDTHxHEIGHT, got {args.depth_size!r}", file=sys.stderr)
        return 2
    sensors = SensorConfig(depth_hz=args.depth_hz, depth_size=size, depth_encoding=args.encoding, depth_noise_frac=args.noise,
                           depth_hole_frac=args.holes, color_hz=args.color_hz)
    if args.scenario == "random":
        scenario = random_scenario(store, catalog, args.shoppers, args.seed, args.duration, sensors=sensors)
    elif args.scenario in NAMED:
        scenario = NAMED[args.scenario](store, catalog, args.seed)
        scenario.sensors, scenario.duration_s = sensors, args.duration
    else:
        print(f"walkout sim: unknown scenario {args.scenario!r} (random, {', '.join(sorted(NAMED))})", file=sys.stderr)
        return 2
    truth = record_bag(store, catalog, scenario, args.out, progress=True, storage=args.storage)
    for r in truth["receipts"]:
        items = ", ".join(f"{i['qty']}x {catalog.by_sku[i['sku']].name}" for i in r["items"]) or "nothing"
        print(f"  {r['session_token']}: {items} = {r['total_cents'] / 100:.2f} {catalog.currency}")
    print(f"walkout sim: wrote {args.out} and {args.out / 'truth.json'}")
    return 0
