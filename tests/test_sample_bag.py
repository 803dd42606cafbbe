"""End to end: the shipped sample bag replays to exactly its ground-truth receipts."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BAG = ROOT / "bags" / "sample_two_shoppers"
STORE = ROOT / "calibration" / "nanostore"


def test_replay_of_the_sample_bag_matches_its_truth(tmp_path):
    out = tmp_path / "receipts.json"
    proc = subprocess.run(
        [sys.executable, "-m", "walkout_bringup.cli", "replay", str(BAG), "--store", str(STORE / "store.yaml"),
         "--catalog", str(STORE / "catalog.yaml"), "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "faster than real time" in proc.stderr
    got = json.loads(out.read_text())
    truth = json.loads((BAG / "truth.json").read_text())
    assert got["store_id"] == truth["store_id"]
    want = {r["session_token"]: r for r in truth["receipts"]}
    have = {r["session_token"]: r for r in got["receipts"]}
    assert set(have) == set(want)
    for token, t in want.items():
        r = have[token]
        assert r["status"] == "approved", (token, r["review_reasons"])
        assert sorted((i["sku"], i["qty"]) for i in r["items"]) == sorted((i["sku"], i["qty"]) for i in t["items"])
        assert r["total_cents"] == t["total_cents"]
        assert abs(r["exit_stamp"] - t["exit_stamp"]) < 1.0


def test_replay_names_a_missing_bag(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "walkout_bringup.cli", "replay", str(tmp_path / "nope"), "--store", str(STORE / "store.yaml"),
         "--catalog", str(STORE / "catalog.yaml"), "--out", str(tmp_path / "r.json")],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2 and "nope does not exist" in proc.stderr
