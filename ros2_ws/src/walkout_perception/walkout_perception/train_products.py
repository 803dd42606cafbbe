"""Trains the product-appearance embedding on synthetic renders and exports it to ONNX.

    python -m walkout_perception.train_products [--classes 3000] [--out models/product_embedding.onnx]

Data: many random product looks (the simulator's `render_product` for random SKUs, never
the catalog's own), each rendered as a hand crop would show it: scaled, stretched,
rotated, shifted, on floor, shelf, shirt or cluttered backgrounds, partly covered by a
hand, blurred, with lighting, tint and noise; plus crops of hands holding nothing.
Model: fixed soft color histograms (product_features.py) -> MLP (432 -> 256 ReLU -> 64)
-> unit embedding, trained in numpy as a classifier over the random looks with a
softmax head on the unit embedding; the head is thrown away and the embedding kept, so
a store matches crops against its own packshots. Exported with onnx.helper; a JSON
sidecar holds the "nothing in the hand" prototype and the test numbers.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from walkout_sim.appearance import render_product

from .product_features import CODEBOOK, CROP, EPS, FLOORS, TAU, center_weights, histogram_features, packshot_views, resize

MODEL = Path(__file__).resolve().parent / "models" / "product_embedding.onnx"
SKINS = [(230, 190, 160), (205, 160, 130), (160, 115, 85), (110, 75, 55), (70, 50, 40), (235, 235, 235), (40, 60, 140)]  # last two: gloves


def _rect(img: np.ndarray, color, rng: np.random.Generator, lo: float, hi: float) -> None:
    s = img.shape[0]
    h, w = (int(s * rng.uniform(lo, hi)) + 1 for _ in range(2))
    y, x = int(rng.integers(-h // 2, s)), int(rng.integers(-w // 2, s))
    img[max(y, 0) : max(y + h, 0), max(x, 0) : max(x + w, 0)] = color


def _blur(img: np.ndarray) -> np.ndarray:
    """3x3 box blur with edge padding."""
    p = np.pad(img, ((1, 1), (1, 1), (0, 0)), mode="edge")
    h, w = img.shape[:2]
    return sum(p[dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3)) / 9.0


def _background(size: int, rng: np.random.Generator) -> np.ndarray:
    img = np.empty((size, size, 3), dtype=np.float32)
    kind = rng.uniform()
    img[:] = FLOORS[int(rng.integers(len(FLOORS)))] if kind < 0.45 else rng.integers(0, 256, 3)  # floor/shelf or a shirt
    for _ in range(int(rng.integers(0, 4))):  # clutter: shelf edges, other people, shadows
        _rect(img, rng.integers(0, 256, 3) if rng.uniform() < 0.5 else FLOORS[int(rng.integers(len(FLOORS)))], rng, 0.1, 0.6)
    return img


def synth_crop(sku: str | None, rng: np.random.Generator, size: int | None = None) -> np.ndarray:
    """A (size, size, 3) uint8 crop around a reaching hand holding `sku` (None: nothing)."""
    size = size or int(rng.choice([10, 12, 16, 20, 24, 32, 48, 64]))
    img = _background(size, rng)
    if sku is not None:
        ph = max(int(round(size * rng.uniform(0.35, 0.95))), 2)
        pw = min(max(int(round(ph * rng.uniform(0.6, 1.5))), 2), size)
        patch = render_product(sku, ph, pw).astype(np.float32)
        patch = np.rot90(patch, int(rng.integers(4)))
        if rng.uniform() < 0.5:
            patch = patch[:, ::-1]
        h, w = patch.shape[:2]
        jy, jx = rng.normal(0, 0.12 * size, 2)  # the hand point is near, not at, the product
        y = int(np.clip((size - h) / 2 + jy, 0, size - h))
        x = int(np.clip((size - w) / 2 + jx, 0, size - w))
        img[y : y + h, x : x + w] = patch
    if rng.uniform() < (0.7 if sku is not None else 0.95):  # the hand (and sleeve) over it
        skin = np.array(SKINS[int(rng.integers(len(SKINS)))], np.float32) * rng.uniform(0.85, 1.15)
        _rect(img, skin, rng, 0.15, 0.45)
    if rng.uniform() < 0.4:
        img = _blur(img)  # focus and motion
    img *= rng.uniform(0.6, 1.3) * rng.uniform(0.9, 1.1, 3)  # lighting and white balance
    img += rng.normal(0, rng.uniform(0, 10), img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def dataset(skus: list[str], per_class: int, n_empty: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels; label len(skus) = nothing in the hand."""
    crops, ys = [], []
    for label, sku in enumerate(skus):
        for _ in range(per_class):
            crops.append(resize(synth_crop(sku, rng)))
            ys.append(label)
        crops += [resize(v) for v in packshot_views(render_product(sku, 64, 64))[:2]]
        ys += [label, label]
    for _ in range(n_empty):
        crops.append(resize(synth_crop(None, rng)))
        ys.append(len(skus))
    return histogram_features(np.array(crops)), np.array(ys)


