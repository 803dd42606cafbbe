"""Simulator node: a scenario's sensor streams published live at `rate`, with /clock.

The stream is the very one `record_bag` writes (world.py); a wall timer publishes every
message whose sim stamp is due. When the last one is out the truth is written to
`truth_file` and the node ends, unless `keep_spinning`.
"""

from __future__ import annotations

import importlib
import json
import time
from pathlib import Path
from typing import Any

import rclpy
from rclpy.clock import Clock, ClockType
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy

from walkout_common.params import declare
from walkout_common.store import load_catalog, load_store

from .encode import Encoder
from .scenario import SimParams, build_scenario
from .world import TYPENAMES, SimMessage, World


def ros_class(typename: str) -> Any:
    pkg, _, name = typename.split("/")
    return getattr(importlib.import_module(f"{pkg}.msg"), name)


class SimNode(Node):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("sim_node", **kwargs)
        self.p = declare(self, SimParams)
        store = load_store(self.p.store_file)
        catalog = load_catalog(self.p.catalog_file, store)
        self.world = World(store, catalog, build_scenario(self.p, store, catalog))
        self.encoder = Encoder(ros_class, raw_bytes=True)
        # Reliable publishers match both reliable and best-effort (sensor-data) subscribers.
        events = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
        images = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
        self.pubs: dict[str, Any] = {}
        for topic, kind in (("/clock", "clock"), ("/shelves/load_cells", "load_cells"), ("/gates/events", "gate")):
            self.pubs[topic] = self.create_publisher(ros_class(TYPENAMES[kind]), topic, events)
        for cam in store.cameras:
            self.pubs[cam.image_topic] = self.create_publisher(ros_class("sensor_msgs/msg/Image"), cam.image_topic, images)
            self.pubs[cam.info_topic] = self.create_publisher(ros_class("sensor_msgs/msg/CameraInfo"), cam.info_topic, images)
        self._stream = self.world.messages()
        self._pending: SimMessage | None = None
        self._wall0: float | None = None
        self._waiting_since = time.monotonic()
        self.published = 0
        self.finished = False
        # a steady wall timer: this node makes /clock, it must never wait on it
        self._timer = self.create_timer(0.005, self._tick, clock=Clock(clock_type=ClockType.STEADY_TIME))
        self.get_logger().info(
            f"scenario {self.world.scenario.name}: {len(self.world.scenario.shoppers)} shoppers, {self.world.end:.0f} s sim at rate {self.p.rate}"
        )

    def _listened(self) -> bool:
        return all(self.pubs[t].get_subscription_count() > 0 for t in ("/shelves/load_cells", "/gates/events"))

    def _tick(self) -> None:
        if self.finished:
            return
        if self._wall0 is None:
            # Publish nothing until the stack listens (DDS discovery can take seconds).
            if not self._listened() and time.monotonic() - self._waiting_since < self.p.wait_for_subscribers_s:
                return
            self._wall0 = time.monotonic()
        sim_now = (time.monotonic() - self._wall0) * max(self.p.rate, 1e-3)
        while True:
            m = self._pending if self._pending is not None else next(self._stream, None)
            if m is None:
                self._finish()
                return
            if m.stamp > sim_now:
                self._pending = m
                return
            self._pending = None
            try:
                msg, _ = self.encoder.encode(m)
                self.pubs[m.topic].publish(msg)
                self.published += 1
            except Exception as exc:  # one bad message must not stop the store
                self.get_logger().error(f"could not publish {m.kind} on {m.topic} at {m.stamp:.3f} s: {exc}")

    def _finish(self) -> None:
        self.finished = True
        if self.p.truth_file:
            Path(self.p.truth_file).write_text(json.dumps(self.world.truth(), indent=1) + "\n")
            self.get_logger().info(f"truth written to {self.p.truth_file}")
        self.get_logger().info(f"simulation finished: {self.published} messages")


def main(args: list[str] | None = None) -> None:
    rclpy.init(args=args)
    node = SimNode()
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        while rclpy.ok() and (not node.finished or node.p.keep_spinning):
            executor.spin_once(timeout_sec=0.1)
        # let the last messages leave before the process ends
        executor.spin_once(timeout_sec=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
