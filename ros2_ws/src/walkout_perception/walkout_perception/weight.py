"""Weight events from raw load-cell samples, one small state machine per plate.

A plate's signal is a sequence of stable levels separated by disturbances (a hand, a
knock, an item moving). A plate event is the difference between two consecutive stable
levels, each averaged over its length (so 5 g items stand out of 5 g noise), reported
once the new level has held for `settle_s`. Isolated spikes and NaN samples are skipped,
slow drift is followed while the plate is stable (levels average over at most
`drift_tau_s`), and a disturbance after which the plate returns to its old level (a hand
resting for a moment, a knock) gives no change: an event marked `unchanged`, whose
difference and spread say how light a unit could have moved unseen (an 8 g lip balm taken
from a plate whose readings are filtered read -6.3 +- 1.5 g, under the 5 sd bar). Offsets
never matter: only differences.

A ramp is not a level. A slow, careful pick moves the weight over 2-3 s, slowly enough
that part way down a level can hold for `settle_s`; so a new level counts only once its
samples are flat (no significant slope against the noise, few skipped spikes) and then
starts where the ramp ended (a line, then a constant, fitted through the samples); the
ramp's first samples, which joined the old level inside its tolerance, are taken back out
of it. An event's start is when the plate left the old level, its end when the new one
began.

Two hands, one after the other, inside one disturbance: a shopper puts an item back and
another takes one a moment later, before the first new level held for `settle_s`. The
plate may even end where it began, and the net change hides both. A level that is as
quiet as the plate itself (goods lie still; a hand on the plate never does: it trembles)
and lies significantly beyond both ends of the disturbance is what the plate held between
two changes: such a plateau splits the disturbance into two events, in and out, and
each of those again at a plateau of its own that lies beyond both its ends (a take, a
put-back and another take, one after the other).

A hand adds weight and never takes any away. So when a disturbance ends where it began but
the plate's mean over `dip_window_s` went well below both ends meanwhile (a dip), items were
off the plate for a moment, however a hand fumbled on it: lifted and put back by one
shopper, or taken by one while another put the same product back (slow hands overlap, and
the plate need never rest in between). How much was lifted is not known (the dip's depth is
only a lower bound when the hands overlap), so the disturbance is not split: it is one
event with no change and its `dip_g`, for the associator to weigh who may have taken what.
Likewise a change whose plate went well beyond both its ends for a moment (above the higher,
below the lower) carries `beyond_g`: a put-back and a take overlapping leave that, and so do
a hand pressing and a fumble; the associator weighs which.

A hand leaning on a plate for seconds holds a level of its own, but it trembles: a new
level that scatters well beyond the plate's own scatter at rest waits (`tremble_ratio`),
and a plateau heavier than the plate at rest that does so is no plateau. Readings need not
be independent sample to sample (a load cell's filter, a shelf's sway): readings 0.5 s apart
then differ more than consecutive ones, and the noise and the variance of every mean are
raised to match (`kappa`), or a level's mean would look sure to a fraction of a gram.

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
    # A plate that reports in steps (a scale's division: 1, 2, 5 g) shows many sample-to-sample
    # differences of exactly 0 (a plate read in floats never does: noise) and the others
    # whole multiples of its step. Above this share of zeros, with step_multiples_frac of
    # the others within 2 % of a multiple of the smallest, that step sets a noise floor of a
    # third of it (a reading flickering by one step is no disturbance), and each reported
    # change's sd counts its levels' rounding (up to half a step each, however long averaged).
    step_zero_frac: float = 0.3
    step_multiples_frac: float = 0.9
    drift_tau_s: float = 30.0  # levels average over at most this long, to follow drift
    max_gap_s: float = 5.0  # a longer silence (lost batches) restarts the plate
    shift_window_s: float = 0.5  # a small step shows as this window's mean leaving the level
    shift_min_samples: int = 30  # but never fewer samples (at 30 Hz the window is 1 s)
    shift_sigmas: float = 4.5
    trend_sigmas: float = 4.0  # a new level whose samples slope this many sd is still moving (a slow pick)
    trend_wait_sigmas: float = 3.0  # one sloping above this waits up to settle_max_s for more samples
    trend_min_g: float = 1.0  # a slope changing the level less than this over its samples is flat
    trend_max_s: float = 5.0  # a level still moving is waited for at most this long, then taken as it is
    busy_frac: float = 0.1  # a level whose last settle_s has more spikes than this is still disturbed
    # Readings correlated sample to sample (filtered load cells): readings far apart differ
    # more than consecutive ones (white noise: as much, give or take sampling); the noise
    # and its means' variance are raised to match, the latter up to kappa_max times.
    # Counted as independent, AR(1) noise of 5 g with lag-1 correlation 0.5 made 9-16
    # phantom changes in four 40 s runs at 30-100 Hz (none with white noise).
    colored_lag_s: float = 0.5  # readings this far apart are as good as independent (a filter's memory is shorter)
    # White noise samples r^2 about 1 with sd 3 / sqrt(n) on n readings (measured, 30 and
    # 100 Hz): below 1 + colored_sds * 3 / sqrt(n) kappa is 1, once the plate has given
    # colored_min_samples readings (10 s at 30 Hz, 3 s at 100 Hz)
    colored_sds: float = 3.5
    colored_min_samples: int = 300
    colored_first_samples: int = 60  # before that, from this many on, with a looser bar
    colored_first_sds: float = 1.5
    colored_jump_sds: float = 5.0  # consecutive readings further apart than this many sd are a jump, not noise
    kappa_max: float = 50.0
    # A hand leaning on a plate is no level, however long it holds: its tremble scatters the
    # samples well beyond the plate's own scatter at rest (goods lie still). A new level whose
    # last settle_s scatters (robustly, about a line, its skipped spikes too) more than this
    # many times the old stable level's last samples waits, up to tremble_max_s. At 30 Hz a
    # lean of 1030 g held 2.3 s with few samples out of the level's tolerance, and became a
    # put-back and a take of two 520 g units at p 1.00 (touch 35008).
    tremble_ratio: float = 1.8
    tremble_max_s: float = 10.0
    plateau_min_s: float = 0.25  # a level held this long between two changes may be what the plate held
    plateau_min_samples: int = 15  # and over this many samples: fewer can't tell a hand's tremor from noise
    plateau_quiet: float = 1.6  # if its samples scatter (about a line) at most this many noise sd
    plateau_trim_s: float = 0.15  # after trimming at most this much off each end (the hands arriving, leaving)
    dip_window_s: float = 0.25  # a dip is the lowest mean over this long in a disturbance (longer than a knock's swing)
    # A change's excursion beyond its ends counts once that window's mean lies beyond by
    # more than this many of its own sd (a ramp up and down inside the window scatters it;
    # a knock's swing averages out within it)
    beyond_sds: float = 1.0


@dataclass
class Level:
    """A running estimate of one stable level (EWMA capped at `cap` samples), and its last
    samples for the trend tests: (t, g, True) for its own samples, (t, g, False) for the
    spikes skipped meanwhile (a hand jostling the plate during a slow pick rejects many
    samples, and mostly those on the ramp's side)."""

    start: float
    end: float
    cap: int
    keep: int = 300  # recent samples kept
    n: int = 0
    mean: float = 0.0
    recent: deque = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.recent = deque(maxlen=self.keep)

    def add(self, t: float, g: float) -> None:
        self.n += 1
        self.mean += (g - self.mean) / min(self.n, self.cap)
        self.end = t
        self.recent.append((t, g, True))

    def note(self, t: float, g: float) -> None:
        self.recent.append((t, g, False))

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
    step: float = 0.0  # the plate's reading step (weight division), 0 while it shows none (`_noise_now`)
    # Readings that are not independent (a load cell's filter, a shelf's slow sway): a level's
    # scatter `level_sd` then exceeds what sample-to-sample differences show, and a mean of n
    # samples varies `kappa` times as much as n independent ones would (_update_noise).
    level_sd: float = 0.0
    kappa: float = 1.0
    stable: Level | None = None  # the last settled level
    current: Level | None = None  # the level being formed now (may be `stable` itself)
    left_at: float | None = None  # when the plate last left `stable`
    outliers: list[tuple[float, float]] = field(default_factory=list)
    diffs: deque = field(default_factory=lambda: deque(maxlen=600))
    readings: deque = field(default_factory=lambda: deque(maxlen=1200))  # recent samples (t, g), for _update_colored
    _since_colored: int = 0  # readings since _update_colored last ran
    window: deque = field(default_factory=deque)  # recent quiet samples (t, g)
    last: tuple[float, float] | None = None
    moving_since: float | None = None  # when the level being formed was first found still moving
    transition: deque = field(default_factory=deque)  # samples of new levels given up since leaving `stable`
    plateaus: list[Level] = field(default_factory=list)  # quiet levels given up since leaving `stable`
    dip_window: deque = field(default_factory=deque)  # the disturbance's last dip_window_s samples
    dip_sums: tuple[float, float] = (0.0, 0.0)  # their sum and sum of squares
    dip_low: tuple[float, float, int] | None = None  # lowest window so far: (mean, sd, samples)
    dip_high: tuple[float, float, int] | None = None  # highest window so far
    bump_high: tuple[float, float, int] | None = None  # highest quiet window so far (goods lying still, no hand)

    def __post_init__(self) -> None:
        self.noise = self.params.noise_init_g

    def _new_level(self, t: float) -> Level:
        p = self.params
        cap = max(int(p.drift_tau_s * self.rate_hz), 10)
        return Level(t, t, cap, keep=max(int(max(p.settle_s, p.settle_max_s) * self.rate_hz) + 1, 10))

    def _tolerance(self, lvl: Level) -> float:
        sd_mean = self.noise / math.sqrt(max(lvl.n_eff, 1))
        slack = 0.0 if lvl.n_eff >= 5 else 2.0 * self.noise
        return self.params.quiet_sigmas * math.hypot(self.noise, sd_mean) + slack

    def add(self, t: float, g: float) -> list[PlateEvent]:
        """Feeds one sample; returns the events it settles (none, one, or two when a
        plateau split the disturbance)."""
        events = self._add(t, g)
        self._follow_dip(g)
        return events

    def _follow_dip(self, g: float) -> None:
        """Keeps the lowest and highest means over `dip_window_s` while the plate is
        disturbed (running sums: this runs for every sample), and the quiet window standing
        highest (`_bump_score`)."""
        if self.stable is None or (self.current is self.stable and not self.outliers):
            if self.dip_window:
                self._forget_dip()
            return
        n = max(int(self.params.dip_window_s * self.rate_hz), 5)
        s, sq = self.dip_sums
        self.dip_window.append(g)
        s, sq = s + g, sq + g * g
        while len(self.dip_window) > n:
            x = self.dip_window.popleft()
            s, sq = s - x, sq - x * x
        self.dip_sums = (s, sq)
        if len(self.dip_window) < n:
            return
        mean = s / n
        low, high = self.dip_low is None or mean < self.dip_low[0], self.dip_high is None or mean > self.dip_high[0]
        window = (mean, math.sqrt(max(sq / n - mean * mean, 0.0)), n)
        self.dip_low, self.dip_high = (window if low else self.dip_low), (window if high else self.dip_high)
        if window[1] <= self.params.plateau_quiet * max(self.noise, self.step / 3.0, self.level_sd) and (
                self.bump_high is None or self._bump_score(window) > self._bump_score(self.bump_high)):
            self.bump_high = window

    def _bump_score(self, window: tuple[float, float, int]) -> float:
        """How high a quiet window stands clear of its own scatter (`_past`'s test): of two
        near the top, the steadier one (goods lying still, not the hands' jostle after)."""
        return window[0] - self.params.quiet_sigmas * window[1]

    def status(self) -> PlateStatus:
        """The plate's noise, step, correlation and the smallest change it reports as one
        (`_difference`'s spread between levels as long as `drift_tau_s` and `settle_s`)."""
        p = self.params
        spread = self._spread(max(p.drift_tau_s * self.rate_hz, 1.0), max(p.settle_s * self.rate_hz, 1.0))
        return PlateStatus(self.plate_id, self.last[0] if self.last else None, self.noise, self.step, self.kappa,
                           self._threshold(spread))

    def _forget_dip(self) -> None:
        self.dip_window.clear()
        self.dip_sums, self.dip_low, self.dip_high, self.bump_high = (0.0, 0.0), None, None, None

    def _add(self, t: float, g: float) -> list[PlateEvent]:
        p = self.params
        if self.last is not None:
            if t <= self.last[0]:
                return []  # duplicate or out-of-order sample
            if t - self.last[0] > p.max_gap_s:
                self.current, self.outliers, self.left_at, self.moving_since = None, [], None, None
                self.transition.clear()
                self.plateaus.clear()
                self._forget_dip()
            elif abs(g - self.last[1]) < 6 * p.noise_max_g:
                self.diffs.append(g - self.last[1])
        self.readings.append((t, g))
        self._since_colored += 1
        if self._since_colored >= (self.params.colored_min_samples // 2 if len(self.readings) >= self.params.colored_min_samples
                                   else self.params.colored_first_samples // 2):
            # also while the plate is disturbed for long: till its noise is known it may not settle
            self._update_colored()
        self.last = (t, g)
        if self.current is None:
            self.current = self._new_level(t)
            self.current.add(t, g)
            return []
        cur = self.current
        tol = self._tolerance(cur)
        if abs(g - cur.mean) <= tol:
            for ot, og in self.outliers:  # an isolated spike is forgotten (but for the trend)
                cur.note(ot, og)
            self.outliers.clear()
            before = cur.mean
            cur.add(t, g)
            if self._shifted(t, g, before):
                return []
            return self._settle(t)
        self.outliers.append((t, g))
        if len(self.outliers) <= p.spike_samples:
            return []
        # The plate left the current level: a new one starts from the outliers.
        if cur is self.stable and self.left_at is None:
            away = sum(og for _, og in self.outliers) / len(self.outliers) - cur.mean
            self.left_at = self._departure(cur, cur.end, away)
        if cur is not self.stable and (quiet := self._quiet(cur)) is not None:
            self.plateaus.append(quiet)
        self._give_up(cur, len(cur.recent))
        self.current = self._new_level(self.outliers[0][0])
        for ot, og in self.outliers:
            self.current.add(ot, og)
        self.outliers = []
        self.window.clear()
        return []

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
        if abs(w_mean - self.window[0][2]) <= p.shift_sigmas * self.noise * math.sqrt(self.kappa / n_win):
            return False
        # Split the window where the step is (best two-segment fit); the old level gets
        # back its part before the step, the new level starts after it.
        xs = np.array([x for _, x, _ in self.window])
        csum = np.cumsum(xs)
        k = np.arange(1, n_win)
        left, right = csum[:-1] / k, (csum[-1] - csum[:-1]) / (n_win - k)
        split = int(k[np.argmax(k * (n_win - k) * (left - right) ** 2)])
        cur.mean, cur.n, cur.end = self.window[0][2], cur.n - n_win, self.window[0][0]
        while cur.recent and cur.recent[-1][0] >= self.window[0][0]:
            cur.recent.pop()
        for wt, wg, _ in list(self.window)[:split]:
            cur.add(wt, wg)
        step_t = self.window[split][0]
        if cur is self.stable and self.left_at is None:
            self.left_at = self._departure(cur, step_t, w_mean - self.window[0][2])
        self._give_up(cur, len(cur.recent))
        self.current = self._new_level(step_t)
        for wt, wg, _ in list(self.window)[split:]:
            self.current.add(wt, wg)
        self.window.clear()
        return True

    def _settle(self, t: float) -> list[PlateEvent]:
        cur, p = self.current, self.params
        assert cur is not None
        if cur is self.stable or cur.end - cur.start < p.settle_s:
            return []
        if self._moving(t) or self._trembling(cur, t):
            return []
        if self.stable is not None and cur.end - cur.start < p.settle_max_s:
            # A change near the threshold (a 5 g item in 5 g noise) waits for a longer
            # average of the new level rather than being decided on a coin toss.
            delta, std = self._difference(self.stable, cur)
            if 0.5 * self._threshold(std) <= abs(delta) < self._threshold(std):
                return []
        old, self.stable = self.stable, cur
        self.moving_since = None
        self.transition.clear()
        start, self.left_at = self.left_at, None
        self._update_noise()
        plateaus, self.plateaus = self.plateaus, []
        if old is None:
            return []  # the plate's first level: nothing to compare with
        start = start if start is not None else old.end
        events = self._decide(old, cur, plateaus, start)
        if any(not e.unchanged for e in events):  # a change's transition (a ramp, the hands) says nothing of the noise
            self.readings = deque((r for r in self.readings if not start <= r[0] < cur.start), maxlen=self.readings.maxlen)
        return events

    def _decide(self, old: Level, cur: Level, plateaus: list[Level], start: float) -> list[PlateEvent]:
        """The changes from the stable level `old`, left at `start`, to the new one `cur`."""
        if split := self._split(old, cur, plateaus, start, cur.start):  # in, then out (or out, then in): two changes or more
            return split
        delta, std = self._difference(old, cur)
        if abs(delta) >= self._threshold(std):
            return [self._event(old, cur, start, cur.start, beyond_g=self._beyond(old, cur))]
        if dip := self._dip(old, cur):  # lifted and put back: one event with no change
            return [self._event(old, cur, start, cur.start, dip_g=dip)]
        # Back where it was: a resting hand, a knock, or a unit lighter than this plate can
        # show (the associator weighs which from delta_g and its spread); or, if the plate
        # held more for a moment as quietly as goods lie, units put down and lifted again.
        return [self._event(old, cur, start, cur.start, beyond_g=self._bump(old, cur), unchanged=True)]

    def _dip(self, old: Level, new: Level) -> float:
        """How far the disturbance between `old` and `new` dipped below both (0: not
        significantly, or not clearly beyond what a fumbling hand or a knock's swing makes)."""
        low, self.dip_low = self.dip_low, None
        return self._past(old, low, min(old.mean, new.mean) - low[0], self.params.quiet_sigmas) if low else 0.0

    def _bump(self, old: Level, new: Level) -> float:
        """How far the disturbance between `old` and `new` rose above both in a window as
        quiet as the plate at rest (0: not significantly). A hand on a plate trembles, goods
        lying on it do not: a quiet bump is units put down and lifted again (by one shopper,
        or one put back what another took at once, too briefly for a plateau)."""
        high, self.bump_high, self.dip_high = self.bump_high, None, None
        return self._past(old, high, high[0] - max(old.mean, new.mean), self.params.quiet_sigmas) if high else 0.0

    def _beyond(self, old: Level, new: Level) -> float:
        """How far the disturbance of a change went above the higher of `old` and `new` or
        below the lower, whichever is further (0: neither significantly)."""
        beyond = self._excursion(old, new)
        self.dip_low, self.dip_high, self.bump_high = None, None, None
        return beyond

    def _excursion(self, old: Level, new: Level) -> float:
        """How far the disturbance so far went beyond both `old` and `new` (0: not significantly)."""
        low, high, sds = self.dip_low, self.dip_high, self.params.beyond_sds
        under = self._past(old, low, min(old.mean, new.mean) - low[0], sds) if low else 0.0
        over = self._past(old, high, high[0] - max(old.mean, new.mean), sds) if high else 0.0
        return max(under, over)

    def _past(self, old: Level, window: tuple[float, float, int], depth: float, sds: float) -> float:
        """`depth`, how far a window's mean lay beyond a level, if that is clear of the
        noise and of `sds` times the window's own scatter (a knock's swing); else 0."""
        _mean, sd, n = window
        std = math.hypot(self.noise / math.sqrt(old.n_eff), max(self.noise, sd) / math.sqrt(n)) * math.sqrt(self.kappa)
        if depth < self._threshold(std) or depth < sds * sd:
            return 0.0
        return depth

    def _event(self, old: Level, new: Level, start: float, end: float, dip_g: float = 0.0, beyond_g: float = 0.0,
               unchanged: bool = False) -> PlateEvent:
        delta, std = self._difference(old, new)
        return PlateEvent(
            plate_id=self.plate_id,
            shelf_id=self.shelf_id,
            start=start,
            end=end,
            delta_g=float(delta),
            delta_std_g=float(std),
            settled=True,
            event_id=f"{self.plate_id}@{new.start:.3f}",
            dip_g=float(dip_g),
            beyond_g=float(beyond_g),
            unchanged=unchanged,
        )

    def _quiet(self, lvl: Level) -> Level | None:
        """The quiet stretch of a level given up, if it held long enough, flat and as quiet
        as the plate (goods lying still, not a hand) to be what the plate held for a moment.
        Its ends may still carry the jostle of the hands arriving and leaving, so up to
        `plateau_trim_s` is trimmed off each, the worse end first; the rest must be quiet
        (a trembling hand is noisy throughout)."""
        p = self.params
        # All its samples, the spikes skipped meanwhile too: early on, while the level's
        # mean was still pulled by the ramp's end, plain noise was skipped as spikes.
        if lvl.end - lvl.start < p.plateau_min_s or len(lvl.recent) < p.plateau_min_samples:
            return None
        ts, gs = np.array([(st, sg) for st, sg, _ in lvl.recent]).T
        noise = self._noise_now()
        lo, hi = 0, ts.size
        first, last = ts[0] + p.plateau_trim_s, ts[-1] - p.plateau_trim_s
        while hi - lo >= p.plateau_min_samples and ts[hi - 1] - ts[lo] >= p.plateau_min_s:
            g = gs[lo:hi]
            tc, sxx, slope = _line(ts[lo:hi], g)
            res = g - g.mean() - slope * tc
            # Heavier than the plate at rest and shakier than it: a hand leaning (its tremble fills
            # the differences the noise is taken from within seconds), not goods between two
            # changes. Lighter, it is items gone, however a hand fumbles meanwhile.
            quiet_enough = float(np.std(res)) <= p.plateau_quiet * noise and not (
                self.stable is not None and g.mean() > self.stable.mean and self._shakier(list(zip(ts[lo:hi], g, strict=True))))
            if quiet_enough and abs(self._trend(slope, sxx, float(ts[hi - 1] - ts[lo]), noise)) < p.trend_wait_sigmas:
                quiet = Level(float(ts[lo]), float(ts[lo]), cap=hi - lo)
                for st, sg in zip(ts[lo:hi], g, strict=True):
                    quiet.add(float(st), float(sg))
                return quiet
            # Noisy, or sloping (a ramp, or one end's jostle tilting the line): trim the
            # worse end, or the other one if that one may not be trimmed further; worse by
            # the distance from the median (a line fitted through an end's jostle tilts
            # toward it and makes the other end look worse). A ramp still slopes once trimmed.
            can_front, can_back = ts[lo + 1] <= first, ts[hi - 2] >= last
            mid = float(np.median(g))
            if can_front and (abs(g[0] - mid) >= abs(g[-1] - mid) or not can_back):
                lo += 1
            elif can_back:
                hi -= 1
            else:
                return None
        return None

    def _split(self, old: Level, new: Level, plateaus: list[Level], start: float, end: float) -> list[PlateEvent]:
        """The disturbance from `old` (left at `start`) to `new` (reached at `end`) as the
        changes its plateaus part it into: at the one furthest beyond both ends, then each
        part again at its own (a take, a put-back and another take in one disturbance, each
        hand's level held for a moment); none if no plateau lies beyond both ends."""
        mid = self._overshoot(old, new, plateaus)
        if mid is None:
            return []
        before, after = [q for q in plateaus if q.end < mid.start], [q for q in plateaus if q.start > mid.end]
        return (self._split(old, mid, before, start, mid.start) or [self._event(old, mid, start, mid.start)]) + (
            self._split(mid, new, after, mid.end, end) or [self._event(mid, new, mid.end, end)])

    def _overshoot(self, old: Level, new: Level, plateaus: list[Level]) -> Level | None:
        """The plateau lying furthest beyond both `old` and `new`, if significantly."""
        best, most = None, 0.0
        lo, hi = min(old.mean, new.mean), max(old.mean, new.mean)
        for lvl in plateaus:
            beyond = max(lvl.mean - hi, lo - lvl.mean)
            std = max(self._difference(old, lvl)[1], self._difference(lvl, new)[1])
            if beyond >= self._threshold(std) and beyond > most:
                best, most = lvl, beyond
        return best

    def _moving(self, t: float) -> bool:
        """A ramp is not a level: while the new level's samples still slope (a slow, careful
        pick takes 2-3 s, and part way down a slow ramp the level holds for `settle_s`), it
        restarts where the ramp ends and waits, up to `trend_max_s`; a weak slope waits up
        to `settle_max_s` for more samples. Drift (0.03 g/s) is far below any of this."""
        p, cur = self.params, self.current
        assert cur is not None
        if self.moving_since is not None and t - self.moving_since > p.trend_max_s:
            return False
        noise = self._noise_now()
        ts, gs, far = self._samples(cur, noise)
        last = ts > t - p.settle_s
        if np.count_nonzero(far & last) > p.busy_frac * np.count_nonzero(last):
            # Still disturbed (a hand jostling the plate): the level starts after that
            # (or with its last sample, if that too is far out).
            k = min(int(np.flatnonzero(far)[-1]) + 1, ts.size - 1)
        else:
            z = abs(self._slope(ts, gs, noise))
            if z < p.trend_wait_sigmas:
                return self._ramp_into(cur, ts, gs)
            if z < p.trend_sigmas:
                return cur.end - cur.start < p.settle_max_s  # maybe moving: a longer look
            # Still moving: the level restarts where the ramp ends (best fit of a line,
            # then a constant); the samples before belong to the transition.
            k = self._ramp_end(ts, gs)
        if self.moving_since is None:
            self.moving_since = t
        self._restart(cur, k)
        return True

    def _trembling(self, cur: Level, t: float) -> bool:
        """Does the level being formed scatter like a hand on the plate (`tremble_ratio`)?
        Measured alike on both levels (every sample, spikes too), so a plate whose noise is
        not white (filtered, or shaken by a fridge) is compared with itself, never with its
        sample-to-sample noise."""
        p = self.params
        if self.stable is None or t - cur.start > p.tremble_max_s:
            return False
        return self._shakier([(st, sg) for st, sg, _ in cur.recent if st > t - p.settle_s])

    def _shakier(self, samples: list[tuple[float, float]]) -> bool:
        """Do `samples` scatter over `tremble_ratio` times the stable level's last ones?
        (Never, with too few of either.) The noise estimate can't judge that: a lean of
        seconds fills the sample-to-sample differences it is taken from."""
        p = self.params
        if self.stable is None:
            return False
        rest = [(st, sg) for st, sg, _ in self.stable.recent]
        if len(samples) < p.plateau_min_samples or len(rest) < p.plateau_min_samples:
            return False
        return _scatter(samples) > p.tremble_ratio * max(_scatter(rest), p.noise_min_g)

    def _ramp_into(self, cur: Level, ts: np.ndarray, gs: np.ndarray) -> bool:
        """A flat level (samples `ts`, `gs`) may still begin with the last of a ramp, too
        little to show as a slope: a line through the samples given up just before it, then
        a constant, finds where the ramp really ended; if well inside, the level restarts there."""
        pre = [r for r in self.transition if r[0] < cur.start]
        if len(pre) < 3:
            return False
        ts = np.concatenate([np.fromiter((r[0] for r in pre), float, len(pre)), ts])
        gs = np.concatenate([np.fromiter((r[1] for r in pre), float, len(pre)), gs])
        k = self._ramp_end(ts, gs) - len(pre)
        if k < 3:
            return False
        self._restart(cur, k)
        return True

    def _restart(self, cur: Level, k: int) -> None:
        """The level being formed starts again at its k-th recent sample. What came before
        may still have been a plateau (an item put down, then taken again by a step too
        small to break the level sample by sample)."""
        entries = list(cur.recent)
        if cur is not self.stable and k > 0:
            before = Level(entries[0][0], entries[0][0], cap=k)
            for st, sg, own in entries[:k]:
                (before.add if own else before.note)(st, sg)
            if (quiet := self._quiet(before)) is not None:
                self.plateaus.append(quiet)
        self._give_up(cur, k)
        self.current = self._new_level(entries[k][0])
        for st, sg, own in entries[k:]:
            (self.current.add if own else self.current.note)(st, sg)
        self.window.clear()

    def _give_up(self, lvl: Level, k: int) -> None:
        """The first k recent samples of a level not settled belong to the transition
        (kept for `settle_max_s`); leaving the stable level starts a new transition."""
        if lvl is self.stable:
            self.transition.clear()
            self.plateaus.clear()
            return
        ts, gs, _ = self._samples(lvl, self.noise)
        self.transition.extend((float(st), float(sg), True) for st, sg in zip(ts[:k], gs[:k], strict=True))
        while self.transition and self.transition[0][0] < self.transition[-1][0] - self.params.settle_max_s:
            self.transition.popleft()

    def _departure(self, lvl: Level, left: float, away: float) -> float:
        """When the plate left the stable level `lvl` (as of `left`, towards `away`). A slow
        ramp begins inside the level's tolerance, so its first samples joined the level: if
        the level ends in a significant slope towards where the plate went (best fit of a
        constant, then a line), those samples are taken back out and the plate left where
        the ramp began."""
        noise = self._noise_now()
        ts, gs, _ = self._samples(lvl, noise)
        if abs(self._slope(ts, gs, noise)) < self.params.trend_sigmas:
            return left
        k = ts.size - self._ramp_end(ts[::-1], gs[::-1])  # the first sample of the ramp
        if k < 5 or self._slope(ts[k:], gs[k:], noise) * math.copysign(1.0, away) < self.params.trend_sigmas:
            return left
        while len(lvl.recent) > k:  # undo the EWMA, newest sample first
            _, g, own = lvl.recent[-1]
            if own:
                c = min(lvl.n, lvl.cap)
                if c <= 1:
                    break
                lvl.mean, lvl.n = (lvl.mean * c - g) / (c - 1), lvl.n - 1
            lvl.recent.pop()
        lvl.end = next((st for st, _, own in reversed(lvl.recent) if own), lvl.end)
        return float(ts[k])

    def _samples(self, lvl: Level, noise: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The level's recent samples (t, g), the spikes among them clipped to its tolerance
        as of `noise`, and which spikes lie beyond it (a stale, too low noise estimate
        would make spikes of plain noise)."""
        n = len(lvl.recent)
        ts = np.fromiter((r[0] for r in lvl.recent), float, n)
        gs = np.fromiter((r[1] for r in lvl.recent), float, n)
        own = np.fromiter((r[2] for r in lvl.recent), bool, n)
        tol = self.params.quiet_sigmas * math.hypot(noise, noise / math.sqrt(max(lvl.n_eff, 1)))
        far = ~own & (np.abs(gs - lvl.mean) > tol)
        gs = np.where(own, gs, np.clip(gs, lvl.mean - tol, lvl.mean + tol))
        return ts, gs, far

    def _slope(self, ts: np.ndarray, gs: np.ndarray, noise: float) -> float:
        """How many sd the fitted change over the samples is from none, with its sign (0
        when it is under `trend_min_g`, or there are too few samples to tell)."""
        if ts.size < 5:
            return 0.0
        _, sxx, slope = _line(ts, gs)
        return self._trend(slope, sxx, float(ts[-1] - ts[0]), noise)

    def _trend(self, slope: float, sxx: float, span: float, noise: float) -> float:
        """A fitted slope (g/s) over samples spanning `span` s as sd from none (see _slope)."""
        change = slope * span
        if sxx <= 0.0 or abs(change) < self.params.trend_min_g:
            return 0.0
        return change / (noise * math.sqrt(self.kappa / sxx) * span)

    @staticmethod
    def _ramp_end(ts: np.ndarray, gs: np.ndarray) -> int:
        """Index where a line (the ramp) best gives way to a constant (the new level)."""
        n = ts.size
        x, y = ts - ts[0], gs - gs.mean()
        z = np.zeros(1)
        c1 = np.arange(n + 1, dtype=float)
        cx, cy = np.concatenate([z, np.cumsum(x)]), np.concatenate([z, np.cumsum(y)])
        cxx, cxy, cyy = (np.concatenate([z, np.cumsum(a)]) for a in (x * x, x * y, y * y))
        k = np.arange(2, n - 1)  # the ramp has at least 2 samples, the level at least 2
        if k.size == 0:
            return 0
        sxx = cxx[k] - cx[k] ** 2 / c1[k]
        sxy = cxy[k] - cx[k] * cy[k] / c1[k]
        syy = cyy[k] - cy[k] ** 2 / c1[k]
        line = syy - np.where(sxx > 0, sxy**2 / np.where(sxx > 0, sxx, 1.0), 0.0)
        m = n - k
        const = (cyy[n] - cyy[k]) - (cy[n] - cy[k]) ** 2 / m
        return int(k[np.argmin(line + const)])

    def _difference(self, old: Level, new: Level) -> tuple[float, float]:
        """New minus old level, and its standard deviation from the two averages and their
        rounding: each level's mean up to half a step off (a scale's division), however long
        averaged. A plate read in 5 g steps flickering between two of them made +4 to +5 g
        phantom changes, read as light units put back (fresh suite from 39000, `crowding`)."""
        return new.mean - old.mean, self._spread(old.n_eff, new.n_eff)

    def _spread(self, n_old: float, n_new: float) -> float:
        """sd of the difference of two level means over this many effective readings each,
        their rounding included (`_difference`)."""
        std = math.hypot(self.noise / math.sqrt(n_old), self.noise / math.sqrt(n_new)) * math.sqrt(self.kappa)
        return math.hypot(std, self.step / math.sqrt(6.0))

    def _threshold(self, std: float) -> float:
        return max(self.params.min_event_g, self.params.event_sigmas * std)

    def _update_noise(self) -> None:
        self._update_colored()
        self.noise = self._noise_now()

    def _update_colored(self) -> None:
        """How far the noise is from independent sample to sample, from the recent readings:
        differences `colored_lag_s` apart against those of consecutive readings (robust, and
        none across a jump: a hand's tremor, an item lifted). For white noise the two agree;
        AR(1) readings with lag-1 correlation phi differ over the long lag 1/sqrt(1 - phi)
        times as much (r), scatter that much more than consecutive differences show
        (`level_sd`), and their means vary (1 + phi) / (1 - phi) = 2 r^2 - 1 times as much
        (`kappa`). Within what sampling alone gives white noise (`colored_sds`) the two are
        taken to agree."""
        p = self.params
        self._since_colored = 0
        rows = np.asarray(self.readings, float).reshape(-1, 2)
        early = False
        if self.left_at is not None:  # disturbed: not the change under way (a ramp, the hands)
            before = rows[rows[:, 0] < self.left_at]
            # ... unless it left its level before it gave enough to learn from: then all it
            # gave counts, its jumps left out (below).
            early = len(before) < p.colored_first_samples
            rows = rows if early else before
        if len(rows) < p.colored_first_samples:
            return
        ts, gs = rows.T
        dt = 1.0 / self.rate_hz
        near = _lagged(ts, gs, dt)
        if near.size < len(rows) // 2:  # not across lost batches
            return
        sd_near = _robust_sd(near)
        jumps = np.concatenate([[0], np.cumsum(np.abs(np.diff(gs)) > p.colored_jump_sds * sd_near)])
        far = _lagged(ts, gs, max(p.colored_lag_s, 2 * dt), jumps)
        if far.size < len(rows) // 4:
            return
        sd_far = _robust_sd(far)
        r2 = (sd_far / max(sd_near, 1e-6)) ** 2
        # Till the plate has given colored_min_samples readings, a looser bar (a store's first
        # shoppers come in its first seconds; white noise pays a little sensitivity then)
        sds = p.colored_sds if len(rows) >= p.colored_min_samples else p.colored_first_sds
        white = _white_r2(sds, len(rows))
        self.kappa = float(np.clip(2.0 * r2 - 1.0, 1.0, p.kappa_max)) if r2 >= white else 1.0
        # The scatter too, once the correlation is past the firm bar, however few readings
        # showed it (the bar counted on the far differences, fewer than the readings early
        # on): a plate filtered AR(1) 0.9 that left its first level 1.2 s in, its noise
        # judged from consecutive readings alone (0.6 g against a 2.4 g scatter), never
        # settled again; its take at 12.3 s became a change from 1.2 s to 16.1 s, and whoever
        # came near the plate meanwhile was a taker (`multi` 43236).
        firm = _white_r2(p.colored_sds, min(len(rows), far.size))
        self.level_sd = sd_far if self.kappa > 1.0 and (len(rows) >= p.colored_min_samples or r2 >= firm) else 0.0
        if early:  # the level being formed is judged by it at once (at its settle would be never)
            self.noise = max(self.noise, min(self.level_sd, p.noise_max_g))

    def _noise_now(self) -> float:
        """The noise sd from the recent sample-to-sample differences (robust to the few
        big ones), or the last estimate while there are too few of them; never under a
        third of the plate's reading step, which it updates from the same differences, nor
        under the scatter of readings that are not independent (`level_sd`)."""
        if len(self.diffs) < 30:
            return self.noise
        est = self._diff_noise()
        return float(np.clip(max(est, self.step / 3.0, self.level_sd), self.params.noise_min_g, self.params.noise_max_g))

    def _diff_noise(self) -> float:
        """The noise sd as sample-to-sample differences show it (robust to the few big
        ones); updates the reading step from them."""
        d = np.asarray(self.diffs)
        self.step = self._step(d) or self.step  # a scale's division stays what it was while its readings hold still
        return _robust_sd(d)

    def _step(self, diffs: np.ndarray) -> float:
        """The plate's reading step, from sample-to-sample differences (`step_zero_frac`);
        0 if it shows none."""
        moved = np.abs(diffs[diffs != 0.0])
        if moved.size < 8 or 1.0 - moved.size / diffs.size <= self.params.step_zero_frac:  # too few to tell
            return 0.0
        step = float(moved.min())
        k = moved / step
        return step if np.mean(np.abs(k - np.round(k)) <= 0.02) >= self.params.step_multiples_frac else 0.0

    def unsettled(self) -> PlateEvent | None:
        """The plate's change while it is still to be decided (settled false): from when it
        left its stable level to its last sample, the change so far and how far the plate
        went beyond both ends meanwhile (a plate back at its old level may still hold two
        changes, in and out)."""
        if self.stable is None or self.current is None or self.current is self.stable or self.last is None:
            return None
        delta = self.current.mean - self.stable.mean
        start = self.left_at if self.left_at is not None else self.current.start
        return PlateEvent(self.plate_id, self.shelf_id, start, self.last[0], float(delta), float(self.noise), False, "",
                          beyond_g=self._excursion(self.stable, self.current))


def _lagged(ts: np.ndarray, gs: np.ndarray, lag: float, jumps: np.ndarray | None = None) -> np.ndarray:
    """Differences of samples `lag` s apart (give or take a third of a sample period, or
    20 ms; none across a gap in the samples), none across a jump (`jumps`: how many so far)."""
    j = np.searchsorted(ts, ts + lag - 1e-6)
    ok = j < ts.size
    i, j = np.flatnonzero(ok), j[ok]
    keep = np.abs(ts[j] - ts[i] - lag) < min(lag / 3.0, 0.02)
    if jumps is not None:
        keep &= jumps[i] == jumps[j]
    return gs[j[keep]] - gs[i[keep]]


def _white_r2(sds: float, n: int) -> float:
    """The bar r^2 must pass for n readings to be correlated: white noise samples r^2
    about 1 with sd 3 / sqrt(n) (`colored_sds`)."""
    return 1.0 + sds * 3.0 / math.sqrt(n)


def _mad_sd(x: np.ndarray) -> float:
    """Robust sd: the median absolute deviation, scaled to a normal's sd. Readings in steps
    (a scale's division) tie: when many equal the median the MAD says 0 or a whole step
    whatever the scatter, so the root mean square of all but the furthest tenth is taken
    then, scaled alike (robust to fewer than a tenth of spikes). A 5 g-step plate taken as
    quieter than it was made phantom changes and slopes out of its flicker (fresh suite
    from 39000, `crowding`: one reach held open for 5 s, all neighbours' reaches in it)."""
    dev = np.abs(x - np.median(x))
    if x.size >= 10 and np.count_nonzero(dev == 0.0) > 0.3 * x.size:
        kept = np.sort(dev)[: int(0.9 * x.size)]
        return float(np.sqrt(np.mean(kept * kept))) / 0.789  # a normal's sd within its central 90 %
    return 1.4826 * float(np.median(dev))


def _robust_sd(x: np.ndarray) -> float:
    """sd of differences of two readings as one reading's sd."""
    return _mad_sd(x) / math.sqrt(2.0)


def _scatter(samples: list[tuple[float, float]]) -> float:
    """Robust sd (scaled MAD) of samples (t, g) about their least-squares line: a knock's
    few spikes barely move it, a trembling hand's every sample does."""
    ts, gs = np.asarray(samples, float).T
    tc, _, slope = _line(ts, gs)
    return _mad_sd(gs - gs.mean() - slope * tc)


def _line(ts: np.ndarray, gs: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Least-squares line through samples: (times about their mean, their sum of squares,
    the slope in g/s)."""
    tc = ts - ts.mean()
    sxx = float(tc @ tc)
    return tc, sxx, float(tc @ (gs - gs.mean())) / sxx if sxx > 0.0 else 0.0


@dataclass
class PlateStatus:
    """A plate as its readings show it, for a store engineer (the weight node's
    diagnostics): none yet, or its noise, its reading step, how far its noise is from
    independent reading to reading, and the smallest change it reports as one."""

    plate_id: str
    last_stamp: float | None = None  # its last reading's time; None: none yet
    noise_g: float = 0.0  # sd of one reading
    step_g: float = 0.0  # the scale's division it reports in; 0: none seen
    correlation: float = 1.0  # an average's variance against independent readings' (a load cell's filter)
    smallest_change_g: float = 0.0  # a change settled for settle_s after a level of drift_tau_s: less settles back unchanged


class WeightEventDetector:
    """All plates of a store; feed it LoadCellBatch after LoadCellBatch."""

    def __init__(self, store: Store, params: WeightParams | None = None) -> None:
        self.store = store
        self.params = params or WeightParams()
        self.plates = store.plates_by_id
        self.detectors: dict[str, PlateDetector] = {}
        self.rejected: list[str] = []

    def add_batch(self, batch: LoadCellBatch) -> list[PlateEvent]:
        """Settled events this batch completes, in time order: changes, and disturbances
        that settled back unchanged (PlateEvent.unchanged).

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
                events.extend(det.add(float(t), float(g)))
        events.sort(key=lambda e: e.end)
        self.rejected = [f"LoadCellBatch of shelf '{batch.shelf_id}': {b}" for b in bad]
        return events

    def unsettled(self, shelf_id: str | None = None) -> list[PlateEvent]:
        """Changes not decided yet (settled false), of one shelf's plates or all."""
        return [e for d in self.detectors.values() if (shelf_id is None or d.shelf_id == shelf_id) and (e := d.unsettled()) is not None]

    def status(self) -> list[PlateStatus]:
        """What each plate of the store shows of itself now (`PlateStatus`), in store order."""
        return [d.status() if (d := self.detectors.get(p.id)) is not None else PlateStatus(p.id)
                for p in self.store.plates]