class Mlp:
    """Features -> hidden ReLU -> dims, unit-normalised; trained with a softmax head."""

    def __init__(self, n_in: int, hidden: int, dims: int, classes: int, rng: np.random.Generator) -> None:
        self.mu = np.zeros(n_in, np.float32)
        self.sd = np.ones(n_in, np.float32)
        self.p = {
            "w1": rng.normal(0, np.sqrt(2 / n_in), (n_in, hidden)).astype(np.float32),
            "b1": np.zeros(hidden, np.float32),
            "w2": rng.normal(0, np.sqrt(1 / hidden), (hidden, dims)).astype(np.float32),
            "b2": np.zeros(dims, np.float32),
            "wc": rng.normal(0, 1.0, (classes, dims)).astype(np.float32),
            "bc": np.zeros(classes, np.float32),
        }

    def embed(self, x: np.ndarray) -> np.ndarray:
        e = np.maximum((x - self.mu) / self.sd @ self.p["w1"] + self.p["b1"], 0) @ self.p["w2"] + self.p["b2"]
        return e / np.linalg.norm(e, axis=1, keepdims=True)

    def step(self, x: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        p = self.p
        xs = (x - self.mu) / self.sd
        z1 = xs @ p["w1"] + p["b1"]
        h = np.maximum(z1, 0)
        e = h @ p["w2"] + p["b2"]
        n = np.linalg.norm(e, axis=1, keepdims=True)
        u = e / n
        logits = u @ p["wc"].T + p["bc"]
        logits -= logits.max(axis=1, keepdims=True)
        prob = np.exp(logits)
        prob /= prob.sum(axis=1, keepdims=True)
        loss = float(-np.mean(np.log(prob[np.arange(len(y)), y] + 1e-12)))
        d = prob
        d[np.arange(len(y)), y] -= 1
        d /= len(y)
        g = {"wc": d.T @ u, "bc": d.sum(0)}
        du = d @ p["wc"]
        de = (du - u * np.sum(u * du, axis=1, keepdims=True)) / n
        g["w2"], g["b2"] = h.T @ de, de.sum(0)
        dz1 = (de @ p["w2"].T) * (z1 > 0)
        g["w1"], g["b1"] = xs.T @ dz1, dz1.sum(0)
        return loss, g

    def fit(self, x: np.ndarray, y: np.ndarray, epochs: int, rng: np.random.Generator, lr: float = 3e-3, batch: int = 256) -> None:
        self.mu, self.sd = x.mean(0), x.std(0) + 1e-3
        m = {k: np.zeros_like(v) for k, v in self.p.items()}
        v = {k: np.zeros_like(val) for k, val in self.p.items()}
        t = 0
        for ep in range(epochs):
            order = rng.permutation(len(x))
            rate = lr * 0.5 * (1 + np.cos(np.pi * ep / epochs))  # cosine decay
            losses = []
            for s in range(0, len(x), batch):
                idx = order[s : s + batch]
                loss, g = self.step(x[idx], y[idx])
                losses.append(loss)
                t += 1
                for k in self.p:  # Adam with a little weight decay
                    gk = g[k] + 1e-5 * self.p[k]
                    m[k] = 0.9 * m[k] + 0.1 * gk
                    v[k] = 0.999 * v[k] + 0.001 * gk**2
                    self.p[k] -= rate * (m[k] / (1 - 0.9**t)) / (np.sqrt(v[k] / (1 - 0.999**t)) + 1e-8)
            print(f"  epoch {ep + 1}/{epochs}: loss {np.mean(losses):.3f}", flush=True)


def export(mlp: Mlp, path: Path) -> None:
    """ONNX graph: crop (n, CROP, CROP, 3) float in [0, 1] -> embedding (n, dims), unit length."""
    p = mlp.p
    k = len(CODEBOOK)
    nodes = [
        helper.make_node("Reshape", ["crop", "pixels_shape"], ["pixels"]),  # (n, P, 3)
        helper.make_node("MatMul", ["pixels", "codebook_t2"], ["dots"]),  # 2 x.c / tau
        helper.make_node("Add", ["dots", "code_bias"], ["logits"]),  # - |c|^2 / tau
        helper.make_node("Softmax", ["logits"], ["soft"], axis=2),  # (n, P, K)
        helper.make_node("ReduceMean", ["soft", "pixel_axis"], ["hist"], keepdims=0),
        helper.make_node("Mul", ["soft", "centre_w"], ["soft_c"]),
        helper.make_node("ReduceSum", ["soft_c", "pixel_axis"], ["chist"], keepdims=0),
        helper.make_node("Concat", ["hist", "chist"], ["hists"], axis=1),
        helper.make_node("Add", ["hists", "eps"], ["hists_e"]),
        helper.make_node("Sqrt", ["hists_e"], ["feat"]),
        helper.make_node("Sub", ["feat", "mu"], ["centred"]),
        helper.make_node("Div", ["centred", "sd"], ["scaled"]),
        helper.make_node("Gemm", ["scaled", "w1", "b1"], ["z1"]),
        helper.make_node("Relu", ["z1"], ["h1"]),
        helper.make_node("Gemm", ["h1", "w2", "b2"], ["e"]),
        helper.make_node("LpNormalization", ["e"], ["embedding"], axis=1, p=2),
    ]
    f32 = np.float32
    inits = [
        numpy_helper.from_array(np.array([-1, CROP * CROP, 3], dtype=np.int64), "pixels_shape"),
        numpy_helper.from_array((2.0 * CODEBOOK.T / TAU).astype(f32), "codebook_t2"),
        numpy_helper.from_array((-np.sum(CODEBOOK**2, axis=1) / TAU).astype(f32), "code_bias"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "pixel_axis"),
        numpy_helper.from_array(center_weights().reshape(1, -1, 1), "centre_w"),
        numpy_helper.from_array(np.array([EPS], f32), "eps"),
        numpy_helper.from_array(mlp.mu.astype(f32), "mu"),
        numpy_helper.from_array(mlp.sd.astype(f32), "sd"),
        numpy_helper.from_array(p["w1"], "w1"),
        numpy_helper.from_array(p["b1"], "b1"),
        numpy_helper.from_array(p["w2"], "w2"),
        numpy_helper.from_array(p["b2"], "b2"),
    ]
    graph = helper.make_graph(
        nodes,
        "walkout_product_embedding",
        [helper.make_tensor_value_info("crop", TensorProto.FLOAT, ["n", CROP, CROP, 3])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["n", p["w2"].shape[1]])],
        inits,
    )
    assert k * 2 == len(mlp.mu)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="walkout")
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))


