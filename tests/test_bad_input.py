"""Bad input through the whole replay: each is named and skipped, and the receipts stay right.

NaN batches, an unknown plate id, a wrong image encoding, an ENTRY with an empty token,
an unknown gate, and a camera with no pose in the store file.
"""

from pathlib import Path

import numpy as np
import yaml

from walkout_bringup.replay import replay_bag
from walkout_bringup.score import score_receipts
from walkout_common.bagio import BagWriter, read_messages
from walkout_common.msgconv import sec_to_stamp_fields
from walkout_common.store import load_catalog, load_store
from walkout_sim.bag import record_bag
from walkout_sim.scenario import SensorConfig, single_shopper

ROOT = Path(__file__).resolve().parents[1]
NANO = ROOT / "calibration" / "nanostore"


def test_bad_messages_are_named_and_the_receipts_survive(tmp_path):
    store = load_store(NANO / "store.yaml")
    catalog = load_catalog(NANO / "catalog.yaml", store)
    sc = single_shopper(store, catalog)
    sc.sensors = SensorConfig(depth_hz=10.0)
    truth = record_bag(store, catalog, sc, tmp_path / "good")

    bad_path = tmp_path / "bad"
    with BagWriter(bad_path) as w:
        Header, Time = w.msg("std_msgs/msg/Header"), w.msg("builtin_interfaces/msg/Time")
        LCB, Gate, Image = w.msg("walkout_msgs/msg/LoadCellBatch"), w.msg("walkout_msgs/msg/GateEvent"), w.msg("sensor_msgs/msg/Image")

        def header(t, frame="map"):
            s, ns = sec_to_stamp_fields(t)
            return Header(Time(sec=s, nanosec=ns), frame)

        injected = False
        for topic, t_ns, msg in read_messages(tmp_path / "good"):
            w.write(topic, msg, t_ns)
            t = t_ns / 1e9
            if not injected and t > 3.0:
                injected = True
                ns = t_ns + 1
                w.write("/shelves/load_cells", LCB(header(t), "G1A-S1", 60.0, ["G1A-S1-P1"], np.full(6, np.nan, np.float32)), ns)
                w.write("/shelves/load_cells", LCB(header(t), "G1A-S1", 60.0, ["NO-SUCH-PLATE"], np.zeros(6, np.float32)), ns)
                w.write("/gates/events", Gate(header(t), "gate-in", 0, ""), ns)
                w.write("/gates/events", Gate(header(t), "side-door", 0, "tok-x"), ns)
                cam = store.cameras[1]
                w.write(cam.image_topic, Image(header(t, cam.frame_id), 120, 160, "yuv422", 0, 320, np.zeros(120 * 320, np.uint8)), ns)

    data = yaml.safe_load((NANO / "store.yaml").read_text())
    del data["cameras"][5]["pose"]  # a camera with no pose: skipped with a warning
    store_file = tmp_path / "store.yaml"
    store_file.write_text(yaml.safe_dump(data))
    doc, pipeline, _ = replay_bag(bad_path, store_file, NANO / "catalog.yaml", progress=False)

    reasons = " | ".join(pipeline.stats.errors)
    assert "ENTRY at gate 'gate-in' has an empty session_token" in reasons
    assert "gate 'side-door' is not in the store file" in reasons
    assert "yuv422" in reasons
    assert "plate 'NO-SUCH-PLATE' is not in the store file" in reasons
    assert load_store(store_file).warnings and "depth6" in load_store(store_file).warnings[0]
    score = score_receipts(doc, truth)
    assert score.approved_correct == score.sessions == 1, (score.summary(), doc)
