"""A library of named scenario types for the evaluation suite.

Each type is one case the stack must handle (a crowd at adjacent plates, arms crossing,
twins on a plate, a touch without a take, knocks, drift, a dark camera, ...), in one of
the example stores under calibration/. `LIBRARY[name].build(store, catalog, seed)` makes
one scenario of it: plain data, the same for the same seed, `kind` = the type's name, and
the sensor settings the case needs, at the evaluation's depth rate (10 Hz; eval may
replace `depth_hz`). Builders find what they need (adjacent plates, twin SKUs, light
items, a camera above some plates) in whatever store they are given, and raise
ValueError when it has none.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import TypeVar

import numpy as np

from walkout_common.store import Catalog, Plate, Store, load_catalog, load_store

from .bodies import group_plates
from .coverage import seen_by
from .depth_render import DepthRenderer
from .people import PeopleSim, stand_point
from .scenario import Action, Scenario, SensorConfig, Shopper, random_scenario

CALIBRATION = Path(__file__).resolve().parents[4] / "calibration"
EVAL_DEPTH_HZ = 10.0
TWIN_TOL = 0.03  # the contract: two SKUs may weigh within 3 % of each other
T = TypeVar("T")
# neighbours' standing spots: clear of each other (people.py: a shopper reaches from where
# they are when someone stands within 0.5 m of their spot), near enough to reach into the
# other's plate
NEIGHBOURS = (0.55, 0.8)


@dataclass(frozen=True)
class ScenarioType:
    name: str  # e.g. "crowding"
    store: str  # folder name under calibration/ (e.g. "nanostore")
    sessions: int  # about how many sessions (tokens) one scenario of this type has
    description: str  # one line for the report
    build: Callable[[Store, Catalog, int], Scenario]  # seed -> Scenario; deterministic; sets scenario.kind = name


@cache
def store_files(store: str) -> tuple[Store, Catalog]:
    """The store and catalog of a folder under calibration/ (read once)."""
    st = load_store(CALIBRATION / store / "store.yaml")
    return st, load_catalog(CALIBRATION / store / "catalog.yaml", st)


def build(name: str, seed: int) -> Scenario:
    """One scenario of a library type, in the type's own store."""
    kind = LIBRARY[name]
    return kind.build(*store_files(kind.store), seed)


# ---- shared helpers ------------------------------------------------------------------


