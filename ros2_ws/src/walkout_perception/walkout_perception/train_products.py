"""Trains the product-appearance embedding on synthetic renders and exports it to ONNX.

    python -m walkout_perception.train_products [--classes 400] [--out models/product_embedding.onnx]

Data: many random product looks (the simulator's `render_product` for random SKUs, never
the catalog's own), each rendered as a hand crop would show it: scaled, shifted, on
floor, shelf or shirt colors, partly covered by the hand, with lighting and noise.
Model: a soft color histogram of the 16x16 crop (64 color bins), then a Fisher linear
discriminant (LDA) to a 32-d unit embedding, so
crops of the same look land together whatever the catalog. Exported with onnx.helper
(Reshape, MatMul, Softmax, ReduceMean, Sub, MatMul, LpNormalization).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from walkout_sim.appearance import render_product

from .products import CROP, MODEL, resize

BACKGROUNDS = [(170, 170, 160), (200, 180, 140), (60, 90, 160), (150, 60, 60), (40, 40, 40), (220, 220, 220)]
SKIN = (205, 160, 130)


def synth_crop(sku: str, rng: np.random.Generator, size: int = 32) -> np.ndarray:
    img = np.empty((size, size, 3), dtype=np.float32)
    img[:] = BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]
    side = int(rng.integers(size // 2, size - 4))
    patch = render_product(sku, side, int(side * rng.uniform(0.7, 1.0))).astype(np.float32)
    y = int(rng.integers(0, size - patch.shape[0] + 1))
    x = int(rng.integers(0, size - patch.shape[1] + 1))
    img[y : y + patch.shape[0], x : x + patch.shape[1]] = patch
    if rng.uniform() < 0.6:  # the hand holding it
        hy, hx = int(rng.integers(0, size - 6)), int(rng.integers(0, size - 6))
        img[hy : hy + int(rng.integers(4, 10)), hx : hx + int(rng.integers(4, 10))] = SKIN
    img *= rng.uniform(0.75, 1.25)
    img += rng.normal(0, 8.0, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


# A soft color histogram makes the embedding blind to where in the crop the product is.
LEVELS = np.linspace(0.1, 0.9, 4)
CODEBOOK = np.array([[r, g, b] for r in LEVELS for g in LEVELS for b in LEVELS], dtype=np.float32)  # (64, 3)
TAU = 0.02


def soft_histogram(crops: np.ndarray) -> np.ndarray:
    """(n, 16, 16, 3) in [0, 1] -> (n, 64): the ONNX graph computes exactly this."""
    x = crops.reshape(len(crops), -1, 3)
    logits = (2.0 * x @ CODEBOOK.T - np.sum(CODEBOOK**2, axis=1)) / TAU
    logits -= logits.max(axis=2, keepdims=True)
    w = np.exp(logits)
    w /= w.sum(axis=2, keepdims=True)
    return w.mean(axis=1)


def dataset(skus: list[str], per_class: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for label, sku in enumerate(skus):
        for _ in range(per_class):
            xs.append(resize(synth_crop(sku, rng)))
            ys.append(label)
    return soft_histogram(np.array(xs)), np.array(ys)


def fit_lda(x: np.ndarray, y: np.ndarray, dims: int, reg: float = 1e-2) -> tuple[np.ndarray, np.ndarray]:
    """(mean, W) maximising between-class over within-class scatter."""
    mean = x.mean(axis=0)
    d = x.shape[1]
    sw, sb = np.zeros((d, d)), np.zeros((d, d))
    for c in np.unique(y):
        xc = x[y == c]
        mc = xc.mean(axis=0)
        sw += (xc - mc).T @ (xc - mc)
        sb += len(xc) * np.outer(mc - mean, mc - mean)
    sw = sw / len(x) + reg * np.eye(d)
    sb = sb / len(x)
    # whiten the within-class scatter, then take the leading between-class directions
    evals, evecs = np.linalg.eigh(sw)
    white = evecs @ np.diag(evals**-0.5)
    b = white.T @ sb @ white
    bvals, bvecs = np.linalg.eigh(b)
    w = white @ bvecs[:, np.argsort(bvals)[::-1][:dims]]
    return mean.astype(np.float32), w.astype(np.float32)


def export(mean: np.ndarray, w: np.ndarray, path: Path) -> None:
    graph = helper.make_graph(
        [
            helper.make_node("Reshape", ["crop", "pixels_shape"], ["pixels"]),  # (n, 256, 3)
            helper.make_node("MatMul", ["pixels", "codebook_t2"], ["dots"]),  # 2 x.c / tau
            helper.make_node("Add", ["dots", "code_bias"], ["logits"]),  # - |c|^2 / tau
            helper.make_node("Softmax", ["logits"], ["soft"], axis=2),
            helper.make_node("ReduceMean", ["soft", "pixel_axis"], ["hist"], keepdims=0),  # (n, 64)
            helper.make_node("Sub", ["hist", "mean"], ["centred"]),
            helper.make_node("MatMul", ["centred", "w"], ["projected"]),
            helper.make_node("LpNormalization", ["projected"], ["embedding"], axis=1, p=2),
        ],
        "walkout_product_embedding",
        [helper.make_tensor_value_info("crop", TensorProto.FLOAT, ["n", CROP, CROP, 3])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["n", w.shape[1]])],
        [
            numpy_helper.from_array(np.array([-1, CROP * CROP, 3], dtype=np.int64), "pixels_shape"),
            numpy_helper.from_array((2.0 * CODEBOOK.T / TAU).astype(np.float32), "codebook_t2"),
            numpy_helper.from_array((-np.sum(CODEBOOK**2, axis=1) / TAU).astype(np.float32), "code_bias"),
            numpy_helper.from_array(np.array([1], dtype=np.int64), "pixel_axis"),
            numpy_helper.from_array(mean, "mean"),
            numpy_helper.from_array(w, "w"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="walkout")
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))


def evaluate(model: Path, skus: list[str], per_class: int, rng: np.random.Generator) -> float:
    """Top-1 of packshot matching for products the model never saw."""
    from .products import ProductRecognizer

    class _Cat:  # the recognizer only needs products with packshots; embed them directly
        products = ()

    rec = ProductRecognizer(_Cat(), model)  # type: ignore[arg-type]
    refs = rec.embed_many([render_product(s, 32, 32) for s in skus])
    hits = n = 0
    for label, sku in enumerate(skus):
        emb = rec.embed_many([synth_crop(sku, rng) for _ in range(per_class)])
        hits += int(np.sum(np.argmax(emb @ refs.T, axis=1) == label))
        n += per_class
    return hits / n


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--classes", type=int, default=800)
    p.add_argument("--per-class", type=int, default=24)
    p.add_argument("--dims", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=MODEL)
    p.add_argument("--eval-skus", type=Path, default=None, help="catalog.yaml whose SKUs to test on (never trained on)")
    args = p.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    skus = [f"train-{args.seed}-{i}" for i in range(args.classes)]
    print(f"rendering {args.classes} x {args.per_class} synthetic crops...", flush=True)
    x, y = dataset(skus, args.per_class, rng)
    print(f"fitting LDA on {x.shape[0]} crops ({time.perf_counter() - t0:.1f} s)", flush=True)
    mean, w = fit_lda(x, y, args.dims)
    export(mean, w, args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB) in {time.perf_counter() - t0:.1f} s")
    if args.eval_skus:
        from walkout_common.store import load_catalog

        test = [prod.sku for prod in load_catalog(args.eval_skus).products]
    else:
        test = [f"held-out-{i}" for i in range(25)]
    acc = evaluate(args.out, test, 40, np.random.default_rng(args.seed + 1))
    print(f"held-out top-1 over {len(test)} unseen products: {acc:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
