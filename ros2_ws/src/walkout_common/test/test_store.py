from pathlib import Path

import numpy as np
import pytest
import yaml

from walkout_common.store import StoreFileError, load_catalog, load_store, matrix_to_quaternion, quaternion_to_matrix

ROOT = Path(__file__).resolve().parents[4]
STORE = ROOT / "calibration" / "nanostore" / "store.yaml"
CATALOG = ROOT / "calibration" / "nanostore" / "catalog.yaml"


def test_example_store_loads():
    store = load_store(STORE)
    catalog = load_catalog(CATALOG, store)
    assert store.store_id == "nanostore-1"
    assert len(store.plates) == 24 and len(store.cameras_of_kind("depth")) == 6
    assert all(catalog.by_sku[p.sku] is p for p in catalog.products)
    assert {p.sku for p in catalog.stocked_on("G1A-S1-P2")} == {"049000028911", "049000050103"}


def test_plate_geometry():
    plate = load_store(STORE).plates_by_id["G1A-S1-P1"]
    # Front edge of a plate facing -y lies half its depth toward the aisle.
    assert np.allclose(plate.front_center, [1.95, 2.0, 0.9])
    assert plate.distance_to_front(np.array([1.95, 1.5])) == pytest.approx(0.5)
    assert plate.distance_to_front(np.array([2.55, 2.0])) == pytest.approx(0.3)  # beyond the plate's side


def test_quaternion_round_trip():
    rng = np.random.default_rng(1)
    for _ in range(20):
        q = rng.normal(size=4)
        q /= np.linalg.norm(q)
        q2 = matrix_to_quaternion(quaternion_to_matrix(q))
        assert np.allclose(q2, q) or np.allclose(q2, -q)


def _write(tmp_path: Path, data: dict) -> Path:
    p = tmp_path / "store.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


def test_camera_without_pose_is_named_and_skipped(tmp_path):
    data = yaml.safe_load(STORE.read_text())
    del data["cameras"][2]["pose"]
    store = load_store(_write(tmp_path, data))
    assert [c.id for c in store.cameras_of_kind("depth")] == ["depth1", "depth2", "depth4", "depth5", "depth6"]
    assert len(store.warnings) == 1 and "cameras[2] (depth3): camera has no pose" in store.warnings[0]


def test_bad_fields_are_named(tmp_path):
    data = yaml.safe_load(STORE.read_text())
    data["plates"][3]["center"] = [1.0, 2.0]
    with pytest.raises(StoreFileError, match=r"plates\[3\].*'center' must be a list of 3 numbers"):
        load_store(_write(tmp_path, data))
    data = yaml.safe_load(STORE.read_text())
    data["gates"][0]["kind"] = "sideways"
    with pytest.raises(StoreFileError, match="gate-in.*kind must be entry, exit or both"):
        load_store(_write(tmp_path, data))


def test_catalog_with_unknown_plate(tmp_path):
    store = load_store(STORE)
    data = yaml.safe_load(CATALOG.read_text())
    data["products"][0]["plates"] = ["NOPE-1"]
    p = tmp_path / "catalog.yaml"
    p.write_text(yaml.safe_dump(data))
    with pytest.raises(StoreFileError, match=r"012000286209.*NOPE-1"):
        load_catalog(p, store)
