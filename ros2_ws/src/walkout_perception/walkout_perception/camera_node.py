"""Camera node: color images + track hands -> /perception/products (ONNX Runtime)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image

from walkout_common.images import ImageEncodingError, color_to_rgb
from walkout_common.msgconv import set_stamp, stamp_to_sec, track_snapshots
from walkout_common.params import declare
from walkout_common.ros import WarnOnce, run_node
from walkout_common.store import load_catalog, load_store
from walkout_common.types import ProductObservation, TrackSnapshot
from walkout_msgs import msg as wm

from .products import CameraParams, ColorCameraPerceiver, ProductRecognizer


class CameraNode(WarnOnce, Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("camera_node", **kwargs)
        store_file = self.declare_parameter("store_file", "").value
        catalog_file = self.declare_parameter("catalog_file", "").value
        model_path = self.declare_parameter("model_path", "").value
        params = declare(self, CameraParams)
        store = load_store(store_file)
        catalog = load_catalog(catalog_file, store)
        self.recognizer = ProductRecognizer(catalog, Path(model_path) if model_path else None, params=params)
        self.params = params
        self.tracks: list[TrackSnapshot] = []  # the latest /tracking/tracks, for their hands
        self.pub = self.create_publisher(wm.ProductObservation, "/perception/products", qos_profile_sensor_data)
        self.create_subscription(wm.TrackArray, "/tracking/tracks", self.on_tracks, QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
        self.cameras: dict[str, ColorCameraPerceiver] = {}
        for cam in store.cameras_of_kind("color"):
            self.cameras[cam.id] = ColorCameraPerceiver(store, cam, self.recognizer, params)
            self.create_subscription(CameraInfo, cam.info_topic, lambda m, c=cam.id: self.on_info(c, m), qos_profile_sensor_data)
            self.create_subscription(Image, cam.image_topic, lambda m, c=cam.id: self.on_image(c, m), qos_profile_sensor_data)
        used = self.recognizer.session.get_providers()[0]
        self.get_logger().info(f"{len(self.cameras)} color cameras, {len(self.recognizer.skus)} products with packshots, on {used}")

    def on_tracks(self, msg: wm.TrackArray) -> None:
        try:
            self.tracks = track_snapshots(msg)
        except Exception as exc:
            self.warn_once(f"skipped a /tracking/tracks message: {exc}")

    def on_info(self, cam_id: str, msg: CameraInfo) -> None:
        try:
            k = np.asarray(msg.k, dtype=float).reshape(3, 3)
            if not (k[0, 0] > 0 and k[1, 1] > 0 and msg.width > 0 and msg.height > 0):
                raise ValueError(f"k {list(msg.k)} / size {msg.width}x{msg.height} is not a usable intrinsic")
            self.cameras[cam_id].set_camera_info(k, msg.width, msg.height)
        except Exception as exc:
            self.warn_once(f"skipped a CameraInfo of camera {cam_id} ({self.cameras[cam_id].camera.info_topic}): {exc}")

    def on_image(self, cam_id: str, msg: Image) -> None:
        stamp = stamp_to_sec(msg.header.stamp)
        hands = self.cameras[cam_id].hands_to_look_at(self.tracks, stamp)
        if not hands:
            return  # nobody reaching now: nothing to look at
        try:
            obs = self.cameras[cam_id].process(stamp, color_to_rgb(msg), hands)
        except (ImageEncodingError, ValueError) as exc:
            self.warn_once(f"skipped a color image of camera {cam_id} ({self.cameras[cam_id].camera.image_topic}): {exc}")
            return
        except Exception as exc:
            self.get_logger().error(f"camera {cam_id}: failed on an image: {exc!r}")
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
    run_node(CameraNode, args)
