"""The depth node over real rclpy topics, a wrong image encoding included."""

from pathlib import Path

import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image

from walkout_bringup.testing import spin_until, wait_matched
from walkout_common.msgconv import set_stamp
from walkout_common.store import load_store
from walkout_msgs import msg as wm
from walkout_perception.depth_node import DepthNode
from walkout_sim.bodies import PersonPose
from walkout_sim.depth_render import DepthRenderer
from walkout_sim.encode import depth_bytes

ROOT = Path(__file__).resolve().parents[4]
STORE_FILE = ROOT / "calibration" / "nanostore" / "store.yaml"


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
