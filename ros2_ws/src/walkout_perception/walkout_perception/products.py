"""Products from color cameras: crops around reaching hands -> ONNX embedding -> SKU.

The shipped model (train_products.py) maps a 16x16 RGB crop to an appearance embedding;
it was trained on synthetic renders of many random product looks, so it is tied to no
catalog. At run time each catalog product's reference embedding comes from its
packshot (`image` in catalog.yaml); the crop's probabilities over the catalog follow from
cosine similarity. A product without a packshot gets no visual evidence.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from walkout_common.store import Camera, Catalog, Store
from walkout_common.types import ProductObservation

log = logging.getLogger("walkout.products")
MODEL = Path(__file__).resolve().parent / "models" / "product_embedding.onnx"
CROP = 16


def resize(img: np.ndarray, size: int = CROP) -> np.ndarray:
    """Nearest-neighbour resize to (size, size, 3) float32 in [0, 1]."""
    h, w = img.shape[:2]
    ys = np.clip((np.arange(size) + 0.5) * h / size, 0, h - 1).astype(int)
    xs = np.clip((np.arange(size) + 0.5) * w / size, 0, w - 1).astype(int)
    return img[ys][:, xs, :3].astype(np.float32) / 255.0


def providers() -> list[str]:
    """CUDA when onnxruntime-gpu finds a GPU, else the CPU."""
    ort.set_default_logger_severity(4)  # a missing CUDA is normal on CPU machines: no error spam
    have = ort.get_available_providers()
    want = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in have]
    return want or ["CPUExecutionProvider"]


@dataclass
class CameraParams:
    crop_m: float = 0.16  # crop side at the hand, metres
    temperature: float = 0.1  # softmax temperature on cosine similarities
    none_similarity: float = 0.25  # below this, the hand most likely holds no known product
    min_crop_px: int = 6


class ProductRecognizer:
    def __init__(self, catalog: Catalog, model_path: Path | None = None, provider_list: list[str] | None = None,
                 params: CameraParams | None = None) -> None:
        self.params = params or CameraParams()
        path = Path(model_path) if model_path else MODEL
        self.session = ort.InferenceSession(str(path), providers=provider_list or providers())
        self.input = self.session.get_inputs()[0].name
        self.skus: list[str] = []
        refs = []
        for prod in catalog.products:
            if prod.image is None:
                continue
            if not prod.image.is_file():
                log.warning("packshot %s of %s is missing: no visual evidence for it", prod.image, prod.sku)
                continue
            self.skus.append(prod.sku)
            refs.append(self.embed(np.asarray(_read_png(prod.image))))
        self.refs = np.array(refs) if refs else np.zeros((0, 1), dtype=np.float32)

    def embed(self, crop_rgb: np.ndarray) -> np.ndarray:
        return self.embed_many([crop_rgb])[0]

    def embed_many(self, crops: list[np.ndarray]) -> np.ndarray:
        x = np.stack([resize(c) for c in crops]).astype(np.float32)
        return self.session.run(None, {self.input: x})[0]

    def classify(self, crop_rgb: np.ndarray) -> dict[str, float]:
        """sku -> probability over products with packshots, "" = no known product."""
        if not self.skus:
            return {"": 1.0}
        sims = self.refs @ self.embed(crop_rgb)
        p = self.params
        logits = np.append(sims, p.none_similarity) / p.temperature
        w = np.exp(logits - logits.max())
        w /= w.sum()
        out = {sku: float(v) for sku, v in zip(self.skus, w[:-1], strict=True)}
        out[""] = float(w[-1])
        return out


def _read_png(path: Path) -> np.ndarray:
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
        if self.size is None or rgb.shape[:2] != (self.size[1], self.size[0]):
            raise ValueError(f"camera {self.camera.id}: image {rgb.shape[1]}x{rgb.shape[0]} does not match its CameraInfo {self.size}")
        out = []
        for hand in hands:
            proj = self.project(hand)
            if proj is None:
                continue
            (u, v), z = proj
            half = int(self.K[0, 0] * self.params.crop_m / 2 / z)
            u0, u1 = int(round(u)) - half, int(round(u)) + half
            v0, v1 = int(round(v)) - half, int(round(v)) + half
            u0c, u1c, v0c, v1c = max(u0, 0), min(u1, self.size[0]), max(v0, 0), min(v1, self.size[1])
            if u1c - u0c < self.params.min_crop_px or v1c - v0c < self.params.min_crop_px:
                continue  # the hand is outside this camera's view
            scores = self.recognizer.classify(rgb[v0c:v1c, u0c:u1c])
            out.append(ProductObservation(stamp, self.camera.id, np.asarray(hand, dtype=float), scores))
        return out
