"""Scenarios: who enters when, with which token, and what each shopper does.

A scenario is plain data, seeded and repeatable. `random_scenario` makes a plausible mix
for any store; the named ones are small scripted cases for tests; library.py has the
evaluation's scenario types. `named_scenario` builds any of them by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from walkout_common.store import Catalog, Store


@dataclass
class Action:
    """One reach: take (n > 0) or put back (n < 0) units of a SKU at a plate, or touch it
    (n == 0: the hand reaches and brushes the goods, or with `press` leans on the plate;
    no unit moves); or, with `give_to`, hand n held units of the SKU to that person
    (plate_id unused).

    A take waits at the plate until the units are there (e.g. an item someone else is to
    put back), a put-back until the hand holds them (e.g. a unit still to be handed over),
    each at most half a minute."""

    plate_id: str
    sku: str
    n: int
    slow: bool = False  # a slow, careful pick (the weight ramps over seconds)
    press: bool = False  # the hand rests on the plate for a moment first (a touch: leans on it)
    linger_s: float = 0.0  # extra time standing at the plate afterwards
    give_to: str = ""  # person id of the receiver of a handover
    stand_at: str = ""  # reach from in front of this plate (a neighbour): across, past someone
    sync: str = ""  # reaches with the same label start together, once all their shoppers stand ready
    lag_s: float = 0.0  # ... this one this much later


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
    shelf_rates: dict[str, tuple[float, int]] = field(default_factory=dict)  # shelf id -> (Hz, batch), overrides
    load_cell_noise_g: tuple[float, float] = (1.0, 5.0)  # per plate, drawn in this range
    load_cell_step_g: float = 0.0  # readings rounded to this (a scale's division; 0: not rounded)
    load_cell_filter: float = 0.0  # each reading's noise is this much of the last one's (AR(1), its sd kept; 0: independent)
    drift_g_per_h: float = 100.0  # each plate drifts at up to this rate, random sign
    drift_full: bool = False  # every plate drifts at exactly drift_g_per_h (the envelope's edge)
    lost_batch_frac: float = 0.005
    nan_frac: float = 0.002
    knocks_per_min: float = 0.5
    clock_hz: float = 50.0
    # The contract: shelf clocks agree with the cameras' within 50 ms, gate events are
    # stamped within 0.5 s of the crossing. Each shelf's clock is off by a constant drawn
    # in +-shelf_clock_s; each gate event by a delay drawn in +-gate_stamp_s, after a
    # constant gate_latency_s (a gate that always reports late): |latency| + jitter <= 0.5.
    shelf_clock_s: float = 0.0
    gate_stamp_s: float = 0.3
    gate_latency_s: float = 0.0
    dark_cameras: list[tuple[str, float, float]] = field(default_factory=list)  # (camera id, from, to)
    # How the cameras see people: one build for all (False), or each their own
    # (bodies.varied_build: sizes, bent elbows, backpacks, baskets).
    varied_bodies: bool = False


@dataclass
class Scenario:
    name: str
    seed: int
    shoppers: list[Shopper]
    duration_s: float
    sensors: SensorConfig = field(default_factory=SensorConfig)
    kind: str = "random"  # scenario type, for per-type reports
    store: Store | None = field(default=None, compare=False, repr=False)
    catalog: Catalog | None = field(default=None, compare=False, repr=False)


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
    handover_prob: float = 0.0,
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
                    height=float(rng.uniform(1.45, 2.05)),
                    speed=float(rng.uniform(0.8, 1.4)),
                    actions=actions,
                    entry_gate=entries[int(rng.integers(len(entries)))],
                    exit_gate=exits[int(rng.integers(len(exits)))],
                )
            )
        k += 1
        t += float(rng.uniform(0.5, 1.5) * arrival_gap_s)
    if handover_prob > 0:
        # a shopper hands one taken unit to someone of another session who came in just before
        for i, sh in enumerate(shoppers):
            takes = [a for a in sh.actions if a.n > 0]
            others = [o for o in shoppers[:i] if o.token != sh.token]
            if takes and others and rng.uniform() < handover_prob:
                sh.actions.append(Action("", takes[-1].sku, 1, give_to=others[-1].person_id))
    return Scenario(name or f"random-{n_shoppers}-{seed}", seed, shoppers, duration_s or 0.0, sensors or SensorConfig(),
                    store=store, catalog=catalog)


def _sku_on(catalog: Catalog, plate: str, index: int = 0) -> str:
    skus = [p.sku for p in catalog.stocked_on(plate)]
    return skus[index % len(skus)]


def single_shopper(store: Store, catalog: Catalog, seed: int = 1) -> Scenario:
    plates = [p.id for p in store.plates if catalog.stocked_on(p.id)]
    a, b = plates[0], plates[len(plates) // 2]
    shopper = Shopper("p0", "tok-solo", 1.0, 1.75, 1.1, [Action(a, _sku_on(catalog, a), 1), Action(b, _sku_on(catalog, b), 2)],
                      _gates(store, "entry")[0], _gates(store, "exit")[0])
    return Scenario("single_shopper", seed, [shopper], 0.0, kind="single", store=store, catalog=catalog)


def two_shoppers(store: Store, catalog: Catalog, seed: int = 2) -> Scenario:
    # plates with one SKU each: weight alone tells what moved (no near-equal twins)
    plates = [p.id for p in store.plates if len(catalog.stocked_on(p.id)) == 1]
    a, b, c = plates[1], plates[len(plates) // 3], plates[-2]
    s1 = Shopper("p0", "tok-ann", 1.0, 1.68, 1.1, [Action(a, _sku_on(catalog, a), 1), Action(c, _sku_on(catalog, c), 1)],
                 _gates(store, "entry")[0], _gates(store, "exit")[0])
    s2 = Shopper("p1", "tok-bob", 4.0, 1.86, 1.0,
                 [Action(b, _sku_on(catalog, b), 2), Action(b, _sku_on(catalog, b), -1), Action(a, _sku_on(catalog, a), 1)],
                 _gates(store, "entry")[0], _gates(store, "exit")[0])
    return Scenario("two_shoppers", seed, [s1, s2], 0.0, kind="two", store=store, catalog=catalog)


def group_token(store: Store, catalog: Catalog, seed: int = 3) -> Scenario:
    plates = [p.id for p in store.plates if catalog.stocked_on(p.id)]
    a, b = plates[2], plates[-3]
    g = _gates(store, "entry")[0]
    x = _gates(store, "exit")[0]
    s1 = Shopper("p0", "tok-family", 1.0, 1.8, 1.0, [Action(a, _sku_on(catalog, a), 1)], g, x)
    s2 = Shopper("p1", "tok-family", 2.4, 1.55, 1.0, [Action(b, _sku_on(catalog, b), 1)], g, x)
    return Scenario("group_token", seed, [s1, s2], 0.0, kind="group", store=store, catalog=catalog)


def group_late(store: Store, catalog: Catalog, seed: int = 5, second_s: float = 9.0, name: str = "group_late") -> Scenario:
    """A group whose first member walks in and straight out again before the second one
    comes in on the same token and takes two items: one receipt, with both (amended)."""
    plates = [p.id for p in store.plates if len(catalog.stocked_on(p.id)) == 1]
    a, b = plates[1], plates[-2]
    g, x = _gates(store, "entry")[0], _gates(store, "exit")[0]
    s1 = Shopper("p0", "tok-late", 1.0, 1.7, 1.3, [], g, x)
    s2 = Shopper("p1", "tok-late", second_s, 1.6, 1.0, [Action(a, _sku_on(catalog, a), 1), Action(b, _sku_on(catalog, b), 1)], g, x)
    return Scenario(name, seed, [s1, s2], 0.0, kind="group", store=store, catalog=catalog)


def group_overlap(store: Store, catalog: Catalog, seed: int = 6) -> Scenario:
    """group_late with the second member's ENTRY a moment before the first one's EXIT (the
    tracker binds an ENTRY only 1.3 s after its stamp): one receipt, issued once."""
    return group_late(store, catalog, seed, second_s=3.9, name="group_overlap")


def handover(store: Store, catalog: Catalog, seed: int = 4) -> Scenario:
    """Ann takes an item and hands it to Bob (another token); Bob also takes one himself.
    The handed item stays on Ann's receipt (the billing rule)."""
    plates = [p.id for p in store.plates if len(catalog.stocked_on(p.id)) == 1]
    a, b = plates[0], plates[-1]
    g, x = _gates(store, "entry")[0], _gates(store, "exit")[0]
    ann = Shopper("p0", "tok-ann", 1.0, 1.62, 1.0, [Action(a, _sku_on(catalog, a), 1), Action("", _sku_on(catalog, a), 1, give_to="p1")], g, x)
    bob = Shopper("p1", "tok-bob", 2.5, 1.84, 0.9, [Action(b, _sku_on(catalog, b), 1, linger_s=6.0)], g, x)
    return Scenario("handover", seed, [ann, bob], 0.0, kind="handover", store=store, catalog=catalog)