def evaluate(model: Path, skus: list[str], per_class: int, rng: np.random.Generator, params=None) -> dict:
    """Top-1 of packshot matching (the recognizer's own path) for products never trained on,
    plus the empty-hand rate; crops from synth_crop at every size."""
    from .products import ProductRecognizer, packshot_embedding

    rec = ProductRecognizer(None, model, params=params)
    refs = np.array([packshot_embedding(rec, render_product(s, 64, 64)) for s in skus])
    rec.set_references(skus, refs)
    hits = n = 0
    confusions: dict[tuple[str, str], int] = {}
    for sku in skus:
        for _ in range(per_class):
            scores = rec.classify(synth_crop(sku, rng))
            best = max((k for k in scores if k), key=scores.get)
            hits += best == sku
            n += 1
            if best != sku:
                confusions[(sku, best)] = confusions.get((sku, best), 0) + 1
    empty = [rec.classify(synth_crop(None, rng)) for _ in range(200)]
    t0 = time.perf_counter()
    crops = [synth_crop(skus[0], rng, 16) for _ in range(200)]
    t0 = time.perf_counter()
    for c in crops:
        rec.classify(c)
    per_crop_ms = (time.perf_counter() - t0) / len(crops) * 1e3
    worst = sorted(confusions.items(), key=lambda kv: -kv[1])[:5]
    return {
        "top1": hits / n,
        "empty_top": float(np.mean([max(s, key=s.get) == "" for s in empty])),
        "per_crop_ms": per_crop_ms,
        "provider": rec.session.get_providers()[0],
        "worst_confusions": [f"{a}->{b}: {c}" for (a, b), c in worst],
    }


