"""The simulator node live, on real rclpy topics: gates, load cells, depth, /clock, truth."""

import json
import time
from pathlib import Path

import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import qos_profile_sensor_data
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, Image

from walkout_common.images import depth_to_metres
from walkout_common.store import load_store
from walkout_msgs.msg import GateEvent, LoadCellBatch
from walkout_sim.sim_node import SimNode

ROOT = Path(__file__).resolve().parents[4]
NANO = ROOT / "calibration" / "nanostore"


def test_sim_node_publishes_a_scenario_and_writes_its_truth(tmp_path):
    store = load_store(NANO / "store.yaml")
    cam = store.cameras_of_kind("depth")[0]
    truth_file = tmp_path / "truth.json"
    rclpy.init()
    try:
        params = [
            Parameter("store_file", value=str(NANO / "store.yaml")),
            Parameter("catalog_file", value=str(NANO / "catalog.yaml")),
            Parameter("scenario", value="single_shopper"),
            Parameter("rate", value=10.0),
            Parameter("depth_hz", value=2.0),
            Parameter("depth_encoding", value="32FC1"),
            Parameter("truth_file", value=str(truth_file)),
            Parameter("wait_for_subscribers_s", value=10.0),
        ]
        sim = SimNode(parameter_overrides=params)
        listener = Node("sim_listener")
        got: dict[str, list] = {"gates": [], "cells": [], "clock": [], "depth": [], "info": []}
        listener.create_subscription(GateEvent, "/gates/events", got["gates"].append, 100)
        listener.create_subscription(LoadCellBatch, "/shelves/load_cells", got["cells"].append, 5000)
        listener.create_subscription(Clock, "/clock", got["clock"].append, 100)
        listener.create_subscription(Image, cam.image_topic, got["depth"].append, qos_profile_sensor_data)
        listener.create_subscription(CameraInfo, cam.info_topic, got["info"].append, qos_profile_sensor_data)
        ex = SingleThreadedExecutor()
        ex.add_node(sim)
        ex.add_node(listener)
        deadline = time.monotonic() + 60.0
        while not sim.finished and time.monotonic() < deadline:
            ex.spin_once(timeout_sec=0.05)
        end = time.monotonic() + 0.5
        while time.monotonic() < end:
            ex.spin_once(timeout_sec=0.05)
        assert sim.finished
        truth = json.loads(truth_file.read_text())
        assert truth == json.loads(json.dumps(sim.world.truth()))
        kinds = [g.kind for g in got["gates"]]
        assert kinds.count(GateEvent.ENTRY) == 1 and kinds.count(GateEvent.EXIT) == 1
        assert next(g.session_token for g in got["gates"] if g.kind == GateEvent.ENTRY) == truth["receipts"][0]["session_token"]
        assert len(got["cells"]) > 300 and {b.shelf_id for b in got["cells"]} == set(store.shelves)
        stamps = [c.clock.sec + c.clock.nanosec * 1e-9 for c in got["clock"]]
        assert stamps == sorted(stamps) and stamps[-1] > truth["receipts"][0]["exit_stamp"]
        assert got["depth"] and got["info"]
        depth = depth_to_metres(got["depth"][-1])
        assert depth.shape == (got["info"][-1].height, got["info"][-1].width) and got["depth"][-1].header.frame_id == cam.frame_id
        assert 2.5 < float(np.nanmedian(depth)) < 3.5  # mostly floor, 3.2 m below
        ex.shutdown()
        sim.destroy_node()
        listener.destroy_node()
    finally:
        rclpy.try_shutdown()
