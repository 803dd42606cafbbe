"""The one small function that turns a sensor_msgs/Image into a numpy array.

ROS 2's cv_bridge is used where a ROS install has it; otherwise (here: PyPI's
cv-bridge is ROS 1's and breaks on numpy 2) the raw buffer is decoded with numpy.
Works on rclpy messages and on rosbags' deserialized messages alike.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

_DTYPES = {
    "16UC1": (np.uint16, 1),
    "mono16": (np.uint16, 1),
    "32FC1": (np.float32, 1),
    "8UC1": (np.uint8, 1),
    "mono8": (np.uint8, 1),
    "rgb8": (np.uint8, 3),
    "bgr8": (np.uint8, 3),
    "8UC3": (np.uint8, 3),
}


class ImageEncodingError(ValueError):
    """An image whose encoding or size cannot be decoded."""


def _ros_cv_bridge() -> Any | None:
    """ROS 2's cv_bridge when a sourced ROS 2 install provides it, else None."""
    if not os.environ.get("ROS_DISTRO"):
        return None
    try:
        from cv_bridge import CvBridge
    except Exception:
        return None
    return CvBridge()


_BRIDGE = _ros_cv_bridge()


def image_to_array(msg: Any) -> np.ndarray:
    """(height, width[, channels]) array of an Image message; raises ImageEncodingError."""
    enc = str(msg.encoding)
    if _BRIDGE is not None and type(msg).__module__.startswith("sensor_msgs"):
        try:
            return np.asarray(_BRIDGE.imgmsg_to_cv2(msg, desired_encoding="passthrough"))
        except Exception as exc:
            raise ImageEncodingError(f"cv_bridge could not decode a '{enc}' image: {exc}") from None
    if enc not in _DTYPES:
        raise ImageEncodingError(f"unsupported image encoding '{enc}' (expected one of {sorted(_DTYPES)})")
    dtype, channels = _DTYPES[enc]
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    dt = np.dtype(dtype).newbyteorder(">" if msg.is_bigendian else "<")
    row_bytes = w * channels * dt.itemsize
    data = np.frombuffer(bytes(msg.data) if not isinstance(msg.data, np.ndarray) else msg.data.tobytes(), dtype=np.uint8)
    if h <= 0 or w <= 0 or step < row_bytes or data.size < h * step:
        raise ImageEncodingError(f"image {w}x{h} '{enc}' with step {step} does not fit its {data.size} bytes")
    rows = data[: h * step].reshape(h, step)[:, :row_bytes]
    arr = np.ascontiguousarray(rows).view(dt).reshape((h, w, channels) if channels > 1 else (h, w))
    return arr.astype(dt.newbyteorder("="), copy=False)


def depth_to_metres(msg: Any) -> np.ndarray:
    """float32 metres, NaN where no reading; accepts 16UC1 (mm, 0 = none) and 32FC1."""
    enc = str(msg.encoding)
    if enc not in ("16UC1", "mono16", "32FC1"):
        raise ImageEncodingError(f"depth image has encoding '{enc}', expected 16UC1 or 32FC1")
    arr = image_to_array(msg)
    if arr.dtype == np.uint16:
        out = arr.astype(np.float32) / 1000.0
        out[arr == 0] = np.nan
        return out
    out = arr.astype(np.float32, copy=True)
    out[~np.isfinite(out) | (out <= 0)] = np.nan
    return out


def color_to_rgb(msg: Any) -> np.ndarray:
    """uint8 (h, w, 3) RGB of an rgb8 or bgr8 image."""
    enc = str(msg.encoding)
    if enc not in ("rgb8", "bgr8", "8UC3"):
        raise ImageEncodingError(f"color image has encoding '{enc}', expected rgb8 or bgr8")
    arr = image_to_array(msg)
    return arr[..., ::-1].copy() if enc == "bgr8" else arr
