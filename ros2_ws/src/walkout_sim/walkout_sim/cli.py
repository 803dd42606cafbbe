"""`./walkout sim`: simulate a store and record a rosbag2 bag with its ground truth."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from walkout_common.store import StoreFileError, load_catalog, load_store

from .bag import record_bag
from .library import LIBRARY
from .scenario import named_scenario, scenario_names

ROOT = Path(__file__).resolve().parents[4]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="walkout sim", description="Simulate a store's sensors and record a rosbag2 (mcap) bag.")
    p.add_argument("--store", type=Path, default=None, help="store.yaml (default: the library type's store, else the nanostore)")
    p.add_argument("--catalog", type=Path, default=None, help="catalog.yaml (default: beside the store)")
    p.add_argument("--scenario", default="random", help=f"one of {', '.join(scenario_names())}")
    p.add_argument("--shoppers", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--duration", type=float, default=0.0, help="seconds at least (0: until the last shopper left)")
    p.add_argument("--depth-hz", type=float, default=None, help="default: the scenario's (15; library types 10)")
    p.add_argument("--color-hz", type=float, default=0.0)
    p.add_argument("--depth-size", default="160x120", help="depth image WIDTHxHEIGHT (contract: at least 160x120)")
    p.add_argument("--encoding", choices=("16UC1", "32FC1"), default="16UC1")
    p.add_argument("--noise", type=float, default=None, help="depth noise, fraction of range (contract: up to 0.015; default: the scenario's)")
    p.add_argument("--holes", type=float, default=None, help="fraction of depth pixels without a reading (contract: up to 0.10; default: the scenario's)")
    p.add_argument("--varied-bodies", action="store_true",
                   help="every person of their own build: head, arm and shoulder sizes, bent elbows, backpacks, baskets")
    p.add_argument("--storage", choices=("mcap", "sqlite3"), default="mcap")
    p.add_argument("--start-stamp", type=float, default=0.0,
                   help="stamp of the simulation's start, seconds (a store's bag: the wall clock, e.g. 1796601600; default 0)")
    p.add_argument("--out", type=Path, required=True)
    return p


def _store_paths(args: argparse.Namespace) -> tuple[Path, Path]:
    """--store/--catalog, else the library type's store folder, else the nanostore."""
    folder = ROOT / "calibration" / (LIBRARY[args.scenario].store if args.scenario in LIBRARY else "nanostore")
    store = args.store or folder / "store.yaml"
    return store, args.catalog or store.parent / "catalog.yaml"


def _sensor_overrides(args: argparse.Namespace, size: tuple[int, ...]) -> dict:
    """The sensor settings given on the command line (the rest stay the scenario's)."""
    given = {"depth_hz": args.depth_hz, "depth_noise_frac": args.noise, "depth_hole_frac": args.holes}
    out = {k: v for k, v in given.items() if v is not None}
    return {**out, "depth_size": size, "depth_encoding": args.encoding, "color_hz": args.color_hz, "varied_bodies": args.varied_bodies}


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        store_file, catalog_file = _store_paths(args)
        store = load_store(store_file)
        catalog = load_catalog(catalog_file, store)
    except StoreFileError as exc:
        print(f"walkout sim: {exc}", file=sys.stderr)
        return 2
    try:
        size = tuple(int(v) for v in args.depth_size.lower().split("x"))
        assert len(size) == 2 and min(size) > 0
    except (ValueError, AssertionError):
        print(f"walkout sim: --depth-size must be WIDTHxHEIGHT, got {args.depth_size!r}", file=sys.stderr)
        return 2
    try:
        scenario = named_scenario(args.scenario, store, catalog, args.seed, args.shoppers, args.duration)
    except ValueError as exc:  # an unknown name, or a type this store cannot stage
        print(f"walkout sim: {exc}", file=sys.stderr)
        return 2
    scenario.sensors = replace(scenario.sensors, **_sensor_overrides(args, size))
    truth = record_bag(store, catalog, scenario, args.out, progress=True, storage=args.storage, origin=args.start_stamp)
    for r in truth["receipts"]:
        items = ", ".join(f"{i['qty']}x {catalog.by_sku[i['sku']].name}" for i in r["items"]) or "nothing"
        print(f"  {r['session_token']}: {items} = {r['total_cents'] / 100:.2f} {catalog.currency}")
    print(f"walkout sim: wrote {args.out} and {args.out / 'truth.json'}")
    return 0
