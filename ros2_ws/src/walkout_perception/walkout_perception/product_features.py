"""Fixed front end of the product embedding, shared by training (numpy) and the ONNX graph.

A crop (CROP x CROP RGB in [0, 1]) becomes soft color histograms: every pixel is softly
assigned to a grid of reference colors, then pooled over the whole crop and over its
centre (where the hand holds the product). Pooling makes the features blind to where
in the crop the product sits and to how big it is; the square root (Hellinger) keeps
small color areas audible.
"""

from __future__ import annotations

import numpy as np

CROP = 16
LEVELS = np.linspace(0.1, 0.9, 6)
CODEBOOK = np.array([[r, g, b] for r in LEVELS for g in LEVELS for b in LEVELS], dtype=np.float32)  # (levels^3, 3)
TAU = 0.007  # softness of the color assignment (squared RGB distance)
EPS = 1e-6
# plain floors and shelves, as synthetic backgrounds and behind packshot views
FLOORS = [(170, 170, 160), (200, 180, 140), (120, 120, 120), (225, 225, 215), (90, 80, 70), (40, 40, 40)]


def center_weights(size: int = CROP, sigma: float = 0.25) -> np.ndarray:
    """(size*size,) Gaussian weights around the crop centre, summing to 1."""
    c = (np.arange(size) + 0.5) / size - 0.5
    w = np.exp(-(c[:, None] ** 2 + c[None, :] ** 2) / (2 * sigma**2)).ravel()
    return (w / w.sum()).astype(np.float32)


def histogram_features(crops: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """(n, CROP, CROP, 3) in [0, 1] -> (n, 2 * len(CODEBOOK)): the ONNX graph computes exactly this."""
    cw = center_weights()
    out = []
    for s in range(0, len(crops), chunk):
        x = crops[s : s + chunk].reshape(-1, CROP * CROP, 3).astype(np.float32)
        logits = (x @ (2.0 * CODEBOOK.T / TAU)) - np.sum(CODEBOOK**2, axis=1) / TAU
        logits -= logits.max(axis=2, keepdims=True)
        soft = np.exp(logits)
        soft /= soft.sum(axis=2, keepdims=True)
        hist = soft.mean(axis=1)
        chist = np.einsum("npk,p->nk", soft, cw)
        out.append(np.sqrt(np.concatenate([hist, chist], axis=1) + EPS))
    return np.concatenate(out).astype(np.float32)


def resize(img: np.ndarray, size: int = CROP) -> np.ndarray:
    """(h, w, 3) uint8 -> (size, size, 3) float32 in [0, 1]: box-averaged when shrinking,
    nearest when enlarging, so a 10-pixel crop and a 200-pixel one look alike."""
    img = np.asarray(img)[..., :3].astype(np.float32) / 255.0
    out = img
    for axis in (0, 1):
        n = out.shape[axis]
        if n >= size:
            edges = (np.arange(size) * n) // size
            counts = np.diff(np.append(edges, n)).astype(np.float32)
            summed = np.add.reduceat(out, edges, axis=axis)
            shape = [1, 1, 1]
            shape[axis] = size
            out = summed / counts.reshape(shape)
        else:
            idx = np.clip(((np.arange(size) + 0.5) * n / size).astype(int), 0, n - 1)
            out = np.take(out, idx, axis=axis)
    return out.astype(np.float32)


def packshot_views(packshot: np.ndarray, size: int = 32) -> list[np.ndarray]:
    """The packshot as a hand crop would show it: centred at ~60 % of the crop on plain
    floors, plus the bare packshot. Its reference embedding is the mean over these."""
    views = [np.asarray(packshot)[..., :3]]
    side = int(size * 0.6)
    face = (resize(packshot, side) * 255).astype(np.uint8)
    o = (size - side) // 2
    for bg in FLOORS[:4]:
        img = np.empty((size, size, 3), np.uint8)
        img[:] = bg
        img[o : o + side, o : o + side] = face
        views.append(img)
    return views
