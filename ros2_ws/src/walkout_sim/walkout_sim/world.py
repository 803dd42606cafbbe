"""The contract's input streams, rendered from a scenario's timeline, in time order.

`simulate` yields neutral `SimMessage`s (topic, stamp, kind, fields); the bag writer and
the live node turn them into rosbags or rclpy messages. `truth` gives the ground truth:
receipts per token by the contract's billing rule, true tracks and item events.
"""

from __future__ import annotations

import heapq
import math
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy.signal import lfilter

from walkout_common.store import Catalog, Store

from .bodies import varied_build
from .depth_render import DepthRenderer
from .people import PeopleSim, Timeline, TruthEvent
from .scenario import Scenario, SensorConfig

TYPENAMES = {
    "clock": "rosgraph_msgs/msg/Clock",
    "load_cells": "walkout_msgs/msg/LoadCellBatch",
    "gate": "walkout_msgs/msg/GateEvent",
    "depth": "sensor_msgs/msg/Image",
    "color": "sensor_msgs/msg/Image",
    "camera_info": "sensor_msgs/msg/CameraInfo",
}


@dataclass
class SimMessage:
    """One message of the stream, before it becomes a ROS message (see encode.py)."""

    stamp: float  # sim seconds
    topic: str
    kind: str  # clock | load_cells | gate | depth | camera_info | color
    fields: dict[str, Any]

    @property
    def typename(self) -> str:
        """The ROS type name, e.g. sensor_msgs/msg/Image."""
        return TYPENAMES[self.kind]

    def __lt__(self, other: SimMessage) -> bool:
        return self.stamp < other.stamp


def _seed(seed: int, name: str) -> int:
    """A stable per-stream seed (Python's str hash changes from run to run)."""
    return (seed * 1_000_003 + zlib.crc32(name.encode())) % (2**32)