def calibrate(model: Path, skus: list[str], per_class: int, rng: np.random.Generator) -> dict[str, float]:
    """Temperature and "nothing" floor minimising the log loss on unseen looks, half of
    the crops holding a product, half holding nothing."""
    from .products import ProductRecognizer, packshot_embedding

    rec = ProductRecognizer(None, model)
    refs = np.array([packshot_embedding(rec, render_product(s, 64, 64)) for s in skus])
    held = [(synth_crop(s, rng), i) for i, s in enumerate(skus) for _ in range(per_class)]
    empty = [(synth_crop(None, rng), len(skus)) for _ in range(len(held))]
    emb = rec.embed_many([c for c, _ in held + empty])
    labels = np.array([y for _, y in held + empty])
    sims = emb @ refs.T
    empty_sim = emb @ rec.empty if rec.empty is not None else np.full(len(emb), -1.0)
    best = (np.inf, 0.0, 0.0)
    for t in np.geomspace(0.01, 0.3, 24):
        for floor in np.linspace(0.0, 0.95, 20):
            logits = np.column_stack([sims, np.maximum(empty_sim, floor)]) / t
            logits -= logits.max(axis=1, keepdims=True)
            logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
            nll = float(-logp[np.arange(len(labels)), labels].mean())
            if nll < best[0]:
                best = (nll, float(t), float(floor))
    return {"log_loss": round(best[0], 4), "temperature": round(best[1], 4), "none_similarity": round(best[2], 3)}


def main(argv: list[str] | None = None) -> int:
    from .products import CameraParams

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--classes", type=int, default=3000)
    ap.add_argument("--per-class", type=int, default=20)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--dims", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=MODEL)
    ap.add_argument("--eval-catalog", type=Path, default=None, help="catalog.yaml whose SKUs to test on (never trained on)")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    skus = [f"train-{args.seed}-{i}" for i in range(args.classes)]
    print(f"rendering {args.classes} x {args.per_class} synthetic crops...", flush=True)
    x, y = dataset(skus, args.per_class, args.classes * args.per_class // 20, rng)
    print(f"training on {x.shape[0]} crops ({time.perf_counter() - t0:.1f} s)", flush=True)
    mlp = Mlp(x.shape[1], args.hidden, args.dims, args.classes + 1, rng)
    mlp.fit(x, y, args.epochs, rng)
    export(mlp, args.out)
    # "nothing in the hand": the mean embedding of empty-hand crops (a crop near it scores "")
    empty = mlp.embed(x[y == args.classes]).mean(0)
    meta = {
        "crop": CROP,
        "empty_prototype": (empty / np.linalg.norm(empty)).round(6).tolist(),
        "trained_classes": args.classes,
        "seed": args.seed,
    }
    sidecar = args.out.with_suffix(".json")
    sidecar.write_text(json.dumps(meta, indent=1) + "\n")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB) in {time.perf_counter() - t0:.1f} s", flush=True)
    meta["calibration"] = calibrate(args.out, [f"calib-{args.seed}-{i}" for i in range(25)], 20, np.random.default_rng(args.seed + 2))
    print(f"calibrated on unseen looks: {meta['calibration']} (set them in config/camera_node.yaml)", flush=True)
    tests = {"held-out random looks": [f"held-out-{args.seed}-{i}" for i in range(25)]}
    if args.eval_catalog:
        from walkout_common.store import load_catalog

        tests[str(args.eval_catalog)] = [prod.sku for prod in load_catalog(args.eval_catalog).products]
    for name, test in tests.items():
        cal = meta["calibration"]
        params = CameraParams(temperature=cal["temperature"], none_similarity=cal["none_similarity"])
        res = evaluate(args.out, test, 40, np.random.default_rng(args.seed + 1), params)
        print(f"{name}: {len(test)} unseen products: {json.dumps(res)}")
        meta.setdefault("tests", {})[name] = res
    sidecar.write_text(json.dumps(meta, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
