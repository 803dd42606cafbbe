"""SimMessage -> ROS message, for any message classes with the ROS field names.

Used with rosbags' classes (bags) and rclpy's (live), so both carry identical data.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from walkout_common.msgconv import sec_to_stamp_fields

from .world import SimMessage


def depth_bytes(depth: np.ndarray, encoding: str) -> tuple[bytes, int]:
    """(data, step) of a depth image in 16UC1 millimetres (0 = none) or 32FC1 metres (NaN = none)."""
    if encoding == "16UC1":
        mm = np.nan_to_num(depth * 1000.0, nan=0.0)
        arr = np.clip(np.round(mm), 0, 65535).astype("<u2")
    elif encoding == "32FC1":
        arr = depth.astype("<f4")
    else:
        raise ValueError(f"unsupported depth encoding {encoding!r}")
    return arr.tobytes(), arr.shape[1] * arr.dtype.itemsize


class Encoder:
    """Builds messages from a `types` lookup: typename -> class."""

    def __init__(self, lookup, raw_bytes: bool = False, origin: float = 0.0) -> None:
        self.cls = lookup
        self.raw_bytes = raw_bytes  # rclpy wants bytes for uint8[]; rosbags a numpy array
        self.origin = origin  # seconds added to every stamp (a store's bag is stamped by the wall clock: 1.7e9 s and on)

    def _stamp(self, t: float) -> Any:
        sec, nsec = sec_to_stamp_fields(t + self.origin)
        return self.cls("builtin_interfaces/msg/Time")(sec=sec, nanosec=nsec)

    def _header(self, t: float, frame: str) -> Any:
        return self.cls("std_msgs/msg/Header")(stamp=self._stamp(t), frame_id=frame)

    def encode(self, m: SimMessage) -> tuple[Any, str]:
        f = m.fields
        if m.kind == "clock":
            return self.cls("rosgraph_msgs/msg/Clock")(clock=self._stamp(m.stamp)), "rosgraph_msgs/msg/Clock"
        if m.kind == "load_cells":
            t = "walkout_msgs/msg/LoadCellBatch"
            return self.cls(t)(header=self._header(m.stamp, "map"), shelf_id=f["shelf_id"], sample_rate_hz=f["sample_rate_hz"],
                               plate_ids=list(f["plate_ids"]), grams=np.asarray(f["grams"], dtype=np.float32)), t
        if m.kind == "gate":
            t = "walkout_msgs/msg/GateEvent"
            return self.cls(t)(header=self._header(m.stamp, "map"), gate_id=f["gate_id"], kind=f["kind"], session_token=f["session_token"]), t
        if m.kind == "camera_info":
            t = "sensor_msgs/msg/CameraInfo"
            return self._camera_info(m, t), t
        if m.kind == "depth":
            data, step = depth_bytes(f["depth"], f["encoding"])
            h, w = f["depth"].shape
            return self._image(m.stamp, f["frame_id"], h, w, f["encoding"], step, data), "sensor_msgs/msg/Image"
        if m.kind == "color":
            rgb = np.ascontiguousarray(f["rgb"], dtype=np.uint8)
            h, w = rgb.shape[:2]
            return self._image(m.stamp, f["frame_id"], h, w, "rgb8", w * 3, rgb.tobytes()), "sensor_msgs/msg/Image"
        raise ValueError(f"unknown sim message kind {m.kind}")

    def _image(self, t, frame, h, w, enc, step, data) -> Any:
        return self.cls("sensor_msgs/msg/Image")(header=self._header(t, frame), height=h, width=w, encoding=enc, is_bigendian=0,
                                                 step=step, data=data if self.raw_bytes else np.frombuffer(data, dtype=np.uint8))

    def _camera_info(self, m: SimMessage, t: str) -> Any:
        f = m.fields
        k = np.asarray(f["k"], dtype=float)
        p = np.zeros(12)
        p[[0, 1, 2, 4, 5, 6, 10]] = [k[0], k[1], k[2], k[3], k[4], k[5], 1.0]
        roi = self.cls("sensor_msgs/msg/RegionOfInterest")(x_offset=0, y_offset=0, height=0, width=0, do_rectify=False)
        kw = dict(header=self._header(m.stamp, f["frame_id"]), height=f["height"], width=f["width"], distortion_model="plumb_bob",
                  d=np.zeros(0), k=k, r=np.eye(3).ravel(), p=p, binning_x=0, binning_y=0, roi=roi)
        return self.cls(t)(**kw)
