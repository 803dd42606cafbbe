"""Camera node: color images + track hands -> /perception/products (ONNX Runtime)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rclpy
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image

from walkout_common.images import ImageEncodingError, color_to_rgb
from walkout_common.msgconv import set_stamp, stamp_to_sec
from walkout_common.params import declare
from walkout_common.store import load_catalog, load_store
from walkout_common.types import ProductObservation
from walkout_msgs import msg as wm

from .products import CameraParams, ColorCameraPerceiver, ProductRecognizer


class CameraNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("camera_node", **kwargs)
        store_file = self.declare_parameter("store_file", "").value
        catalog_file = self.declare_parameter("catalog_file", "").value
        model_path = self.declare_parameter("model_path", "").value
        params = declare(self, CameraParams)
        store = load_store(store_file)
        catalog = load_catalog(catalog_file, store)
        self.recognizer = ProductRecognizer(catalog, Path(model_path) if model_path else None, params=params)
        self.hands: list[np.ndarray] = []
        self._warned: set[str] = set()
        self.pub = self.create_publisher(wm.ProductObservation, "/perception/products", qos_profile_sensor_data)
        self.create_subscription(wm.TrackArray, "/tracking/tracks", self.on_tracks, QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
        self.cameras: dict[str, ColorCameraPerceiver] = {}
        for cam in store.cameras_of_kind("color"):
            self.cameras[cam.id] = ColorCameraPerceiver(store, cam, self.recognizer, params)
            self.create_subscription(CameraInfo, cam.info_topic, lambda m, c=cam.id: self.on_info(c, m), qos_profile_sensor_data)
            self.create_subscription(Image, cam.image_topic, lambda m, c=cam.id: self.on_image(c, m), qos_profile_sensor_data)
        used = self.recognizer.session.get_providers()[0]
        self.get_logger().info(f"{len(self.cameras)} color cameras, {len(self.recognizer.skus)} products with packshots, on {used}")

    def _warn(self, reason: str) -> None:
        if reason not in self._warned:
            self._warned.add(reason)
            self.get_logger().warning(reason)

    def on_tracks(self, msg: wm.TrackArray) -> None:
        self.hands = [np.array([h.position.x, h.position.y, h.position.z]) for t in msg.tracks for h in t.hands]

    def on_info(self, cam_id: str, msg: CameraInfo) -> None:
        self.cameras[cam_id].set_camera_info(np.asarray(msg.k).reshape(3, 3), msg.width, msg.height)

    def on_image(self, cam_id: str, msg: Image) -> None:
        if not self.hands:
            return
        try:
            obs = self.cameras[cam_id].process(stamp_to_sec(msg.header.stamp), color_to_rgb(msg), self.hands)
        except (ImageEncodingError, ValueError) as exc:
            self._warn(f"skipped a color image of camera {cam_id}: {exc}")
            return
        for o in obs:
            self.pub.publish(observation_msg(o))


def observation_msg(o: ProductObservation) -> wm.ProductObservation:
    m = wm.ProductObservation(camera_id=o.camera_id)
    set_stamp(m.header.stamp, o.stamp)
    m.header.frame_id = "map"
    m.hand.x, m.hand.y, m.hand.z = (float(v) for v in o.hand)
    m.scores = [wm.ProductScore(sku=k, probability=float(v)) for k, v in o.scores.items()]
    return m


def main(args: list[str] | None = None) -> None:
    rclpy.init(args=args)
    node = CameraNode()
    try:
        rclpy.spin(node)
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
