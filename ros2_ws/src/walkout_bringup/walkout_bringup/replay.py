"""`./walkout replay BAG --store S --catalog C --out FILE`: bag in, receipts JSON out.

Deterministic: messages are taken in the bag's log order and every algorithm runs on
the messages' own stamps, never on the wall clock.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from walkout_common.bagio import bag_info, read_messages
from walkout_common.store import StoreFileError, load_catalog, load_store
from walkout_common.types import Receipt

from .pipeline import Pipeline


def receipts_document(store_id: str, receipts: list[Receipt]) -> dict:
    return {"store_id": store_id, "receipts": [r.to_contract() for r in receipts]}


def replay_bag(
    bag: Path, store_path: Path, catalog_path: Path, params_file: Path | None = None, progress: bool = True
) -> tuple[dict, Pipeline, dict]:
    """Runs the pipeline over a bag; returns the receipts document, the pipeline and timing."""
    store = load_store(store_path)
    catalog = load_catalog(catalog_path, store)
    info = bag_info(bag)
    for w in store.warnings:
        logging.getLogger("walkout.replay").warning(w)
    pipeline = Pipeline(store, catalog, params_file)
    wanted = {"/shelves/load_cells", "/gates/events"} | set(pipeline.routes)
    missing = sorted(t for t in wanted if t not in info["topics"])
    if missing:
        logging.getLogger("walkout.replay").warning("the bag has no messages on %s", ", ".join(missing))
    topics = [t for t in info["topics"] if t in wanted]
    start_ns, duration = info["start_ns"], max(info["duration_s"], 1e-9)
    wall0 = time.perf_counter()
    last_print = 0.0
    for n, (topic, t_ns, msg) in enumerate(read_messages(bag, topics)):
        pipeline.handle(topic, msg)
        if progress and (n % 200 == 0):
            now = time.perf_counter()
            if now - last_print > 1.0:
                last_print = now
                done = (t_ns - start_ns) / 1e9
                pct = 100.0 * done / duration
                print(
                    f"\rreplay: {pct:5.1f} %  bag {done:6.1f}/{duration:.1f} s  "
                    f"receipts {len(pipeline.receipts)}  wall {now - wall0:5.1f} s",
                    end="",
                    file=sys.stderr,
                    flush=True,
                )
    receipts = pipeline.finish()
    wall = time.perf_counter() - wall0
    timing = {"bag_s": info["duration_s"], "wall_s": wall, "speed": info["duration_s"] / max(wall, 1e-9)}
    if progress:
        print(
            f"\rreplay: 100.0 %  bag {info['duration_s']:.1f} s in {wall:.1f} s wall: "
            f"{timing['speed']:.1f}x faster than real time{' ' * 12}",
            file=sys.stderr,
        )
    return receipts_document(store.store_id, receipts), pipeline, timing


def main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for path, what in ((args.bag, "bag"), (args.store, "store file"), (args.catalog, "catalog file")):
        if not path.exists():
            print(f"walkout replay: {what} {path} does not exist", file=sys.stderr)
            return 2
    try:
        doc, pipeline, _ = replay_bag(args.bag, args.store, args.catalog, args.params, progress=not args.quiet)
    except StoreFileError as exc:
        print(f"walkout replay: {exc}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    n = len(doc["receipts"])
    by_status: dict[str, int] = {}
    for r in doc["receipts"]:
        by_status[r["status"]] = by_status.get(r["status"], 0) + 1
    summary = ", ".join(f"{v} {k}" for k, v in sorted(by_status.items())) or "none"
    print(f"walkout replay: {n} receipts ({summary}) -> {args.out}")
    if pipeline.stats.errors:
        print(f"walkout replay: skipped {sum(pipeline.stats.errors.values())} bad messages:", file=sys.stderr)
        for reason, count in pipeline.stats.errors.most_common(10):
            print(f"  {count} x {reason}", file=sys.stderr)
    return 0
