"""Camera node over real rclpy topics: tracks + color images -> /perception/products."""

from pathlib import Path

import numpy as np
import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image

from walkout_bringup.testing import spin_until, wait_matched
from walkout_common.msgconv import set_stamp
from walkout_common.store import load_store
from walkout_msgs import msg as wm
from walkout_perception.camera_node import CameraNode
from walkout_sim.bodies import PersonPose
from walkout_sim.color_render import ColorRenderer

ROOT = Path(__file__).resolve().parents[4]
STORE_FILE = ROOT / "calibration" / "nanostore" / "store.yaml"
CATALOG_FILE = ROOT / "calibration" / "nanostore" / "catalog.yaml"
SKU = "049000050103"  # lemon soda


def image_msg(rgb: np.ndarray, encoding: str, t: float) -> Image:
    data = rgb[..., ::-1] if encoding == "bgr8" else rgb
    m = Image(height=rgb.shape[0], width=rgb.shape[1], encoding=encoding, step=rgb.shape[1] * 3, data=np.ascontiguousarray(data).tobytes())
    set_stamp(m.header.stamp, t)
    return m


def test_camera_node_recognises_a_held_product_and_skips_bad_images():
    rclpy.init()
    try:
        store = load_store(STORE_FILE)
        cam = next(c for c in store.cameras if c.id == "color1")
        node = CameraNode(parameter_overrides=[Parameter("store_file", value=str(STORE_FILE)), Parameter("catalog_file", value=str(CATALOG_FILE))])
        probe = rclpy.create_node("probe")
        got: list[wm.ProductObservation] = []
        probe.create_subscription(wm.ProductObservation, "/perception/products", got.append, qos_profile_sensor_data)
        pub_img = probe.create_publisher(Image, cam.image_topic, QoSProfile(depth=10))
        pub_info = probe.create_publisher(CameraInfo, cam.info_topic, QoSProfile(depth=10))
        pub_tracks = probe.create_publisher(wm.TrackArray, "/tracking/tracks", QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
        ex = SingleThreadedExecutor()
        ex.add_node(node)
        ex.add_node(probe)
        wait_matched(ex, [pub_img, pub_info, pub_tracks])

        r = ColorRenderer(store, cam)
        hand = np.array([3.3, 1.5, 1.2])
        rgb = r.render([PersonPose(np.array([3.3, 2.0]), 1.75, -np.pi / 2, hands=[hand], held_sku=SKU)])
        t = 5.0
        tracks = wm.TrackArray()
        set_stamp(tracks.header.stamp, t)
        track = wm.Track(track_id="t1")
        hp = wm.HandPoint()
        hp.position.x, hp.position.y, hp.position.z = (float(v) for v in hand)
        track.hands = [hp]
        track.unseen_s = 0.1
        tracks.tracks = [track]
        pub_tracks.publish(tracks)
        assert spin_until(ex, lambda: len(node.tracks) == 1)
        assert node.tracks[0].unseen_s == pytest.approx(0.1)

        # before any CameraInfo: skipped, named once, the node carries on
        pub_img.publish(image_msg(rgb, "rgb8", t))
        assert spin_until(ex, lambda: any("before its CameraInfo" in w for w in node.__dict__.get("_warned_reasons", ())))
        info = CameraInfo(width=r.width, height=r.height, k=r.K.ravel().tolist())

        def send() -> bool:
            pub_info.publish(info)
            mono = Image(height=r.height, width=r.width, encoding="mono8", step=r.width, data=bytes(r.width * r.height))
            set_stamp(mono.header.stamp, t)
            pub_img.publish(mono)  # a wrong encoding
            pub_img.publish(image_msg(rgb, "bgr8", t))
            ex.spin_once(timeout_sec=0.05)
            return bool(got)

        assert spin_until(ex, send, timeout=10.0)
        assert any("mono8" in w for w in node.__dict__.get("_warned_reasons", ()))
        msg = got[0]
        assert msg.camera_id == "color1" and msg.header.frame_id == "map"
        assert np.allclose([msg.hand.x, msg.hand.y, msg.hand.z], hand, atol=1e-6)
        scores = {s.sku: s.probability for s in msg.scores}
        assert abs(sum(scores.values()) - 1.0) < 1e-4 and "" in scores
        assert max((k for k in scores if k), key=scores.get) == SKU
    finally:
        rclpy.try_shutdown()
