"""Weight and depth nodes over real rclpy topics, bad messages included."""

from pathlib import Path

import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image

from walkout_bringup.testing import spin_until, wait_matched
from walkout_common.msgconv import set_stamp
from walkout_common.store import load_store
from walkout_msgs import msg as wm
from walkout_perception.depth_node import DepthNode
from walkout_perception.weight_node import EVENTS_QOS, WeightNode
from walkout_sim.bodies import PersonPose
from walkout_sim.depth_render import DepthRenderer
from walkout_sim.encode import depth_bytes

ROOT = Path(__file__).resolve().parents[4]
STORE_FILE = ROOT / "calibration" / "nanostore" / "store.yaml"
PLATES = ["G1A-S1-P1", "G1A-S1-P2", "G1A-S1-P3", "G1A-S1-P4"]


def batch(t, grams, plates=PLATES, shelf="G1A-S1"):
    m = wm.LoadCellBatch(shelf_id=shelf, sample_rate_hz=60.0, plate_ids=plates)
    set_stamp(m.header.stamp, t)
    m.grams = [float(g) for g in np.asarray(grams, dtype=np.float32).ravel()]
    return m


def test_weight_node_publishes_a_settled_event_and_survives_bad_batches():
    rclpy.init()
    try:
        node = WeightNode(parameter_overrides=[Parameter("store_file", value=str(STORE_FILE)), Parameter("unsettled_period_s", value=0.0)])
        probe = rclpy.create_node("probe")
        events: list[wm.PlateEvent] = []
        probe.create_subscription(wm.PlateEvent, "/perception/plate_events", events.append, EVENTS_QOS)
        pub = probe.create_publisher(wm.LoadCellBatch, "/shelves/load_cells", QoSProfile(depth=500, reliability=ReliabilityPolicy.RELIABLE))
        ex = SingleThreadedExecutor()
        ex.add_node(node)
        ex.add_node(probe)
        wait_matched(ex, [pub])
        rng = np.random.default_rng(0)
        t = np.arange(0, 8, 1 / 60)
        g = np.stack([np.where(t < 4, 2000.0, 1480.0) + rng.normal(0, 2, t.size)] + [np.full(t.size, 900.0)] * 3, 1)
        for k in range(0, t.size, 6):
            if k == 60:
                pub.publish(batch(t[k], np.full((6, 4), np.nan)))  # a NaN batch
                pub.publish(batch(t[k], np.zeros(6), plates=["NOPE"]))  # an unknown plate
                bad = batch(t[k], np.zeros(5))  # grams that do not fit the plates
                pub.publish(bad)
            pub.publish(batch(t[k], g[k : k + 6]))
            ex.spin_once(timeout_sec=0.0)
        assert spin_until(ex, lambda: len(events) >= 1)
        (ev,) = [e for e in events if e.settled]
        assert ev.plate_id == "G1A-S1-P1" and abs(ev.delta_g + 520) < 3
    finally:
        rclpy.try_shutdown()


def test_depth_node_finds_a_person_and_skips_a_wrong_encoding():
    rclpy.init()
    try:
        store = load_store(STORE_FILE)
        cam = store.cameras[0]
        node = DepthNode(parameter_overrides=[Parameter("store_file", value=str(STORE_FILE))])
        probe = rclpy.create_node("probe")
        got: list[wm.PersonDetectionArray] = []
        probe.create_subscription(wm.PersonDetectionArray, "/perception/people", got.append, qos_profile_sensor_data)
        pub_img = probe.create_publisher(Image, cam.image_topic, QoSProfile(depth=10))
        pub_info = probe.create_publisher(CameraInfo, cam.info_topic, QoSProfile(depth=10))
        ex = SingleThreadedExecutor()
        ex.add_node(node)
        ex.add_node(probe)
        wait_matched(ex, [pub_img, pub_info])
        r = DepthRenderer(store, cam)
        info = CameraInfo(width=160, height=120, k=r.K.ravel().tolist())
        depth = r.render([PersonPose(np.array([1.0, 1.2]), 1.75, 0.0)])
        data, step = depth_bytes(depth, "16UC1")
        wrong = Image(height=120, width=160, encoding="rgb8", step=480, data=bytes(120 * 480))
        good = Image(height=120, width=160, encoding="16UC1", step=step, data=data)
        set_stamp(good.header.stamp, 3.0)

        def send() -> bool:
            pub_info.publish(info)
            pub_img.publish(wrong)
            pub_img.publish(good)
            ex.spin_once(timeout_sec=0.05)
            return any(m.people for m in got)

        assert spin_until(ex, send, timeout=10.0)
        msg = [m for m in got if m.people][0]
        assert msg.camera_id == cam.id and msg.header.frame_id == "map"
        head = msg.people[0].head
        assert abs(head.x - 1.0) < 0.06 and abs(head.y - 1.2) < 0.06 and abs(msg.people[0].height_m - 1.75) < 0.06
    finally:
        rclpy.try_shutdown()