NAMED = {"single_shopper": single_shopper, "two_shoppers": two_shoppers, "group_token": group_token, "group_late": group_late,
         "group_overlap": group_overlap,
         "handover": handover}


@dataclass
class SimParams:
    """The simulator node's parameters (config/sim_node.yaml); the CLI builds the same."""

    store_file: str = ""
    catalog_file: str = ""
    scenario: str = "random"  # random | single_shopper | two_shoppers | group_token | handover | a library type (library.py)
    shoppers: int = 4
    seed: int = 7
    duration_s: float = 0.0  # at least this long (0: until the last shopper left)
    rate: float = 1.0  # simulated seconds per wall second
    depth_hz: float = 10.0
    depth_encoding: str = "16UC1"  # or 32FC1
    color_hz: float = 0.0
    wait_for_subscribers_s: float = 20.0  # publish nothing until the stack listens, up to this long
    truth_file: str = ""  # where to write the ground truth when done ("" = nowhere)
    keep_spinning: bool = False  # stay up after the last message (e.g. under a launch file)


def scenario_names() -> list[str]:
    """Every name `named_scenario` knows: random, the scripted ones, the library's types."""
    from .library import LIBRARY  # the library builds on this module

    return ["random", *sorted(NAMED), *LIBRARY]


def named_scenario(name: str, store: Store, catalog: Catalog, seed: int, shoppers: int = 3, duration_s: float = 0.0) -> Scenario:
    """random (`shoppers` people), a scripted scenario or a library type, by name. A
    library type keeps its own sensor settings (knocks, drift, a dark camera...)."""
    from .library import LIBRARY

    if name == "random":
        sc = random_scenario(store, catalog, shoppers, seed, duration_s)
    elif name in NAMED:
        sc = NAMED[name](store, catalog, seed)
    elif name in LIBRARY:
        sc = LIBRARY[name].build(store, catalog, seed)
    else:
        raise ValueError(f"unknown scenario {name!r} ({', '.join(scenario_names())})")
    sc.duration_s = max(sc.duration_s, float(duration_s))
    return sc


def build_scenario(p: SimParams, store: Store, catalog: Catalog) -> Scenario:
    """The scenario the parameters name, with their depth and color settings."""
    if p.depth_encoding not in ("16UC1", "32FC1"):
        raise ValueError(f"depth_encoding must be 16UC1 or 32FC1, got {p.depth_encoding!r}")
    sc = named_scenario(p.scenario, store, catalog, int(p.seed), int(p.shoppers), float(p.duration_s))
    sc.sensors = replace(sc.sensors, depth_hz=float(p.depth_hz), depth_encoding=p.depth_encoding, color_hz=float(p.color_hz))
    return sc
