import numpy as np
import pytest

from walkout_common.bagio import BagWriter, bag_info, read_messages
from walkout_common.images import ImageEncodingError, color_to_rgb, depth_to_metres
from walkout_common.msgconv import BadMessageError, gate_event, load_cell_batch, set_stamp, stamp_to_sec


def _image(writer: BagWriter, enc: str, arr: np.ndarray, bigendian: bool = False):
    Image = writer.msg("sensor_msgs/msg/Image")
    Header = writer.msg("std_msgs/msg/Header")
    Time = writer.msg("builtin_interfaces/msg/Time")
    h, w = arr.shape[:2]
    data = arr.astype(arr.dtype.newbyteorder(">" if bigendian else "<")).tobytes()
    return Image(Header(Time(sec=1, nanosec=5), "cam"), h, w, enc, int(bigendian), len(data) // h, np.frombuffer(data, np.uint8))


def test_depth_encodings_agree(tmp_path):
    with BagWriter(tmp_path / "bag") as w:
        mm = np.array([[0, 1500], [2500, 3000]], dtype=np.uint16)
        m16 = _image(w, "16UC1", mm)
        m32 = _image(w, "32FC1", np.where(mm == 0, np.nan, mm / 1000.0).astype(np.float32))
        m16be = _image(w, "16UC1", mm, bigendian=True)
    a, b, c = depth_to_metres(m16), depth_to_metres(m32), depth_to_metres(m16be)
    assert np.isnan(a[0, 0]) and np.isnan(b[0, 0])
    assert np.allclose(a[1:], b[1:]) and np.allclose(a[0, 1], 1.5)
    assert np.allclose(np.nan_to_num(a), np.nan_to_num(c))


def test_color_and_bad_encodings(tmp_path):
    with BagWriter(tmp_path / "bag") as w:
        rgb = np.zeros((2, 3, 3), np.uint8)
        rgb[..., 0] = 200
        bgr = _image(w, "bgr8", rgb[..., ::-1].copy())
        yuv = _image(w, "yuv422", np.zeros((2, 4), np.uint8))
        depth = _image(w, "16UC1", np.zeros((2, 2), np.uint16))
    assert (color_to_rgb(bgr)[..., 0] == 200).all()
    with pytest.raises(ImageEncodingError, match="yuv422"):
        depth_to_metres(yuv)
    with pytest.raises(ImageEncodingError, match="expected rgb8 or bgr8"):
        color_to_rgb(depth)


def test_bag_round_trip_and_conversions(tmp_path):
    path = tmp_path / "bag"
    with BagWriter(path) as w:
        LCB = w.msg("walkout_msgs/msg/LoadCellBatch")
        Gate = w.msg("walkout_msgs/msg/GateEvent")
        Header = w.msg("std_msgs/msg/Header")
        Time = w.msg("builtin_interfaces/msg/Time")
        grams = np.array([1.0, 2.0, np.nan, 4.0], dtype=np.float32)
        w.write("/shelves/load_cells", LCB(Header(Time(sec=3, nanosec=0), "map"), "S1", 60.0, ["a", "b"], grams), 3_000_000_000)
        w.write("/gates/events", Gate(Header(Time(sec=4, nanosec=500_000_000), "map"), "gate-in", 0, ""), 4_500_000_000)
    info = bag_info(path)
    assert info["topics"]["/shelves/load_cells"] == ("walkout_msgs/msg/LoadCellBatch", 1)
    msgs = list(read_messages(path))
    assert [m[0] for m in msgs] == ["/shelves/load_cells", "/gates/events"]
    batch = load_cell_batch(msgs[0][2])
    assert batch.grams.shape == (2, 2) and np.isnan(batch.grams[1, 0])
    assert np.allclose(batch.sample_times(), [3.0, 3.0 + 1 / 60])
    with pytest.raises(BadMessageError, match="ENTRY at gate 'gate-in' has an empty session_token"):
        gate_event(msgs[1][2])


def test_stamp_round_trip():
    class T:
        sec = 0
        nanosec = 0

    t = set_stamp(T(), 12.3456789)
    assert stamp_to_sec(t) == pytest.approx(12.3456789, abs=1e-9)
