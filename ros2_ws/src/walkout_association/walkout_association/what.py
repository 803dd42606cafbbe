"""What moved in a plate event: SKU and count readings of a weight change.

A reading is a multiset of (SKU, owner, count) whose summed unit weights explain the
measured change: Gaussian in grams with the catalog's unit spread and the event's own
measurement spread, times a prior from where the item could come from (the plate's
planogram, foreign items put back there, a basket for returns) and from how many
units one reach usually moves. Colour-camera evidence, when there is any, multiplies in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations


@dataclass
class WhatParams:
    max_units: int = 6  # most units one reach moves
    count_decay: float = 0.162  # prior of n units in one reach ∝ decay^(n-1) (fitted on the library)
    mixed_prior: float = 0.05  # two different SKUs in one reach
    pair_candidates: int = 8  # SKUs considered for mixed readings
    nothing_prior: float = 0.02  # the change is no product at all (a hand, a knock, noise)
    nothing_scale: float = 3.0  # spread of "nothing" changes, in event standard deviations
    nothing_floor_g: float = 4.0
    min_std_g: float = 1.0  # floor on the spread of a reading
    vision_alpha: float = 0.15  # softens colour-camera evidence


@dataclass(frozen=True)
class Option:
    sku: str
    weight_g: float
    std_g: float
    prior: float  # relative: how plausible it is that this SKU moved here
    owner: str = ""  # for returns: the session whose basket it came from


@dataclass
class Reading:
    items: tuple[tuple[str, str, int], ...]  # (sku, owner, count); empty = nothing
    probability: float = 0.0
    log_like: float = 0.0

    @property
    def is_nothing(self) -> bool:
        return not self.items

    def label(self) -> str:
        if not self.items:
            return "nothing"
        return " + ".join(f"{n}x {sku}" + (f" (of {owner})" if owner else "") for sku, owner, n in self.items)


def gauss_log(x: float, mean: float, var: float) -> float:
    return -0.5 * (x - mean) ** 2 / var - 0.5 * math.log(2 * math.pi * var)


def vision_log(vision: dict[str, float] | None, sku: str, params: WhatParams) -> float:
    """Log factor of colour-camera evidence (SKU -> mean score near the plate) for `sku`."""
    if not vision or sku not in vision:
        return 0.0
    a = params.vision_alpha
    return math.log((vision[sku] + a) / (1.0 / max(len(vision), 1) + a))


def read_weight(
    delta_abs_g: float,
    delta_std_g: float,
    options: list[Option],
    params: WhatParams,
    vision: dict[str, float] | None = None,
) -> tuple[list[Reading], float]:
    """All plausible readings of a change of `delta_abs_g` grams, most probable first,
    and the log evidence (how well these options explain the change at all)."""
    base_var = delta_std_g**2 + params.min_std_g**2

    readings: list[Reading] = []
    singles: list[tuple[float, Option]] = []
    for opt in options:
        if opt.prior <= 0:
            continue
        best = -math.inf
        for n in range(1, params.max_units + 1):
            ll = gauss_log(delta_abs_g, n * opt.weight_g, base_var + n * opt.std_g**2)
            lp = math.log(opt.prior) + (n - 1) * math.log(params.count_decay) + vision_log(vision, opt.sku, params)
            readings.append(Reading(((opt.sku, opt.owner, n),), log_like=ll + lp))
            best = max(best, ll + lp)
        singles.append((best, opt))
    # Mixed readings among the SKUs that explain the change best on their own, or that
    # are light enough to be part of it.
    singles.sort(key=lambda s: -s[0])
    pool = [o for _, o in singles[: params.pair_candidates]]
    for a, b in combinations(pool, 2):
        if a.sku == b.sku and a.owner == b.owner:
            continue
        for na in range(1, params.max_units):
            for nb in range(1, params.max_units - na + 1):
                mean = na * a.weight_g + nb * b.weight_g
                if mean > delta_abs_g + 6 * math.sqrt(base_var + na * a.std_g**2 + nb * b.std_g**2):
                    break
                ll = gauss_log(delta_abs_g, mean, base_var + na * a.std_g**2 + nb * b.std_g**2)
                lp = (
                    math.log(a.prior * b.prior * params.mixed_prior)
                    + (na + nb - 2) * math.log(params.count_decay)
                    + vision_log(vision, a.sku, params)
                    + vision_log(vision, b.sku, params)
                )
                readings.append(Reading(((a.sku, a.owner, na), (b.sku, b.owner, nb)), log_like=ll + lp))
    # "Nothing": changes that are no product are small, half-normal around zero.
    scale = max(params.nothing_scale * delta_std_g, params.nothing_floor_g)
    ll_nothing = math.log(2.0) + gauss_log(delta_abs_g, 0.0, scale**2) + math.log(params.nothing_prior)
    readings.append(Reading((), log_like=ll_nothing))

    top = max(r.log_like for r in readings)
    total = sum(math.exp(r.log_like - top) for r in readings)
    for r in readings:
        r.probability = math.exp(r.log_like - top) / total
    readings.sort(key=lambda r: -r.probability)
    return readings, top + math.log(total)
