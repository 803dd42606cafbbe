"""How each product looks to a color camera, derived from its SKU alone.

The simulator paints held products with it and the product classifier is trained on
it, so any catalog (of any store) gets a stable, distinct look per SKU.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Appearance:
    base: tuple[int, int, int]
    accent: tuple[int, int, int]
    pattern: int  # 0 horizontal stripes, 1 vertical stripes, 2 centre block, 3 checks


def _hsv_to_rgb(h: float, s: float, v: float) -> tuple[int, int, int]:
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    r, g, b = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return int(r * 255), int(g * 255), int(b * 255)


def product_appearance(sku: str) -> Appearance:
    h = hashlib.sha256(sku.encode()).digest()
    base = _hsv_to_rgb(h[0] / 255.0, 0.55 + 0.45 * h[1] / 255.0, 0.55 + 0.45 * h[2] / 255.0)
    accent = _hsv_to_rgb(((h[0] + 96 + h[3] % 64) % 256) / 255.0, 0.3 + 0.7 * h[4] / 255.0, 0.35 + 0.65 * h[5] / 255.0)
    return Appearance(base, accent, h[6] % 4)


def render_product(sku: str, height: int, width: int) -> np.ndarray:
    """A (height, width, 3) uint8 picture of the product's face, as a packshot."""
    a = product_appearance(sku)
    img = np.empty((height, width, 3), dtype=np.uint8)
    img[:] = a.base
    yy, xx = np.mgrid[0:height, 0:width]
    if a.pattern == 0:
        mask = (yy * 4 // max(height, 1)) % 2 == 1
    elif a.pattern == 1:
        mask = (xx * 4 // max(width, 1)) % 2 == 1
    elif a.pattern == 2:
        mask = (abs(yy - height / 2) < height / 4) & (abs(xx - width / 2) < width / 4)
    else:
        mask = ((yy * 3 // max(height, 1)) + (xx * 3 // max(width, 1))) % 2 == 1
    img[mask] = a.accent
    return img
