"""Products from color cameras: crops around reaching hands -> ONNX embedding -> SKU.

The shipped model (train_products.py) maps a crop (resized to 16x16 RGB) to a unit
appearance embedding; it was trained on synthetic renders of many random product looks,
so it is tied to no catalog. At run time each catalog product's reference embedding
comes from its packshot (`image` in catalog.yaml); a crop's probabilities over the
catalog follow from cosine similarity, with "" (nothing known in the hand) competing
through the model's empty-hand prototype and a floor similarity. A product without a
packshot gets no visual evidence: it is left out of the scores.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from walkout_common.store import Camera, Catalog, Store
from walkout_common.types import ProductObservation, TrackSnapshot

from .product_features import CROP, packshot_views, resize

log = logging.getLogger("walkout.products")
MODEL = Path(__file__).resolve().parent / "models" / "product_embedding.onnx"


def default_providers() -> list[str]:
    """CUDA first when onnxruntime-gpu finds a GPU, else the CPU."""
    ort.set_default_logger_severity(4)  # a missing CUDA is normal on CPU machines: no error spam
    have = ort.get_available_providers()
    want = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in have]
    return want or ["CPUExecutionProvider"]


@dataclass
class CameraParams:
    crop_m: float = 0.16  # crop side at the hand, metres
    temperature: float = 0.07  # softmax temperature on cosine similarities (train_products calibrates it)
    none_similarity: float = 0.5  # a product must look at least this alike to beat "nothing"
    min_crop_px: int = 6  # fewer pixels than this (hand at the image edge): no observation
    max_hand_age_s: float = 0.5  # hands detected further than this from the image stamp are ignored


def fresh_hands(tracks: Iterable[TrackSnapshot], stamp: float, max_age_s: float) -> list[np.ndarray]:
    """The arm tips worth looking at in an image taken at `stamp`: of tracks whose
    detection with those hands (their stamp minus unseen_s) is within max_age_s of it."""
    return [h for s in tracks if abs(stamp - (s.stamp - s.unseen_s)) <= max_age_s
            for h in s.hands if np.all(np.isfinite(h))]


class ProductRecognizer:
    def __init__(self, catalog: Catalog | None, model_path: Path | None = None, providers: list[str] | None = None,
                 params: CameraParams | None = None) -> None:
        self.params = params or CameraParams()
        path = Path(model_path) if model_path else MODEL
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1  # a 16x16 crop is too small to gain from threads; they only contend
        self.session = ort.InferenceSession(str(path), opts, providers=providers or default_providers())
        self.input = self.session.get_inputs()[0].name
        sidecar = path.with_suffix(".json")
        meta = json.loads(sidecar.read_text()) if sidecar.is_file() else {}
        self.empty = np.asarray(meta["empty_prototype"], np.float32) if "empty_prototype" in meta else None
        self.skus: list[str] = []
        self.refs = np.zeros((0, 1), dtype=np.float32)
        skus, refs = [], []
        for prod in catalog.products if catalog is not None else ():
            if prod.image is None:
                continue
            try:
                refs.append(packshot_embedding(self, _read_image(prod.image)))
            except (OSError, ValueError) as exc:
                log.warning("packshot %s of %s unreadable (%s): no visual evidence for it", prod.image, prod.sku, exc)
                continue
            skus.append(prod.sku)
        if skus:
            self.set_references(skus, np.array(refs))

    def set_references(self, skus: list[str], refs: np.ndarray) -> None:
        """The products to tell apart and their unit reference embeddings (one row each)."""
        self.skus, self.refs = list(skus), np.asarray(refs, np.float32)

    def embed(self, crop_rgb: np.ndarray) -> np.ndarray:
        return self.embed_many([crop_rgb])[0]

    def embed_many(self, crops: list[np.ndarray]) -> np.ndarray:
        for c in crops:
            if c.ndim != 3 or c.shape[2] < 3 or min(c.shape[:2]) < 1:
                raise ValueError(f"a crop must be (h, w, 3) RGB with pixels, got shape {c.shape}")
        x = np.stack([resize(c, CROP) for c in crops]).astype(np.float32)
        return self.session.run(None, {self.input: x})[0]

    def classify(self, crop_rgb: np.ndarray) -> dict[str, float]:
        """sku -> probability over products with packshots, "" = no known product; sums to 1."""
        if not self.skus:
            return {"": 1.0}
        e = self.embed(crop_rgb)
        p = self.params
        none = p.none_similarity if self.empty is None else max(p.none_similarity, float(self.empty @ e))
        logits = np.append(self.refs @ e, none) / p.temperature
        w = np.exp(logits - logits.max())
        w /= w.sum()
        out = {sku: float(v) for sku, v in zip(self.skus, w[:-1], strict=True)}
        out[""] = float(w[-1])
        return out


def packshot_embedding(rec: ProductRecognizer, packshot: np.ndarray) -> np.ndarray:
    """Unit reference embedding of a product: the mean over views of its packshot as a
    hand crop would show it (product_features.packshot_views)."""
    img = np.asarray(packshot)
    if img.ndim != 3 or img.shape[2] < 3 or min(img.shape[:2]) < 2:
        raise ValueError(f"not an RGB image: shape {img.shape}")
    e = rec.embed_many(packshot_views(img[..., :3])).mean(axis=0)
    return e / np.linalg.norm(e)


def _read_image(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


class ColorCameraPerceiver:
    """One color camera: crops around the hands it can see, classified."""

    def __init__(self, store: Store, camera: Camera, recognizer: ProductRecognizer, params: CameraParams | None = None) -> None:
        self.camera, self.recognizer = camera, recognizer
        self.params = params or recognizer.params
        self.K: np.ndarray | None = None
        self.size: tuple[int, int] | None = None
        self.R, self.t = camera.rotation_matrix, camera.translation

    def hands_to_look_at(self, tracks: Iterable[TrackSnapshot], stamp: float) -> list[np.ndarray]:
        """fresh_hands within this camera's max_hand_age_s of an image taken at `stamp`."""
        return fresh_hands(tracks, stamp, self.params.max_hand_age_s)

    def set_camera_info(self, k: np.ndarray, width: int, height: int) -> None:
        self.K, self.size = np.asarray(k, dtype=float).reshape(3, 3), (int(width), int(height))

    def project(self, p: np.ndarray) -> tuple[np.ndarray, float] | None:
        """Pixel of a map point and its depth, or None behind the camera."""
        if self.K is None:
            raise ValueError(f"camera {self.camera.id}: color image before its CameraInfo")
        pc = self.R.T @ (np.asarray(p, dtype=float) - self.t)
        if pc[2] <= 0.05:
            return None
        return np.array([self.K[0, 0] * pc[0] / pc[2] + self.K[0, 2], self.K[1, 1] * pc[1] / pc[2] + self.K[1, 2]]), float(pc[2])

    def process(self, stamp: float, rgb: np.ndarray, hands: list[np.ndarray]) -> list[ProductObservation]:
        """One observation per hand inside the image: a window of crop_m at the hand's
        depth, clipped at the image border, classified."""
        if self.size is None or self.K is None:
            raise ValueError(f"camera {self.camera.id}: color image before its CameraInfo")
        if rgb.ndim != 3 or rgb.shape[:2] != (self.size[1], self.size[0]):
            raise ValueError(f"camera {self.camera.id}: image {rgb.shape[1]}x{rgb.shape[0]} does not match its CameraInfo {self.size}")
        out = []
        for hand in hands:
            win = self.crop_window(hand)
            if win is None:
                continue
            u0, u1, v0, v1 = win
            scores = self.recognizer.classify(rgb[v0:v1, u0:u1])
            out.append(ProductObservation(stamp, self.camera.id, np.asarray(hand, dtype=float), scores))
        return out

    def crop_window(self, hand: np.ndarray) -> tuple[int, int, int, int] | None:
        """(u0, u1, v0, v1) of the crop_m window around a map point at its depth, clipped
        to the image; None when the point is outside the image or too little is left."""
        proj = self.project(hand)
        if proj is None or self.size is None:
            return None
        (u, v), z = proj
        w, h = self.size
        if not (0 <= u < w and 0 <= v < h):
            return None  # the hand is outside this camera's view
        half = max(int(round(self.K[0, 0] * self.params.crop_m / 2 / z)), 1)
        ui, vi = int(u), int(v)
        u0, u1, v0, v1 = max(ui - half, 0), min(ui + half, w), max(vi - half, 0), min(vi + half, h)
        if u1 - u0 < self.params.min_crop_px or v1 - v0 < self.params.min_crop_px:
            return None  # too few pixels left to say anything
        return u0, u1, v0, v1
