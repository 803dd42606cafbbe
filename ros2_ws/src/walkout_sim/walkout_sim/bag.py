"""Recording a scenario into a rosbag2 (zstd mcap) bag, with its ground truth beside it."""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

from walkout_common.bagio import BagWriter
from walkout_common.store import Store

from .encode import Encoder
from .scenario import Scenario
from .world import World, world_of

TRUTH_FILE = "truth.json"


def record_bag(*args: object, progress: bool = False, storage: str = "mcap", origin: float = 0.0) -> dict:
    """Writes the bag folder `path` (replacing it) and `path/truth.json`; returns the truth
    (its times from the simulation's start; the bag's are `origin` seconds later).

    `record_bag(scenario, config, path)` (config: SensorConfig or None = the scenario's) or
    `record_bag(store, catalog, scenario, path)`.
    """
    if len(args) == 3 and isinstance(args[0], Scenario):
        scenario, config, path = args
        world = world_of(scenario, config)  # type: ignore[arg-type]
    elif len(args) == 4 and isinstance(args[0], Store) and isinstance(args[2], Scenario):
        store, catalog, scenario, path = args
        world = World(store, catalog, scenario)  # type: ignore[arg-type]
    else:
        raise TypeError("record_bag(scenario, config, path) or record_bag(store, catalog, scenario, path)")
    path = Path(path)  # type: ignore[arg-type]
    if path.exists():
        shutil.rmtree(path)
    wall0, last = time.perf_counter(), 0.0
    with BagWriter(path, storage) as writer:
        enc = Encoder(lambda name: writer.msg(name), origin=origin)
        for m in world.messages():
            msg, _ = enc.encode(m)
            writer.write(m.topic, msg, int(round((m.stamp + origin) * 1e9)))
            now = time.perf_counter()
            if progress and now - last > 1.0:
                last = now
                print(f"\rsim: {m.stamp:6.1f}/{world.end:.1f} s simulated, {now - wall0:5.1f} s wall", end="", file=sys.stderr, flush=True)
    truth = world.truth()
    (path / TRUTH_FILE).write_text(json.dumps(truth, indent=1) + "\n")
    if progress:
        size = sum(f.stat().st_size for f in path.iterdir()) / 1e6
        print(f"\rsim: {world.end:.1f} s simulated in {time.perf_counter() - wall0:.1f} s; {path} ({size:.1f} MB), "
              f"{len(truth['receipts'])} receipts in truth", file=sys.stderr)
    return truth
