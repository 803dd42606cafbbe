"""Detection accuracy of the weight events on synthetic plates across the contract's envelope.

    ./walkout shell python -m walkout_perception.bench_weight [--trials 20]

`--division 5` rounds the readings to 5 g (a scale that reports in steps).

Every trial is one plate for 30 s: an unknown offset, drift up to 100 g/h, the plate's
noise, 1 % lost batches, 2 % NaN samples, a knock (a few spiky samples) and a resting hand
(+300 g for 0.5 s, trembling `--tremor` g sd: a hand is never as still as goods) at random
times, and one take of `grams` at 12 s. A hit is one event within 1 s of the take with
the right delta (within 3 sd or 1 g); anything else is a false event. `--tremor 0` shows
the price of reading quiet plateaus as goods: a perfectly still hand makes two events.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from walkout_common.store import load_store
from walkout_common.types import LoadCellBatch

from .weight import WeightEventDetector

STORE_FILE = Path(__file__).resolve().parents[4] / "calibration" / "nanostore" / "store.yaml"


def trial(store, shelf: str, plate: str, grams: float, noise: float, rate: float, rng: np.random.Generator,
          tremor: float = 15.0, division: float = 0.0):
    """Events of one synthetic plate, and the take's time; `division`: readings rounded to
    it (a scale that reports in steps)."""
    t = np.arange(0.0, 30.0, 1.0 / rate)
    sig = rng.uniform(500, 5000) + rng.uniform(-100, 100) / 3600 * t + rng.normal(0, noise, t.size)
    take_at = 12.0
    sig[t >= take_at] -= grams
    knock = rng.uniform(2, 9) if rng.uniform() < 0.5 else rng.uniform(16, 27)
    k = np.searchsorted(t, knock)
    sig[k : k + 2] += rng.choice([-1, 1]) * rng.uniform(100, 600)
    press = rng.uniform(16, 27) if knock < 12 else rng.uniform(2, 9)
    on = (t > press) & (t < press + 0.5)
    sig[on] += 300.0 + rng.normal(0, tremor, int(on.sum()))
    sig[rng.uniform(size=t.size) < 0.02] = np.nan
    if division > 0:
        sig = np.round(sig / division) * division
    det = WeightEventDetector(store)
    batch = int(rng.integers(1, 21))
    events = []
    for i in range(0, t.size, batch):
        if rng.uniform() < 0.01:
            continue
        events += det.add_batch(LoadCellBatch(float(t[i]), shelf, rate, [plate], sig[i : i + batch, None]))
    return [e for e in events if not e.unchanged], take_at  # changes: a touch that settled back is none


def _median(xs: list[float]) -> str:
    return f"{np.median(xs):7.2f}" if xs else "      -"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--tremor", type=float, default=15.0, help="the resting hand's tremor, g sd")
    ap.add_argument("--division", type=float, default=0.0, help="readings rounded to this many grams (a scale's step; 0: none)")
    args = ap.parse_args(argv)
    store = load_store(STORE_FILE)
    plate = store.plates[0]
    rng = np.random.default_rng(1)
    print(f"{'noise g':>7} {'rate Hz':>7} {'item g':>7} {'hits':>7} {'false':>5} {'|err| g':>7} {'start s':>7} {'end s':>7}")
    for noise in (1.0, 5.0):
        for rate in (30.0, 100.0):
            for grams in (4.0, 5.0, 6.0, 8.0, 20.0, 520.0):
                hits = false = 0
                errs, starts, ends = [], [], []
                for _ in range(args.trials):
                    events, at = trial(store, plate.shelf_id, plate.id, grams, noise, rate, rng, args.tremor, args.division)
                    good = [e for e in events if abs(e.end - at) < 1.0 and abs(e.delta_g + grams) <= max(1.0, 3 * e.delta_std_g)]
                    hits += bool(good)
                    false += len(events) - min(len(good), 1)
                    if good:
                        errs.append(abs(good[0].delta_g + grams))
                        starts.append(abs(good[0].start - at))
                        ends.append(good[0].end - at)
                print(f"{noise:7.1f} {rate:7.0f} {grams:7.0f} {hits:3d}/{args.trials:<3d} {false:5d} {_median(errs)} {_median(starts)} {_median(ends)}", flush=True)


if __name__ == "__main__":
    main()
