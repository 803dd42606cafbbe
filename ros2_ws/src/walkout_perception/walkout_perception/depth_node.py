"""Depth node: every depth camera of store.yaml -> /perception/people."""

from __future__ import annotations

import numpy as np
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image

from walkout_common.images import ImageEncodingError, depth_to_metres
from walkout_common.msgconv import set_stamp, stamp_to_sec
from walkout_common.params import declare
from walkout_common.ros import WarnOnce, run_node
from walkout_common.store import StoreFileError, load_store
from walkout_common.types import DetectionFrame
from walkout_msgs import msg as wm

from .depth import DepthParams, DepthPerceiver


class DepthNode(WarnOnce, Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("depth_node", **kwargs)
        store_file = self.declare_parameter("store_file", "").value
        params = declare(self, DepthParams)
        self.pub = self.create_publisher(wm.PersonDetectionArray, "/perception/people", qos_profile_sensor_data)
        try:
            store = load_store(store_file)
        except StoreFileError as exc:
            # One broken camera entry must not take the others down: retry without cameras.
            self.get_logger().error(f"{exc}; running with no cameras until the store file is fixed")
            store = None
        for w in store.warnings if store else ():
            self.get_logger().warning(w)
        self.perceivers: dict[str, DepthPerceiver] = {}
        for cam in store.cameras_of_kind("depth") if store else []:
            self.perceivers[cam.id] = DepthPerceiver(store, cam, params)
            self.create_subscription(CameraInfo, cam.info_topic, lambda m, c=cam.id: self.on_info(c, m), qos_profile_sensor_data)
            self.create_subscription(Image, cam.image_topic, lambda m, c=cam.id: self.on_image(c, m), qos_profile_sensor_data)
        self.get_logger().info(f"watching {len(self.perceivers)} depth cameras")


    def on_info(self, cam_id: str, msg: CameraInfo) -> None:
        p = self.perceivers[cam_id]
        if p.ready:
            return
        try:
            p.set_camera_info(np.asarray(msg.k).reshape(3, 3), msg.width, msg.height, np.asarray(msg.d))
        except ValueError as exc:
            self.warn_once(f"camera {cam_id}: bad CameraInfo: {exc}")

    def on_image(self, cam_id: str, msg: Image) -> None:
        p = self.perceivers[cam_id]
        try:
            frame = p.process(stamp_to_sec(msg.header.stamp), depth_to_metres(msg))
        except (ImageEncodingError, ValueError) as exc:
            self.warn_once(f"skipped a depth image of camera {cam_id}: {exc}")
            return
        self.pub.publish(detections_msg(frame))


def detections_msg(frame: DetectionFrame) -> wm.PersonDetectionArray:
    out = wm.PersonDetectionArray(camera_id=frame.camera_id)
    set_stamp(out.header.stamp, frame.stamp)
    out.header.frame_id = "map"
    for d in frame.people:
        m = wm.PersonDetection(height_m=float(d.height_m), num_points=int(d.num_points))
        m.head.x, m.head.y, m.head.z = (float(v) for v in d.head)
        for h in d.hands:
            hp = wm.HandPoint(reach_m=float(np.linalg.norm(h[:2] - d.head[:2])))
            hp.position.x, hp.position.y, hp.position.z = (float(v) for v in h)
            m.hands.append(hp)
        out.people.append(m)
    return out


def main(args: list[str] | None = None) -> None:
    run_node(DepthNode, args)