class World:
    def __init__(self, store: Store, catalog: Catalog, scenario: Scenario) -> None:
        self.store, self.catalog, self.scenario = store, catalog, scenario
        self.timeline: Timeline = PeopleSim(store, catalog, scenario).run()
        if scenario.sensors.varied_bodies:
            for tr in self.timeline.tracks:
                build = varied_build(np.random.default_rng(_seed(scenario.seed, f"build-{tr.person_id}")))
                tr.poses = [replace(pose, build=build) for pose in tr.poses]
        self.end = max(self.timeline.end_time + 2.0, scenario.duration_s)
        self.rng = np.random.default_rng(scenario.seed)

    # ---- streams ------------------------------------------------------------
    def messages(self) -> Iterator[SimMessage]:
        streams = [self._clock(), self._gates(), *self._load_cells(), *self._depth_cameras(), *self._color_cameras()]
        return heapq.merge(*streams)

    def load_cell_messages(self) -> Iterator[SimMessage]:
        """The load-cell streams alone, in stamp order (cheap: nothing is rendered)."""
        return heapq.merge(*self._load_cells())

    def _clock(self) -> Iterator[SimMessage]:
        hz = self.scenario.sensors.clock_hz
        for k in range(int(self.end * hz) + 1):
            yield SimMessage(k / hz, "/clock", "clock", {})

    def _gates(self) -> Iterator[SimMessage]:
        for t, gate, kind, token in sorted(self.timeline.gate_events):
            yield SimMessage(max(t, 0.0), "/gates/events", "gate", {"gate_id": gate, "kind": kind, "session_token": token})

    def _load_cells(self) -> list[Iterator[SimMessage]]:
        cfg = self.scenario.sensors
        out = []
        for shelf_id, plates in sorted(self.store.shelves.items()):
            rng = np.random.default_rng(_seed(self.scenario.seed, shelf_id))
            hz, batch = cfg.shelf_rates.get(shelf_id, (cfg.load_cell_hz, cfg.load_cell_batch))
            hz, batch = float(hz), max(int(batch), 1)
            t = np.arange(0.0, self.end, 1.0 / hz) + rng.uniform(0, 1.0 / hz)
            cols = []
            for p in plates:
                offset = rng.uniform(-3000, 3000) + self.timeline.initial_load.get(p.id, 0.0)
                u = rng.uniform(-1, 1)
                drift = (np.sign(u) if cfg.drift_full else u) * cfg.drift_g_per_h / 3600.0
                sigma = rng.uniform(*cfg.load_cell_noise_g)
                noise = rng.normal(0, sigma, t.size)
                if cfg.load_cell_filter > 0:  # a load cell's filter: readings not independent (no draw: the same bags as before)
                    phi = cfg.load_cell_filter
                    noise = lfilter([math.sqrt(1.0 - phi * phi)], [1.0, -phi], noise)
                g = offset + drift * t + noise
                for ch in self.timeline.plate_changes:
                    if ch.plate_id != p.id:
                        continue
                    if ch.press:
                        on = (t >= ch.t0) & (t < ch.t1)
                        g[on] += ch.grams + rng.normal(0, 15.0, int(on.sum()))
                    else:
                        g += ch.grams * np.clip((t - ch.t0) / max(ch.t1 - ch.t0, 1e-3), 0.0, 1.0)
                        during = (t >= ch.t0) & (t < ch.t1)
                        g[during] += rng.normal(0, 20.0, int(during.sum()))  # the hand jostles the plate
                cols.append(g)
            grams = np.stack(cols, 1)
            # knocks shake the whole shelf for a moment
            n_knocks = rng.poisson(cfg.knocks_per_min * self.end / 60.0)
            for tk in rng.uniform(0, self.end, n_knocks):
                m = (t >= tk) & (t < tk + 0.3)
                grams[m] += (rng.uniform(100, 400) * np.sin(70 * (t[m] - tk)) * np.exp(-(t[m] - tk) * 8))[:, None]
            grams[rng.uniform(size=grams.shape) < cfg.nan_frac] = np.nan
            if cfg.load_cell_step_g > 0:  # a scale that reports in steps (no draw: the same bags as before)
                grams = np.round(grams / cfg.load_cell_step_g) * cfg.load_cell_step_g
            ids = [p.id for p in plates]
            # the shelf stamps its samples by its own clock (no draw when exact: the same bags as before)
            skew = float(rng.uniform(-cfg.shelf_clock_s, cfg.shelf_clock_s)) if cfg.shelf_clock_s > 0 else 0.0
            out.append(self._batches(shelf_id, ids, t + skew, grams.astype(np.float32), hz, batch, rng))
        return out

    def _batches(self, shelf_id, ids, t, grams, hz, batch, rng) -> Iterator[SimMessage]:
        lost = self.scenario.sensors.lost_batch_frac
        for k in range(0, t.size, batch):
            if rng.uniform() < lost or t[k] < 0:  # a shelf clock behind the cameras' starts later
                continue
            yield SimMessage(float(t[k]), "/shelves/load_cells", "load_cells",
                             {"shelf_id": shelf_id, "sample_rate_hz": float(hz), "plate_ids": ids, "grams": grams[k : k + batch].ravel()})

    def renderers(self) -> dict[str, DepthRenderer]:
        cfg = self.scenario.sensors
        w, h = cfg.depth_size
        return {c.id: DepthRenderer(self.store, c, w, h, noise_frac=cfg.depth_noise_frac, hole_frac=cfg.depth_hole_frac)
                for c in self.store.cameras_of_kind("depth")}

    def _depth_cameras(self) -> list[Iterator[SimMessage]]:
        return [self._depth(cam_id, r) for cam_id, r in self.renderers().items()]

    def _depth(self, cam_id: str, r: DepthRenderer) -> Iterator[SimMessage]:
        cfg = self.scenario.sensors
        cam = next(c for c in self.store.cameras if c.id == cam_id)
        rng = np.random.default_rng(_seed(self.scenario.seed, cam_id))
        phase = rng.uniform(0, 1.0 / cfg.depth_hz)
        dark = [(a, b) for c, a, b in cfg.dark_cameras if c == cam_id]
        info = {"frame_id": cam.frame_id, "width": r.width, "height": r.height, "k": r.K.ravel().tolist()}
        for k in range(int(self.end * cfg.depth_hz)):
            t = k / cfg.depth_hz + phase
            if rng.uniform() < cfg.depth_drop_frac or any(a <= t < b for a, b in dark):
                continue
            depth = r.render(self.timeline.poses_at(t), rng)
            yield SimMessage(t, cam.info_topic, "camera_info", info)
            yield SimMessage(t, cam.image_topic, "depth", {"frame_id": cam.frame_id, "depth": depth, "encoding": cfg.depth_encoding})

    def _color_cameras(self) -> list[Iterator[SimMessage]]:
        if self.scenario.sensors.color_hz <= 0:
            return []
        from .color_render import ColorRenderer

        cfg = self.scenario.sensors
        w, h = cfg.color_size
        return [self._color(c, ColorRenderer(self.store, c, w, h)) for c in self.store.cameras_of_kind("color")]

    def _color(self, cam, r) -> Iterator[SimMessage]:
        cfg = self.scenario.sensors
        info = {"frame_id": cam.frame_id, "width": r.width, "height": r.height, "k": r.K.ravel().tolist()}
        for k in range(int(self.end * cfg.color_hz)):
            t = k / cfg.color_hz + 0.013
            rgb = r.render(self.timeline.poses_at(t))
            yield SimMessage(t, cam.info_topic, "camera_info", info)
            yield SimMessage(t, cam.image_topic, "color", {"frame_id": cam.frame_id, "rgb": rgb})

    # ---- ground truth -------------------------------------------------------
    def truth(self) -> dict:
        """Receipts per token (billing rule: a unit is billed to its taker unless put back
        before the taker left), true tracks and item events."""
        tl = self.timeline
        members: dict[str, list[str]] = {}
        for sh in self.scenario.shoppers:
            members.setdefault(sh.token, []).append(sh.person_id)
        items: dict[str, Counter] = {tok: Counter() for tok in members}
        for ev in sorted(tl.truth_events, key=lambda e: e.t):
            if stays_billed(ev, tl.exits):
                continue  # put back after its taker left: still on the taker's receipt
            items[ev.billed_token or ev.token][ev.sku] += ev.n
        receipts = []
        for token, people in members.items():
            if not all(p in tl.exits for p in people):
                continue
            lines = [{"sku": sku, "qty": int(n)} for sku, n in sorted(items[token].items()) if n > 0]
            total = sum(self.catalog.by_sku[ln["sku"]].price_cents * ln["qty"] for ln in lines)
            receipts.append({"session_token": token, "exit_stamp": round(max(tl.exits[p] for p in people), 3), "status": "approved",
                             "confidence": 1.0, "items": lines, "total_cents": int(total), "review_reasons": []})
        receipts.sort(key=lambda r: (r["exit_stamp"], r["session_token"]))
        tracks = {}
        for tr in tl.tracks:
            pts = [[round(t, 2), round(float(p.head_xy[0]), 3), round(float(p.head_xy[1]), 3)]
                   for i, (t, p) in enumerate(zip(tr.t, tr.poses, strict=True)) if i % 2 == 0]
            tracks[tr.person_id] = {"token": tr.token, "points": pts}
        events = [{"t": round(e.t, 3), "person": e.person_id, "token": e.token, "plate": e.plate_id, "sku": e.sku, "n": e.n,
                   "billed_token": e.billed_token or e.token, "stays_billed": stays_billed(e, tl.exits)} for e in tl.truth_events]
        handovers = [{"t": round(h.t, 3), "giver": h.giver, "receiver": h.receiver, "sku": h.sku, "n": h.n} for h in tl.handovers]
        return {"store_id": self.store.store_id, "scenario": self.scenario.name, "kind": self.scenario.kind, "seed": self.scenario.seed,
                "duration_s": round(self.end, 3), "receipts": receipts, "tracks": tracks, "events": events,
                "handovers": handovers}


def stays_billed(ev: TruthEvent, exits: dict[str, float]) -> bool:
    """A put-back after its taker left changes no receipt (the contract's billing rule)."""
    taker = ev.taker_id or ev.person_id
    return ev.n < 0 and taker in exits and exits[taker] <= ev.t


def world_of(scenario: Scenario, config: SensorConfig | None = None) -> World:
    """The world of a scenario made by `random_scenario` or a named one (they carry their
    store and catalog); `config` replaces the scenario's sensor settings."""
    if scenario.store is None or scenario.catalog is None:
        raise ValueError(f"scenario {scenario.name!r} carries no store/catalog: use World(store, catalog, scenario)")
    if config is not None:
        scenario = replace(scenario, sensors=config)
    return World(scenario.store, scenario.catalog, scenario)


def simulate(scenario: Scenario, config: SensorConfig | None = None) -> Iterator[SimMessage]:
    """Every message of the scenario's sensors, in stamp order (truth: `world_of(...).truth()`)."""
    return world_of(scenario, config).messages()