def _rng(name: str, seed: int) -> np.random.Generator:
    """A type's own random stream: one seed gives different draws in different types."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


class _Cast:
    """The shoppers of one scenario: ids, tokens, bodies and gates drawn from its stream."""

    def __init__(self, store: Store, catalog: Catalog, rng: np.random.Generator) -> None:
        self.store, self.catalog, self.rng = store, catalog, rng
        self.shoppers: list[Shopper] = []
        self.tokens = 0
        self.entries = [g.id for g in store.gates if g.accepts("entry")]
        self.exits = [g.id for g in store.gates if g.accepts("exit")]

    def token(self) -> str:
        self.tokens += 1
        return f"tok-{self.tokens - 1}"

    def add(self, enter_at: float, actions: list[Action], token: str = "") -> Shopper:
        rng = self.rng
        sh = Shopper(f"p{len(self.shoppers)}", token or self.token(), float(enter_at), float(rng.uniform(1.45, 2.05)),
                     float(rng.uniform(0.8, 1.4)), actions, self.entries[int(rng.integers(len(self.entries)))],
                     self.exits[int(rng.integers(len(self.exits)))])
        self.shoppers.append(sh)
        return sh

    def scenario(self, name: str, seed: int, sensors: SensorConfig | None = None) -> Scenario:
        return Scenario(f"{name}-{seed}", seed, self.shoppers, 0.0, sensors or SensorConfig(depth_hz=EVAL_DEPTH_HZ), kind=name,
                        store=self.store, catalog=self.catalog)

    # what to do at a plate
    def sku(self, plate: Plate) -> str:
        skus = [p.sku for p in self.catalog.stocked_on(plate.id)]
        return skus[int(self.rng.integers(len(skus)))]

    def take(self, plate: Plate, n: int = 1, **kw: object) -> Action:
        return Action(plate.id, self.sku(plate), n, **kw)  # type: ignore[arg-type]

    def plates(self, k: int, exclude: Iterable[Plate] = ()) -> list[Plate]:
        """k different stocked plates at random (not those excluded)."""
        ids = {p.id for p in exclude}
        pool = [p for p in stocked(self.store, self.catalog) if p.id not in ids]
        return [pool[i] for i in self.rng.choice(len(pool), size=min(k, len(pool)), replace=False)]

    def apart(self, k: int, gap: float = 0.6) -> list[Plate]:
        """k stocked plates at random whose standing spots are `gap` apart and not at a
        gondola's end (as many as there are, then any): people who stay a while at their
        plates neither crowd one spot nor block the way round a gondola."""
        ends = {p.id for face in spots(self.store, self.catalog) for spot in (face[0], face[-1]) for p in spot}
        chosen: list[Plate] = []
        for p in self.plates(len(stocked(self.store, self.catalog))):
            if p.id not in ends and all(np.linalg.norm(stand_point(p) - stand_point(c)) >= gap for c in chosen):
                chosen.append(p)
        return (chosen + self.plates(k, exclude=chosen))[:k]

    def errand(self, k: int = 1, exclude: Iterable[Plate] = ()) -> list[Action]:
        """k ordinary one-unit picks elsewhere in the store."""
        return [self.take(p) for p in self.plates(k, exclude)]


def stocked(store: Store, catalog: Catalog) -> list[Plate]:
    return [p for p in store.plates if catalog.stocked_on(p.id)]


def near(store: Store, catalog: Catalog, plates: Iterable[Plate], radius: float) -> list[Plate]:
    """Stocked plates reached from within `radius` of where these plates are reached from:
    errands kept clear of people standing there."""
    spots_ = np.array([stand_point(p) for p in plates]).reshape(-1, 2)
    return [p for p in stocked(store, catalog) if len(spots_) and np.min(np.linalg.norm(spots_ - stand_point(p), axis=1)) < radius]


def spots(store: Store, catalog: Catalog) -> list[list[list[Plate]]]:
    """Per gondola face, its standing spots in order along the face; a spot is the
    stocked plates reached from (nearly) one place (the shelves of one column)."""
    faces = []
    for group in group_plates(store):
        plates = sorted((p for p in group if catalog.stocked_on(p.id)), key=lambda p: float(stand_point(p) @ p.along))
        face: list[list[Plate]] = []
        for p in plates:
            if face and np.linalg.norm(stand_point(p) - stand_point(face[-1][0])) < 0.12:
                face[-1].append(p)
            else:
                face.append([p])
        if face:
            faces.append(face)
    return faces


def adjacent_spots(store: Store, catalog: Catalog, rng: np.random.Generator, k: int, gap: tuple[float, float] = (0.5, 0.95)) -> list[list[Plate]]:
    """k spots side by side on one face, each `gap` metres (min, max) from the last: where
    k shoppers can stand shoulder to shoulder. Raises ValueError if the store has none."""
    runs = []
    for face in spots(store, catalog):
        for start in range(len(face)):
            run = [face[start]]
            for spot in face[start + 1 :]:
                d = float(np.linalg.norm(stand_point(spot[0]) - stand_point(run[-1][0])))
                if d > gap[1]:
                    break
                if d >= gap[0]:
                    run.append(spot)
                if len(run) == k:
                    runs.append(run)
                    break
    if not runs:
        raise ValueError(f"{store.store_id}: no {k} adjacent standing spots {gap[0]}-{gap[1]} m apart")
    return runs[int(rng.integers(len(runs)))]


def twins(catalog: Catalog, plate_id: str, tol: float = TWIN_TOL) -> list[tuple[str, str]]:
    """Pairs of SKUs on one plate whose unit weights are within `tol` of each other."""
    prods = catalog.stocked_on(plate_id)
    return [(a.sku, b.sku) for i, a in enumerate(prods) for b in prods[i + 1 :]
            if abs(a.weight_g - b.weight_g) <= tol * min(a.weight_g, b.weight_g)]


def _one(rng: np.random.Generator, items: Sequence[T]) -> T:
    return items[int(rng.integers(len(items)))]


def _far_first(store: Store, spots_: list[list[Plate]]) -> list[list[Plate]]:
    """Spots ordered from the farthest from the entry: the first in goes furthest, so
    nobody has to squeeze past people already standing at the shelf."""
    entry = next(g for g in store.gates if g.accepts("entry")).center
    return sorted(spots_, key=lambda s: -float(np.linalg.norm(stand_point(s[0]) - entry)))


# ---- builders: people ----------------------------------------------------------------


def crowding(store: Store, catalog: Catalog, seed: int) -> Scenario:
    """Four or five shoppers shoulder to shoulder at adjacent plates, all reaching within
    two seconds; each then takes one more item elsewhere; a fifth one, if the face has only
    four spots, shops away from them meanwhile."""
    rng = _rng("crowding", seed)
    cast = _Cast(store, catalog, rng)
    try:
        row = adjacent_spots(store, catalog, rng, 5)
    except ValueError:
        row = adjacent_spots(store, catalog, rng, 4)
    for i, spot in enumerate(_far_first(store, row)):
        plate = spot[int(rng.integers(len(spot)))]
        cast.add(1.0 + 3.0 * i, [cast.take(plate, sync="crowd", lag_s=float(rng.uniform(0.0, 2.0))), *cast.errand(1, exclude=spot)])
    if len(row) < 5:  # the fifth shops elsewhere meanwhile, not through the crowd
        cast.add(2.0, cast.errand(2, exclude=near(store, catalog, [s[0] for s in row], 1.2)))
    return cast.scenario("crowding", seed)


def crossing(store: Store, catalog: Catalog, seed: int) -> Scenario:
    """Two shoppers at neighbouring plates reach into each other's plate at the same
    moment, arms crossing, then each takes from their own; a third shops meanwhile."""
    rng = _rng("crossing", seed)
    cast = _Cast(store, catalog, rng)
    sa, sb = _far_first(store, adjacent_spots(store, catalog, rng, 2, gap=(NEIGHBOURS[0], 0.65)))
    pa, pb = (max(s, key=lambda p: float(p.center[2])) for s in (sa, sb))  # the top shelf: within an arm's reach sideways
    cast.add(1.0, [cast.take(pb, stand_at=pa.id, sync="cross"), cast.take(pa)])
    cast.add(2.2, [cast.take(pa, stand_at=pb.id, sync="cross", lag_s=float(rng.uniform(0.0, 0.3))), cast.take(pb)])
    cast.add(4.0, cast.errand(2, exclude=near(store, catalog, [pa, pb], 0.6)))
    return cast.scenario("crossing", seed)


def same_plate(store: Store, catalog: Catalog, seed: int) -> Scenario:
    """Two shoppers take from one plate within half a second, one standing at it, the
    other reaching in from the neighbouring spot; then one more pick each."""
    rng = _rng("sameplate", seed)
    cast = _Cast(store, catalog, rng)
    here, beside = adjacent_spots(store, catalog, rng, 2, gap=NEIGHBOURS)
    plate = max(here, key=lambda p: (len(catalog.stocked_on(p.id)), float(rng.uniform())))  # a mixed plate if there is one
    cast.add(1.0, [cast.take(plate, sync="same"), *cast.errand(1, exclude=[plate])])
    cast.add(2.2, [cast.take(plate, stand_at=beside[0].id, sync="same", lag_s=float(rng.uniform(0.1, 0.5))),
                   *cast.errand(1, exclude=[plate])])
    return cast.scenario("sameplate", seed)


def multi_units(store: Store, catalog: Catalog, seed: int) -> Scenario:
    """Several units in one reach: takes of 2 to 4 units, put-backs of 2 units in one
    reach (on the same plate and on another plate)."""
    rng = _rng("multi", seed)
    cast = _Cast(store, catalog, rng)
    p, q, r, s = cast.plates(4)
    a = cast.take(p, int(rng.integers(3, 5)))
    cast.add(1.0, [a, *cast.errand(1, exclude=[p]), Action(p.id, a.sku, -2)])
    b = cast.take(q, int(rng.integers(2, 4)), slow=bool(rng.uniform() < 0.3))
    cast.add(3.0, [b, Action(r.id, b.sku, -2)])
    cast.add(5.0, [cast.take(s, 2), cast.take(p, int(rng.integers(1, 3)))])
    return cast.scenario("multi", seed)


def put_backs(store: Store, catalog: Catalog, seed: int) -> Scenario:
    """A shopper puts one unit back where it came from and another on a different plate;
    later someone else takes that foreign item there (billed as its own SKU), and a
    unit from the plate the first one put back on."""
    rng = _rng("putback", seed)
    cast = _Cast(store, catalog, rng)
    p, q, r = cast.plates(3)
    x, y = cast.take(p, 2), cast.take(q)
    cast.add(1.0, [x, y, Action(p.id, x.sku, -1), Action(r.id, y.sku, -1)])
    cast.add(9.0, [Action(r.id, y.sku, 1), Action(p.id, x.sku, 1)])  # waits at r until the item is there
    if rng.uniform() < 0.5:  # a third shopper takes what belongs on r, beside the foreign item
        cast.add(12.0, [cast.take(r), *cast.errand(1, exclude=[p, q, r])])
    return cast.scenario("putback", seed)


def groups(store: Store, catalog: Catalog, seed: int) -> Scenario:
    """Two groups, each on one token: in the family of three one member hands an item to
    another, who may put it back elsewhere; a couple shops apart; one solo shopper."""
    rng = _rng("groups", seed)
    cast = _Cast(store, catalog, rng)
    fam, pair = cast.token(), cast.token()
    p, q, r, s = cast.plates(4)
    x = cast.take(p)
    giver = cast.add(1.0, [x], token=fam)
    keeper = cast.add(2.2, [cast.take(q, linger_s=6.0)], token=fam)
    if rng.uniform() < 0.5:
        keeper.actions.append(Action(r.id, x.sku, -1))  # waits for the unit, then puts it back elsewhere
    giver.actions.append(Action("", x.sku, 1, give_to=keeper.person_id))
    cast.add(3.4, cast.errand(1, exclude=[p, q]), token=fam)
    cast.add(6.0, [cast.take(s)], token=pair)
    cast.add(7.2, cast.errand(2, exclude=[s]), token=pair)
    cast.add(9.0, cast.errand(int(rng.integers(1, 3))))
    return cast.scenario("groups", seed)


def handoffs(store: Store, catalog: Catalog, seed: int) -> Scenario:
    """Items handed between sessions: A hands one of two units to B, B hands an item to
    C; B may put A's unit back (then it is off A's receipt if A is still inside). The
    taker pays for what was handed on."""
    rng = _rng("handoff", seed)
    cast = _Cast(store, catalog, rng)
    p, q, r, s = cast.plates(4)
    x = cast.take(p, 2)
    a = cast.add(1.0, [x])
    y = cast.take(q, linger_s=5.0)
    b = cast.add(2.5, [y])
    c = cast.add(4.0, [cast.take(r, linger_s=10.0), cast.take(s)])  # stays a while: B comes to hand over
    a.actions.append(Action("", x.sku, 1, give_to=b.person_id))
    b.actions.append(Action("", y.sku, 1, give_to=c.person_id))
    if rng.uniform() < 0.5:
        b.actions.append(Action(p.id, x.sku, -1))
    return cast.scenario("handoff", seed)


def twin_skus(store: Store, catalog: Catalog, seed: int) -> Scenario:
    """Takes (one and two units) and a put-back of SKUs that share a plate with a twin
    weighing within 3 %."""
    rng = _rng("twins", seed)
    cast = _Cast(store, catalog, rng)
    plates = [p for p in store.plates if twins(catalog, p.id)]
    if not plates:
        raise ValueError(f"{store.store_id}: no plate with near-equal twins")

    def twin_take(n: int) -> Action:
        plate = _one(rng, plates)
        return Action(plate.id, _one(rng, [s for pair in twins(catalog, plate.id) for s in pair]), n)

    first = twin_take(2)
    cast.add(1.0, [first, twin_take(1), Action(first.plate_id, first.sku, -1)])
    cast.add(3.0, [twin_take(1), twin_take(int(rng.integers(1, 3)))])
    if rng.uniform() < 0.5:
        cast.add(6.0, [twin_take(1)])
    return cast.scenario("twins", seed)


def touches(store: Store, catalog: Catalog, seed: int) -> Scenario:
    """Hands on plates that take nothing: fingers brushing the goods, a hand leaning on a
    plate for a second or two; between them real picks."""
    rng = _rng("touch", seed)
    cast = _Cast(store, catalog, rng)
    p, q, r, s = cast.plates(4)
    cast.add(1.0, [Action(p.id, cast.sku(p), 0), cast.take(q), Action(r.id, cast.sku(r), 0, press=True)])
    cast.add(3.0, [Action(s.id, cast.sku(s), 0, press=bool(rng.uniform() < 0.5)), cast.take(s), Action(p.id, cast.sku(p), 0)])
    return cast.scenario("touch", seed)


def _careful(name: str, flag: str) -> Callable[[Store, Catalog, int], Scenario]:
    """Picks and a put-back all done one way (`flag`: an Action field, e.g. press, slow)."""

    def builder(store: Store, catalog: Catalog, seed: int) -> Scenario:
        rng = _rng(name, seed)
        cast = _Cast(store, catalog, rng)
        for i in range(2):
            p, q = cast.plates(2)
            a = cast.take(p, int(rng.integers(1, 3)), **{flag: True})
            cast.add(1.0 + 3.0 * i, [a, cast.take(q, **{flag: True}), Action(p.id, a.sku, -1, **{flag: True})])
        return cast.scenario(name, seed)

    return builder


def crowd20(store: Store, catalog: Catalog, seed: int) -> Scenario:
    """22 shoppers (20 sessions, two couples) in the store at once: they come in 1.2 s
    apart, browse at a plate for a while, take one or two items and leave."""
    rng = _rng("crowd20", seed)
    cast = _Cast(store, catalog, rng)
    firsts = cast.apart(22)
    busy = near(store, catalog, firsts, 0.6)  # second picks away from where others browse
    couples = {3: cast.token(), 11: cast.token()}  # a couple comes in one after the other
    for i, plate in enumerate(firsts):
        token = couples.get(i) or couples.get(i - 1) or ""
        acts = [cast.take(plate, linger_s=float(rng.uniform(16.0, 24.0)))] + cast.errand(int(rng.integers(0, 2)), exclude=busy)
        cast.add(1.0 + 1.2 * i, acts, token=token)
    return cast.scenario("crowd20", seed)


# ---- builders: sensors ---------------------------------------------------------------


def _mixed(name: str, sensors: SensorConfig | None = None, shoppers: tuple[int, int] = (2, 4)) -> Callable[[Store, Catalog, int], Scenario]:
    """The random mix (random_scenario: groups, put-backs on other plates, hand-offs, slow
    picks, presses) with `shoppers` (min, max) people and these sensor settings."""

    def builder(store: Store, catalog: Catalog, seed: int) -> Scenario:
        rng = _rng(name, seed)
        n = int(rng.integers(shoppers[0], shoppers[1] + 1))
        sc = random_scenario(store, catalog, n, int(rng.integers(2**31)), sensors=sensors or SensorConfig(depth_hz=EVAL_DEPTH_HZ),
                             arrival_gap_s=4.0, handover_prob=0.1, name=f"{name}-{seed}")
        sc.seed, sc.kind = seed, name
        return sc

    return builder


IDLE_S = 150.0  # the store stands empty this long in the drift type


def drift(store: Store, catalog: Catalog, seed: int) -> Scenario:
    """Every plate drifts at the envelope's maximum (100 g/h, random sign). A shopper
    takes the store's lightest items; the store stands empty for 2.5 minutes (the plates
    drift ~4 g, comparable to those items); then two shoppers take and put back units of
    the same items on the same plates."""
    rng = _rng("drift", seed)
    cast = _Cast(store, catalog, rng)
    light = sorted(stocked(store, catalog), key=lambda p: min(c.weight_g for c in catalog.stocked_on(p.id)))[:3]

    def lightest(p: Plate) -> str:
        return min(catalog.stocked_on(p.id), key=lambda c: c.weight_g).sku

    cast.add(1.0, [Action(light[0].id, lightest(light[0]), 1), Action(light[1].id, lightest(light[1]), 1)])
    cast.add(IDLE_S + float(rng.uniform(0, 5)), [Action(light[1].id, lightest(light[1]), 2), Action(light[1].id, lightest(light[1]), -1)])
    cast.add(IDLE_S + 6.0, [Action(light[2].id, lightest(light[2]), 1), Action(light[0].id, lightest(light[0]), 1)])
    return cast.scenario("drift", seed, SensorConfig(depth_hz=EVAL_DEPTH_HZ, drift_g_per_h=100.0, drift_full=True))


def dark_camera(store: Store, catalog: Catalog, seed: int) -> Scenario:
    """One depth camera goes dark for several seconds (at least 6) while two shoppers
    pick, one after the other, at plates below it; then they shop on."""
    rng = _rng("dark", seed)
    cast = _Cast(store, catalog, rng)
    pairs = {cam: [(p, q) for i, p in enumerate(ps) for q in ps[i + 1 :] if np.linalg.norm(stand_point(p) - stand_point(q)) >= 0.6]
             for cam, ps in _plates_under_cameras(store, catalog).items()}  # two places to stand, side by side
    cams = sorted(c for c, ps in pairs.items() if ps)
    if not cams:
        raise ValueError(f"{store.store_id}: no depth camera above two stocked plates")
    cam_id = _one(rng, cams)
    p, q = pairs[cam_id][int(rng.integers(len(pairs[cam_id])))]
    cast.add(1.0, [cast.take(p, sync="dark"), *cast.errand(1, exclude=[p, q])])
    cast.add(2.5, [cast.take(q, sync="dark", lag_s=float(rng.uniform(0.5, 1.5))), *cast.errand(1, exclude=[p, q])])
    sc = cast.scenario("dark", seed)
    # when the picks happen is known only from the people simulator: the camera goes dark
    # from a little before the first to a little after the second
    picks = {(s.person_id, a.plate_id) for s in sc.shoppers for a in s.actions if a.sync}
    tl = PeopleSim(store, catalog, sc).run()
    times = [e.t for e in tl.truth_events if (e.person_id, e.plate_id) in picks]
    t0 = min(times) - 2.5
    t1 = max(max(times) + 2.5, t0 + 6.0)
    sc.sensors = replace(sc.sensors, dark_cameras=[(cam_id, t0, t1)])
    return sc


def _plates_under_cameras(store: Store, catalog: Catalog) -> dict[str, list[Plate]]:
    """Per depth camera, the stocked plates whose shopper it sees: a head of any height
    at the stand point or 0.3 m around it (people stop a little short, or step aside)."""
    plates = stocked(store, catalog)
    around = [(0.0, 0.0), (0.3, 0.0), (-0.3, 0.0), (0.0, 0.3), (0.0, -0.3)]
    heads = np.array([[*(stand_point(p) + d), h] for p in plates for d in around for h in (1.45, 2.05)])
    out = {}
    for cam in store.cameras_of_kind("depth"):
        seen = seen_by(DepthRenderer(store, cam), heads).reshape(len(plates), -1).all(axis=1)
        out[cam.id] = [p for p, ok in zip(plates, seen, strict=True) if ok]
    return out


LIBRARY: dict[str, ScenarioType] = {
    t.name: t
    for t in (
        ScenarioType("crowding", "nanostore", 5, "4-5 shoppers side by side at adjacent plates, reaching within 2 s", crowding),
        ScenarioType("crossing", "minimart", 3, "two shoppers at neighbouring plates reach into each other's plate at once, arms crossing", crossing),
        ScenarioType("sameplate", "nanostore", 2, "two shoppers take from one plate within 0.5 s, one reaching in from beside", same_plate),
        ScenarioType("multi", "nanostore", 3, "takes of 2-4 units and put-backs of 2 units in one reach", multi_units),
        ScenarioType("putback", "nanostore", 2, "put-backs on the same and on another plate; someone else later takes the foreign item", put_backs),
        ScenarioType("groups", "nanostore", 3, "a family of three and a couple on shared tokens, a hand-off inside the family", groups),
        ScenarioType("handoff", "nanostore", 3, "items handed between sessions (the taker pays), a handed item maybe put back", handoffs),
        ScenarioType("twins", "minimart", 3, "takes and put-backs of SKUs sharing a plate with a twin within 3 % by weight", twin_skus),
        ScenarioType("touch", "minimart", 2, "hands brushing and leaning on plates without taking, between real picks", touches),
        ScenarioType("rest", "nanostore", 2, "every pick and put-back with the hand resting on the plate first", _careful("rest", "press")),
        ScenarioType("slow", "corner_shop", 2, "every pick and put-back slow and careful (weight ramps over 2-3 s)", _careful("slow", "slow")),
        ScenarioType("knock", "nanostore", 3, "random mix with shelves knocked 4 times a minute each", _mixed("knock", SensorConfig(depth_hz=EVAL_DEPTH_HZ, knocks_per_min=4.0))),
        ScenarioType("drift", "corner_shop", 3, f"all plates drift at 100 g/h; light items taken before and after {IDLE_S / 60:.1f} min empty", drift),
        ScenarioType("lost", "minimart", 3, "random mix with 1 % of load-cell batches and 1 % of samples lost",
                     _mixed("lost", SensorConfig(depth_hz=EVAL_DEPTH_HZ, lost_batch_frac=0.01, nan_frac=0.01))),
        ScenarioType("noisy", "minimart", 3, "random mix at the envelope's noise: depth 1.5 % of range, 10 % holes, 3 % dropped frames, 4-5 g load cells, shelf clocks up to 50 ms off, gate stamps up to 0.5 s off",
                     _mixed("noisy", SensorConfig(depth_hz=EVAL_DEPTH_HZ, depth_noise_frac=0.015, depth_hole_frac=0.10, depth_drop_frac=0.03,
                                                  load_cell_noise_g=(4.0, 5.0), shelf_clock_s=0.05, gate_stamp_s=0.5))),
        ScenarioType("dark", "nanostore", 2, "a depth camera dark for 6+ s while two shoppers pick below it", dark_camera),
        ScenarioType("crowd20", "minimart", 20, "22 shoppers (20 sessions) in the store at once", crowd20),
        ScenarioType("random_nano", "nanostore", 3, "random mix in the nanostore (2-4 shoppers)", _mixed("random_nano")),
        ScenarioType("random_corner", "corner_shop", 3, "random mix in the corner shop (2-4 shoppers)", _mixed("random_corner")),
        ScenarioType("random_mini", "minimart", 3, "random mix in the minimart (2-4 shoppers)", _mixed("random_mini")),
    )
}
