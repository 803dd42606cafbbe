"""Weight events from raw load-cell samples, one small state machine per plate.

A plate's signal is a sequence of stable levels separated by disturbances (a hand, a
knock, an item moving). A plate event is the difference between two consecutive stable
levels, each averaged over its length (so 5 g items stand out of 5 g noise), reported
once the new level has held for `settle_s`. Isolated spikes and NaN samples are skipped,
slow drift is followed while the plate is stable (levels average over at most
`drift_tau_s`), and a disturbance after which the plate returns to its old level (a hand
resting for a moment, a knock) gives no event. Offsets never matter: only differences.

Detection limit (bench_weight.py): with 5 g sd noise, 5 g items at 60-100 Hz and 8 g
items at 30 Hz; with 1 g sd noise, 4 g items. Changes near the threshold wait up to
`settle_max_s` for a longer average of the new level before they are decided.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from walkout_common.store import Store
from walkout_common.types import LoadCellBatch, PlateEvent


@dataclass
class WeightParams:
    settle_s: float = 1.0  # a new level must hold this long to count (a resting hand rarely does)
    settle_max_s: float = 3.0  # a marginal change (near the threshold) is averaged up to this long
    quiet_sigmas: float = 4.0  # a sample this many noise sd from the level disturbs the plate
    spike_samples: int = 2  # up to this many outliers in a row are a spike, not a change
    min_event_g: float = 3.0  # smallest change ever reported
    event_sigmas: float = 5.0  # and it must exceed this many sd of the level difference
    noise_init_g: float = 3.0  # noise guess before the plate has been quiet
    noise_min_g: float = 0.5
    noise_max_g: float = 8.0
    drift_tau_s: float = 30.0  # levels average over at most this long, to follow drift
    max_gap_s: float = 5.0  # a longer silence (lost batches) restarts the plate
    unsettled_min_g: float = 10.0  # live display of disturbed plates above this change
    shift_window_s: float = 0.5  # a small step shows as this window's mean leaving the level
    shift_min_samples: int = 30  # but never fewer samples (at 30 Hz the window is 1 s)
    shift_sigmas: float = 4.5


@dataclass
class Level:
    """A running estimate of one stable level (EWMA capped at `cap` samples)."""

    start: float
    end: float
    cap: int
    n: int = 0
    mean: float = 0.0

    def add(self, t: float, g: float) -> None:
        self.n += 1
        self.mean += (g - self.mean) / min(self.n, self.cap)
        self.end = t

    @property
    def n_eff(self) -> int:
        return min(self.n, self.cap)


@dataclass
class PlateDetector:
    plate_id: str
    shelf_id: str
    params: WeightParams
    rate_hz: float = 60.0
    noise: float = 0.0
    stable: Level | None = None  # the last settled level
    current: Level | None = None  # the level being formed now (may be `stable` itself)
    left_at: float | None = None  # when the plate last left `stable`
    outliers: list[tuple[float, float]] = field(default_factory=list)
    diffs: deque = field(default_factory=lambda: deque(maxlen=600))
    window: deque = field(default_factory=deque)  # recent quiet samples (t, g)
    last: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        self.noise = self.params.noise_init_g

    def _new_level(self, t: float) -> Level:
        cap = max(int(self.params.drift_tau_s * self.rate_hz), 10)
        return Level(t, t, cap)

    def _tolerance(self, lvl: Level) -> float:
        sd_mean = self.noise / math.sqrt(max(lvl.n_eff, 1))
        slack = 0.0 if lvl.n_eff >= 5 else 2.0 * self.noise
        return self.params.quiet_sigmas * math.hypot(self.noise, sd_mean) + slack

    def add(self, t: float, g: float) -> PlateEvent | None:
        p = self.params
        if self.last is not None:
            if t <= self.last[0]:
                return None  # duplicate or out-of-order sample
            if t - self.last[0] > p.max_gap_s:
                self.current, self.outliers, self.left_at = None, [], None
            elif abs(g - self.last[1]) < 6 * p.noise_max_g:
                self.diffs.append(g - self.last[1])
        self.last = (t, g)
        if self.current is None:
            self.current = self._new_level(t)
            self.current.add(t, g)
            return None
        cur = self.current
        if abs(g - cur.mean) <= self._tolerance(cur):
            self.outliers.clear()  # an isolated spike is forgotten
            before = cur.mean
            cur.add(t, g)
            if self._shifted(t, g, before):
                return None
            return self._settle(t)
        self.outliers.append((t, g))
        if len(self.outliers) <= p.spike_samples:
            return None
        # The plate left the current level: a new one starts from the outliers.
        if cur is self.stable and self.left_at is None:
            self.left_at = cur.end
        self.current = self._new_level(self.outliers[0][0])
        for ot, og in self.outliers:
            self.current.add(ot, og)
        self.outliers = []
        self.window.clear()
        return None

    def _shifted(self, t: float, g: float, before: float) -> bool:
        """A step too small to break the level sample by sample (a 5 g item in 5 g noise)
        still moves the mean of a short window: split the level there (a CUSUM in spirit)."""
        p, cur = self.params, self.current
        assert cur is not None
        self.window.append((t, g, before))
        n_win = max(int(p.shift_window_s * self.rate_hz), p.shift_min_samples, 5)
        while len(self.window) > n_win:
            self.window.popleft()
        if len(self.window) < n_win or cur.n < 3 * n_win:
            return False
        w_mean = sum(x for _, x, _ in self.window) / n_win
        # Against the level as it was before the window, which its samples already pull.
        if abs(w_mean - self.window[0][2]) <= p.shift_sigmas * self.noise / math.sqrt(n_win):
            return False
        # Split the window where the step is (best two-segment fit); the old level gets
        # back its part before the step, the new level starts after it.
        xs = np.array([x for _, x, _ in self.window])
        csum = np.cumsum(xs)
        k = np.arange(1, n_win)
        left, right = csum[:-1] / k, (csum[-1] - csum[:-1]) / (n_win - k)
        split = int(k[np.argmax(k * (n_win - k) * (left - right) ** 2)])
        cur.mean, cur.n, cur.end = self.window[0][2], cur.n - n_win, self.window[0][0]
        for wt, wg, _ in list(self.window)[:split]:
            cur.add(wt, wg)
        step_t = self.window[split][0]
        if cur is self.stable and self.left_at is None:
            self.left_at = step_t
        self.current = self._new_level(step_t)
        for wt, wg, _ in list(self.window)[split:]:
            self.current.add(wt, wg)
        self.window.clear()
        return True

    def _settle(self, t: float) -> PlateEvent | None:
        cur, p = self.current, self.params
        assert cur is not None
        if cur is self.stable or cur.end - cur.start < p.settle_s:
            return None
        if self.stable is not None and cur.end - cur.start < p.settle_max_s:
            # A change near the threshold (a 5 g item in 5 g noise) waits for a longer
            # average of the new level rather than being decided on a coin toss.
            delta, std = self._difference(self.stable, cur)
            if 0.5 * self._threshold(std) <= abs(delta) < self._threshold(std):
                return None
        old, self.stable = self.stable, cur
        self._update_noise()
        start, self.left_at = self.left_at, None
        if old is None:
            return None  # the plate's first level: nothing to compare with
        delta, std = self._difference(old, cur)
        if abs(delta) < self._threshold(std):
            return None  # back where it was: a resting hand, a knock, drift
        return PlateEvent(
            plate_id=self.plate_id,
            shelf_id=self.shelf_id,
            start=start if start is not None else old.end,
            end=cur.start,
            delta_g=float(delta),
            delta_std_g=float(std),
            settled=True,
            event_id=f"{self.plate_id}@{cur.start:.3f}",
        )

    def _difference(self, old: Level, new: Level) -> tuple[float, float]:
        """New minus old level, and its standard deviation from the two averages."""
        std = math.hypot(self.noise / math.sqrt(old.n_eff), self.noise / math.sqrt(new.n_eff))
        return new.mean - old.mean, std

    def _threshold(self, std: float) -> float:
        return max(self.params.min_event_g, self.params.event_sigmas * std)

    def _update_noise(self) -> None:
        if len(self.diffs) >= 30:
            d = np.asarray(self.diffs)
            est = 1.4826 * float(np.median(np.abs(d - np.median(d)))) / math.sqrt(2.0)
            self.noise = float(np.clip(est, self.params.noise_min_g, self.params.noise_max_g))

    def unsettled(self) -> PlateEvent | None:
        if self.stable is None or self.current is None or self.current is self.stable or self.last is None:
            return None
        delta = self.current.mean - self.stable.mean
        if abs(delta) < self.params.unsettled_min_g:
            return None
        start = self.left_at if self.left_at is not None else self.current.start
        return PlateEvent(self.plate_id, self.shelf_id, start, self.last[0], float(delta), float(self.noise), False, "")


class WeightEventDetector:
    """All plates of a store; feed it LoadCellBatch after LoadCellBatch."""

    def __init__(self, store: Store, params: WeightParams | None = None) -> None:
        self.store = store
        self.params = params or WeightParams()
        self.plates = store.plates_by_id
        self.detectors: dict[str, PlateDetector] = {}
        self.rejected: list[str] = []

    def add_batch(self, batch: LoadCellBatch) -> list[PlateEvent]:
        """Settled events this batch completes, in time order.

        Bad input never raises: a malformed batch, an unknown plate id, a plate of another
        shelf, or a batch older than what a plate has already seen (duplicate, out of
        order) is skipped and named in `self.rejected` (cleared on every batch) for the
        caller to log; the good columns still count. NaN samples are lost samples (the
        contract allows them), skipped silently; so are samples older than the plate's
        last one inside a partly overlapping batch."""
        self.rejected = []
        bad: list[str] = []
        events: list[PlateEvent] = []
        grams = np.asarray(batch.grams, dtype=float)
        rate = float(batch.sample_rate_hz)
        if grams.ndim != 2 or grams.shape[1] != len(batch.plate_ids) or not (math.isfinite(rate) and rate > 0):
            shape = "x".join(str(n) for n in grams.shape)
            self.rejected = [f"LoadCellBatch of shelf '{batch.shelf_id}': grams {shape} "
                             f"for {len(batch.plate_ids)} plate ids at {rate} Hz; skipped"]
            return []
        times = batch.sample_times()
        for col, plate_id in enumerate(batch.plate_ids):
            plate = self.plates.get(plate_id)
            if plate is None:
                bad.append(f"plate '{plate_id}' is not in the store file")
                continue
            if plate.shelf_id != batch.shelf_id:
                bad.append(f"plate '{plate_id}' belongs to shelf '{plate.shelf_id}', not '{batch.shelf_id}'")
                continue
            det = self.detectors.get(plate_id)
            if det is None:
                det = self.detectors[plate_id] = PlateDetector(plate_id, plate.shelf_id, self.params, batch.sample_rate_hz)
            det.rate_hz = rate
            if det.last is not None and times.size and times[-1] <= det.last[0]:
                # No stamps in the reason: the node logs each distinct reason once.
                bad.append(f"plate '{plate_id}': a duplicate or out-of-order batch (older than the plate's last sample)")
                continue
            for t, g in zip(times, grams[:, col], strict=True):
                if not math.isfinite(g):
                    continue
                ev = det.add(float(t), float(g))
                if ev is not None:
                    events.append(ev)
        events.sort(key=lambda e: e.end)
        self.rejected = [f"LoadCellBatch of shelf '{batch.shelf_id}': {b}" for b in bad]
        return events

    def unsettled(self) -> list[PlateEvent]:
        return [e for d in self.detectors.values() if (e := d.unsettled()) is not None]
