"""rosbag2 reading and writing (mcap or sqlite3) with the `rosbags` library.

rosbag2_py is not on PyPI, so bags are read and written with `rosbags`, whose
typestore learns walkout_msgs from the package's own .msg files.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from rosbags.rosbag2 import Reader, Writer
from rosbags.rosbag2.enums import CompressionFormat, CompressionMode, StoragePlugin
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore


def msg_dir() -> Path:
    """The folder holding walkout_msgs' .msg files (installed share, or the source tree)."""
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        cand = Path(prefix) / "share" / "walkout_msgs" / "msg"
        if cand.is_dir():
            return cand
    here = Path(__file__).resolve()
    for parent in here.parents:
        cand = parent / "walkout_msgs" / "msg"
        if cand.is_dir():
            return cand
        cand = parent / "ros2_ws" / "src" / "walkout_msgs" / "msg"
        if cand.is_dir():
            return cand
    raise FileNotFoundError("walkout_msgs/msg not found: build the workspace or run from the repository")


@lru_cache(maxsize=1)
def typestore() -> Typestore:
    """A ROS 2 Kilted typestore that also knows every walkout_msgs message."""
    store = get_typestore(Stores.ROS2_KILTED)
    types: dict[str, Any] = {}
    for path in sorted(msg_dir().glob("*.msg")):
        types.update(get_types_from_msg(path.read_text(), f"walkout_msgs/msg/{path.stem}"))
    store.register(types)
    return store


def read_messages(bag: str | Path, topics: Iterable[str] | None = None) -> Iterator[tuple[str, int, Any]]:
    """Yields (topic, log time in ns, deserialized message) in log-time order."""
    ts = typestore()
    with Reader(Path(bag)) as reader:
        wanted = set(topics) if topics is not None else None
        conns = [c for c in reader.connections if wanted is None or c.topic in wanted]
        for conn, t_ns, raw in reader.messages(connections=conns):
            yield conn.topic, t_ns, ts.deserialize_cdr(raw, conn.msgtype)


def bag_info(bag: str | Path) -> dict[str, Any]:
    """Topics with types and counts, duration and start time of a bag."""
    with Reader(Path(bag)) as reader:
        return {
            "topics": {c.topic: (c.msgtype, c.msgcount) for c in reader.connections},
            "start_ns": reader.start_time,
            "end_ns": reader.end_time,
            "duration_s": reader.duration / 1e9,
            "message_count": reader.message_count,
        }


class BagWriter:
    """Writes a zstd-compressed mcap bag; connections are made on first use of a topic."""

    def __init__(self, path: str | Path, storage: str = "mcap") -> None:
        self.path = Path(path)
        plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
        self._writer = Writer(self.path, version=9, storage_plugin=plugin)
        if plugin == StoragePlugin.MCAP:
            self._writer.set_compression(CompressionMode.STORAGE, CompressionFormat.ZSTD)
        self._conns: dict[str, Any] = {}
        self._ts = typestore()

    def __enter__(self) -> BagWriter:
        self._writer.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self._writer.close()

    def write(self, topic: str, msg: Any, t_ns: int) -> None:
        msgtype = msg.__msgtype__
        conn = self._conns.get(topic)
        if conn is None:
            conn = self._writer.add_connection(topic, msgtype, typestore=self._ts)
            self._conns[topic] = conn
        self._writer.write(conn, int(t_ns), self._ts.serialize_cdr(msg, msgtype))

    def msg(self, msgtype: str) -> Any:
        """The rosbags class of a message type, e.g. msg('sensor_msgs/msg/Image')."""
        return self._ts.types[msgtype]
