"""Simulator node: a scenario's sensor streams published live, with /clock."""

from __future__ import annotations

import importlib
import json
import time
from pathlib import Path

import rclpy
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy

from walkout_common.ros import run_node
from walkout_common.store import load_catalog, load_store

from .encode import Encoder
from .scenario import NAMED, SensorConfig, random_scenario
from .world import World


def ros_class(typename: str):
    pkg, _, name = typename.split("/")
    return getattr(importlib.import_module(f"{pkg}.msg"), name)


class SimNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("sim_node", **kwargs)
        p = {name: self.declare_parameter(name, default).value for name, default in (
            ("store_file", ""), ("catalog_file", ""), ("scenario", "random"), ("shoppers", 4), ("seed", 7), ("rate", 1.0),
            ("depth_hz", 10.0), ("color_hz", 0.0), ("wait_for_subscribers_s", 20.0), ("truth_file", ""),
        )}
        self.p = p
        store = load_store(p["store_file"])
        catalog = load_catalog(p["catalog_file"], store)
        sensors = SensorConfig(depth_hz=float(p["depth_hz"]), color_hz=float(p["color_hz"]))
        if p["scenario"] == "random":
            scenario = random_scenario(store, catalog, int(p["shoppers"]), int(p["seed"]), sensors=sensors)
        else:
            scenario = NAMED[p["scenario"]](store, catalog, int(p["seed"]))
            scenario.sensors = sensors
        self.world = World(store, catalog, scenario)
        self.encoder = Encoder(ros_class, raw_bytes=True)
        self.pubs: dict[str, object] = {}
        reliable = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
        self.qos = reliable
        for topic, typename in [("/clock", "rosgraph_msgs/msg/Clock"), ("/shelves/load_cells", "walkout_msgs/msg/LoadCellBatch"),
                                ("/gates/events", "walkout_msgs/msg/GateEvent")]:
            self.pubs[topic] = self.create_publisher(ros_class(typename), topic, reliable)
        for cam in store.cameras:
            self.pubs[cam.image_topic] = self.create_publisher(ros_class("sensor_msgs/msg/Image"), cam.image_topic, QoSProfile(depth=10))
            self.pubs[cam.info_topic] = self.create_publisher(ros_class("sensor_msgs/msg/CameraInfo"), cam.info_topic, QoSProfile(depth=10))
        self.get_logger().info(f"scenario {scenario.name}: {len(scenario.shoppers)} shoppers, {self.world.end:.0f} s")

    def wait_for_subscribers(self) -> None:
        """Publishes nothing until the stack listens (DDS discovery can take seconds)."""
        deadline = time.monotonic() + float(self.p["wait_for_subscribers_s"])
        key = ["/shelves/load_cells", "/gates/events"]
        while time.monotonic() < deadline and not all(self.pubs[t].get_subscription_count() > 0 for t in key):
            rclpy.spin_once(self, timeout_sec=0.1)

    def run(self) -> None:
        rate = max(float(self.p["rate"]), 1e-3)
        wall0 = time.monotonic()
        for m in self.world.messages():
            delay = wall0 + m.stamp / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            msg, _ = self.encoder.encode(m)
            self.pubs[m.topic].publish(msg)
        if self.p["truth_file"]:
            Path(self.p["truth_file"]).write_text(json.dumps(self.world.truth(), indent=1))
        self.get_logger().info("simulation finished")


def main(args: list[str] | None = None) -> None:
    def start(node: SimNode) -> None:
        node.wait_for_subscribers()
        node.run()

    run_node(SimNode, args, after_start=start)
