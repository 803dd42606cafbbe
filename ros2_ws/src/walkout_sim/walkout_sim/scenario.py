"""Scenarios: who enters when, with which token, and what each shopper does.

A scenario is plain data, seeded and repeatable. `random_scenario` makes a plausible mix
for any store; the named ones are small scripted cases for tests and the library.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from walkout_common.store import Catalog, Store


@dataclass
class Action:
    """One reach: take (n > 0) or put back (n < 0) units of a SKU at a plate."""

    plate_id: str
    sku: str
    n: int
    slow: bool = False  # a slow, careful pick (the weight ramps over seconds)
    press: bool = False  # the hand rests on the plate for a moment first
    linger_s: float = 0.0  # extra time standing at the plate afterwards


@dataclass
class Shopper:
    person_id: str
    token: str
    enter_at: float
    height: float
    speed: float
    actions: list[Action] = field(default_factory=list)
    entry_gate: str = ""
    exit_gate: str = ""


@dataclass
class SensorConfig:
    depth_hz: float = 15.0
    depth_encoding: str = "16UC1"  # or 32FC1
    depth_size: tuple[int, int] = (160, 120)
    depth_noise_frac: float = 0.008
    depth_hole_frac: float = 0.04
    depth_drop_frac: float = 0.01  # frames lost
    color_hz: float = 0.0  # 0: no color images
    color_size: tuple[int, int] = (320, 240)
    load_cell_hz: float = 60.0
    load_cell_batch: int = 6
    load_cell_noise_g: tuple[float, float] = (1.0, 5.0)  # per plate, drawn in this range
    drift_g_per_h: float = 100.0
    lost_batch_frac: float = 0.005
    nan_frac: float = 0.002
    knocks_per_min: float = 0.5
    clock_hz: float = 50.0
    dark_cameras: list[tuple[str, float, float]] = field(default_factory=list)  # (camera id, from, to)


@dataclass
class Scenario:
    name: str
    seed: int
    shoppers: list[Shopper]
    duration_s: float
    sensors: SensorConfig = field(default_factory=SensorConfig)
    kind: str = "random"  # scenario type, for per-type reports


def _gates(store: Store, kind: str) -> list[str]:
    return [g.id for g in store.gates if g.accepts(kind)]


def _stock(catalog: Catalog) -> list[tuple[str, str]]:
    """(plate, sku) pairs of the planogram."""
    return [(plate, p.sku) for p in catalog.products for plate in p.plates]


def random_scenario(
    store: Store,
    catalog: Catalog,
    n_shoppers: int,
    seed: int,
    duration_s: float | None = None,
    group_prob: float = 0.15,
    return_prob: float = 0.15,
    max_picks: int = 4,
    sensors: SensorConfig | None = None,
    arrival_gap_s: float = 6.0,
    name: str = "",
) -> Scenario:
    rng = np.random.default_rng(seed)
    stock = _stock(catalog)
    entries, exits = _gates(store, "entry"), _gates(store, "exit")
    shoppers: list[Shopper] = []
    t = 1.0
    k = 0
    while len(shoppers) < n_shoppers:
        token = f"tok-{seed}-{k}"
        members = 2 if (rng.uniform() < group_prob and len(shoppers) + 2 <= n_shoppers) else 1
        for m in range(members):
            actions: list[Action] = []
            held: list[tuple[str, str]] = []
            for _ in range(int(rng.integers(0, max_picks + 1))):
                plate, sku = stock[int(rng.integers(len(stock)))]
                if held and rng.uniform() < return_prob:
                    back_plate, back_sku = held.pop(int(rng.integers(len(held))))
                    if rng.uniform() < 0.5:  # on another plate than it came from
                        back_plate = stock[int(rng.integers(len(stock)))][0]
                    actions.append(Action(back_plate, back_sku, -1))
                    continue
                n = 1 if rng.uniform() < 0.8 else int(rng.integers(2, 4))
                actions.append(Action(plate, sku, n, slow=rng.uniform() < 0.1, press=rng.uniform() < 0.15))
                held += [(plate, sku)] * n
            shoppers.append(
                Shopper(
                    person_id=f"p{len(shoppers)}",
                    token=token,
                    enter_at=t + 1.2 * m,
                    height=float(rng.uniform(1.5, 2.0)),
                    speed=float(rng.uniform(0.8, 1.4)),
                    actions=actions,
                    entry_gate=entries[int(rng.integers(len(entries)))],
                    exit_gate=exits[int(rng.integers(len(exits)))],
                )
            )
        k += 1
        t += float(rng.uniform(0.5, 1.5) * arrival_gap_s)
    return Scenario(name or f"random-{n_shoppers}-{seed}", seed, shoppers, duration_s or 0.0, sensors or SensorConfig())


def _sku_on(catalog: Catalog, plate: str, index: int = 0) -> str:
    skus = [p.sku for p in catalog.stocked_on(plate)]
    return skus[index % len(skus)]


def single_shopper(store: Store, catalog: Catalog, seed: int = 1) -> Scenario:
    plates = [p.id for p in store.plates if catalog.stocked_on(p.id)]
    a, b = plates[0], plates[len(plates) // 2]
    shopper = Shopper("p0", "tok-solo", 1.0, 1.75, 1.1, [Action(a, _sku_on(catalog, a), 1), Action(b, _sku_on(catalog, b), 2)],
                      _gates(store, "entry")[0], _gates(store, "exit")[0])
    return Scenario("single_shopper", seed, [shopper], 0.0, kind="single")


def two_shoppers(store: Store, catalog: Catalog, seed: int = 2) -> Scenario:
    # plates with one SKU each: weight alone tells what moved (no near-equal twins)
    plates = [p.id for p in store.plates if len(catalog.stocked_on(p.id)) == 1]
    a, b, c = plates[1], plates[len(plates) // 3], plates[-2]
    s1 = Shopper("p0", "tok-ann", 1.0, 1.68, 1.1, [Action(a, _sku_on(catalog, a), 1), Action(c, _sku_on(catalog, c), 1)],
                 _gates(store, "entry")[0], _gates(store, "exit")[0])
    s2 = Shopper("p1", "tok-bob", 4.0, 1.86, 1.0,
                 [Action(b, _sku_on(catalog, b), 2), Action(b, _sku_on(catalog, b), -1), Action(a, _sku_on(catalog, a), 1)],
                 _gates(store, "entry")[0], _gates(store, "exit")[0])
    return Scenario("two_shoppers", seed, [s1, s2], 0.0, kind="two")


def group_token(store: Store, catalog: Catalog, seed: int = 3) -> Scenario:
    plates = [p.id for p in store.plates if catalog.stocked_on(p.id)]
    a, b = plates[2], plates[-3]
    g = _gates(store, "entry")[0]
    x = _gates(store, "exit")[0]
    s1 = Shopper("p0", "tok-family", 1.0, 1.8, 1.0, [Action(a, _sku_on(catalog, a), 1)], g, x)
    s2 = Shopper("p1", "tok-family", 2.4, 1.55, 1.0, [Action(b, _sku_on(catalog, b), 1)], g, x)
    return Scenario("group_token", seed, [s1, s2], 0.0, kind="group")


NAMED = {"single_shopper": single_shopper, "two_shoppers": two_shoppers, "group_token": group_token}
