"""Product recognition: the shipped ONNX model, packshot matching, projection and crops."""

from pathlib import Path

import numpy as np
import pytest

from walkout_common.store import load_catalog, load_store
from walkout_perception.products import ColorCameraPerceiver, ProductRecognizer
from walkout_perception.train_products import synth_crop
from walkout_sim.bodies import PersonPose
from walkout_sim.color_render import ColorRenderer

ROOT = Path(__file__).resolve().parents[4]
STORE = load_store(ROOT / "calibration" / "nanostore" / "store.yaml")
CATALOG = load_catalog(ROOT / "calibration" / "nanostore" / "catalog.yaml", STORE)


@pytest.fixture(scope="module")
def recognizer():
    return ProductRecognizer(CATALOG)


def test_shipped_model_recognises_unseen_catalog_products(recognizer):
    rng = np.random.default_rng(3)
    hits = n = 0
    for prod in CATALOG.products:
        for _ in range(10):
            scores = recognizer.classify(synth_crop(prod.sku, rng))
            assert abs(sum(scores.values()) - 1.0) < 1e-5
            products = {k: v for k, v in scores.items() if k}
            hits += max(products, key=products.get) == prod.sku
            n += 1
    # 25 products the model never trained on; chance is 4 %. A first model: issue 3 deepens it.
    assert hits / n > 0.45


def test_products_without_packshots_get_no_visual_evidence():
    bare = load_catalog(ROOT / "calibration" / "corner_shop" / "catalog.yaml")
    rec = ProductRecognizer(bare)
    assert rec.classify(np.zeros((20, 20, 3), np.uint8)) == {"": 1.0}


def test_projection_and_crop_at_a_hand(recognizer):
    cam = next(c for c in STORE.cameras if c.id == "color1")
    r = ColorRenderer(STORE, cam)
    per = ColorCameraPerceiver(STORE, cam, recognizer)
    per.set_camera_info(r.K, r.width, r.height)
    hand = np.array([2.65, 2.05, 1.0])
    uv, _ = per.project(hand)
    assert np.allclose(uv, r.caster.project(hand), atol=1e-6)
    sku = CATALOG.products[0].sku
    img = r.render([PersonPose(np.array([2.65, 1.6]), 1.7, np.pi / 2, hands=[hand], held_sku=sku)])
    (obs,) = per.process(1.0, img, [hand])
    assert obs.camera_id == "color1" and set(obs.scores) >= {sku, ""}
    # a hand outside the image gives no crop; an image of the wrong size is named
    assert per.process(1.0, img, [np.array([50.0, 50.0, 1.0])]) == []
    with pytest.raises(ValueError, match="does not match its CameraInfo"):
        per.process(1.0, img[:10], [hand])
