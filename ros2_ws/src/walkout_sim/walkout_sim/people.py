"""Shoppers moving through a store: paths around gondolas, reaches, handovers, and what
they move.

Paths are planned with A* on an occupancy grid of the floor (gondolas grown by a body's
radius), so any store layout works. People step at 20 Hz toward a point a little ahead
on their path; when someone is in the way they wait a moment, then step around, keeping
heads >= 0.36 m apart (a jam that lasts over 10 s lets them pass at 0.3 m). In front of
a plate they reach: the arm goes out, the hand may rest on the plate, units leave or
arrive, the arm comes back. A touch (n == 0) brushes or leans on the plate and moves
nothing. Reaches may wait at the plate first: for partners (a timed reach, `sync`), for
units someone is still to put there, for a unit still to be handed to this shopper.
Every unit remembers who took it from a shelf, so a unit handed to someone else or put
back later is billed by the contract's rule.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

import numpy as np

from walkout_common.store import Catalog, Plate, Store

from .bodies import PersonPose, gondolas
from .scenario import Action, Scenario, Shopper

DT = 0.05
CELL = 0.1
SOFT_GAP = 0.5  # people wait a moment rather than come closer than this
HARD_GAP = 0.36  # and never come closer than this (the contract: heads as close as 0.35 m)
JAM_GAP = 0.3  # except to get out of a jam that lasts
STAND_OUT = 0.42  # a shopper's head from the front edge of the plate reached into
SYNC_WAIT_S = 20.0  # a timed reach waits this long at most for its partners
UNITS_WAIT_S = 30.0  # a reach waits this long at most for its units (on the plate / in the hand)


@dataclass
class PlateChange:
    """How one plate's load changes: a ramp of `grams` over [t0, t1], or a press."""

    plate_id: str
    t0: float
    t1: float
    grams: float
    press: bool = False  # a hand resting: the load returns after t1


@dataclass
class TruthEvent:
    t: float
    person_id: str
    token: str
    plate_id: str
    sku: str
    n: int  # > 0 taken, < 0 put back
    billed_token: str = ""  # whose receipt the units count on (their taker's); "" = token
    taker_id: str = ""  # the person who took the units from a shelf; "" = person_id


@dataclass
class Handover:
    t: float
    giver: str
    receiver: str
    sku: str
    n: int


@dataclass
class Unit:
    """One product unit in someone's hand: its weight and who took it from a shelf."""

    weight: float
    taker_id: str
    taker_token: str


@dataclass
class Track:
    person_id: str
    token: str
    t: list[float] = field(default_factory=list)
    poses: list[PersonPose] = field(default_factory=list)


@dataclass
class Timeline:
    tracks: list[Track]
    plate_changes: list[PlateChange]
    truth_events: list[TruthEvent]
    gate_events: list[tuple[float, str, int, str]]  # (t, gate id, kind, token)
    exits: dict[str, float]  # person -> exit time
    end_time: float
    initial_load: dict[str, float]  # plate -> grams of stock at start
    handovers: list[Handover] = field(default_factory=list)

    def poses_at(self, t: float) -> list[PersonPose]:
        out = []
        for tr in self.tracks:
            if not tr.t or t < tr.t[0] or t > tr.t[-1]:
                continue
            i = min(int(round((t - tr.t[0]) / DT)), len(tr.t) - 1)
            out.append(tr.poses[i])
        return out


class Grid:
    """Free floor cells (gondolas grown by a body radius), with A* paths."""

    def __init__(self, store: Store, radius: float = 0.25) -> None:
        lo = store.floor_min - 1.5
        hi = store.floor_max + 1.5
        self.origin = lo
        self.shape = tuple(np.ceil((hi - lo) / CELL).astype(int) + 1)
        xs = lo[0] + np.arange(self.shape[0]) * CELL
        ys = lo[1] + np.arange(self.shape[1]) * CELL
        gx, gy = np.meshgrid(xs, ys, indexing="ij")
        pts = np.stack([gx, gy], -1)
        inside = np.all((pts >= store.floor_min - 1e-6) & (pts <= store.floor_max + 1e-6), -1)
        free = np.ones(self.shape, dtype=bool)
        for box in gondolas(store):
            free &= ~box.contains_xy(pts, radius)
        # Outside the floor only the gates' approaches are walkable.
        approach = np.zeros(self.shape, dtype=bool)
        for g in store.gates:
            along = np.array([-g.normal[1], g.normal[0]])
            rel = pts - g.center
            approach |= (np.abs(rel @ along) <= g.width / 2) & (rel @ g.normal >= -1.3) & (rel @ g.normal <= 0.3)
        self.free = free & (inside | approach)
        # Stay a little away from the walls.
        self.free &= ~(inside & ~np.all((pts >= store.floor_min + 0.2) & (pts <= store.floor_max - 0.2), -1)) | approach

    def cell(self, xy: np.ndarray) -> tuple[int, int]:
        c = np.round((np.asarray(xy) - self.origin) / CELL).astype(int)
        return int(np.clip(c[0], 0, self.shape[0] - 1)), int(np.clip(c[1], 0, self.shape[1] - 1))

    def xy(self, cell: tuple[int, int]) -> np.ndarray:
        return self.origin + np.array(cell) * CELL

    def nearest_free(self, xy: np.ndarray) -> tuple[int, int]:
        c = self.cell(xy)
        if self.free[c]:
            return c
        idx = np.argwhere(self.free)
        d = np.linalg.norm(idx - np.array(c), axis=1)
        return tuple(idx[int(np.argmin(d))])

    def path(self, a: np.ndarray, b: np.ndarray) -> list[np.ndarray]:
        start, goal = self.nearest_free(a), self.nearest_free(b)
        steps = [(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1)]
        openq = [(0.0, start)]
        came: dict = {start: None}
        cost = {start: 0.0}
        while openq:
            _, cur = heapq.heappop(openq)
            if cur == goal:
                break
            for dx, dy in steps:
                nxt = (cur[0] + dx, cur[1] + dy)
                if not (0 <= nxt[0] < self.shape[0] and 0 <= nxt[1] < self.shape[1]) or not self.free[nxt]:
                    continue
                c = cost[cur] + math.hypot(dx, dy)
                if c < cost.get(nxt, math.inf):
                    cost[nxt] = c
                    came[nxt] = cur
                    heapq.heappush(openq, (c + math.hypot(goal[0] - nxt[0], goal[1] - nxt[1]), nxt))
        if goal not in came:
            return [np.asarray(a, float), np.asarray(b, float)]
        cells = []
        cur = goal
        while cur is not None:
            cells.append(cur)
            cur = came[cur]
        pts = [self.xy(c) for c in reversed(cells)]
        return [np.asarray(a, float)] + pts[1:-1] + [np.asarray(b, float)]


def stand_point(plate: Plate) -> np.ndarray:
    """Where a shopper stands to reach into a plate: its front's middle, 0.42 m out."""
    return plate.front_center[:2] + plate.front_normal * STAND_OUT


def _keep_right(gate) -> np.ndarray:
    """Offset from a gate's middle to the right-hand side of someone walking in."""
    right = np.array([gate.normal[1], -gate.normal[0]])
    return right * min(0.25, max(gate.width / 2.0 - 0.2, 0.0))


@dataclass
class _Step:
    kind: str  # walk | reach | wait
    path: list[np.ndarray] = field(default_factory=list)
    action: object = None
    duration: float = 0.0


class PeopleSim:
    def __init__(self, store: Store, catalog: Catalog, scenario: Scenario) -> None:
        self.store, self.catalog, self.sc = store, catalog, scenario
        self.rng = np.random.default_rng(scenario.seed + 1000)
        self.grid = Grid(store)
        self.plates = store.plates_by_id
        self.gates = store.gates_by_id
        # Stock: unit weights per (plate, sku), from the planogram.
        self.stock: dict[str, dict[str, list[float]]] = {p.id: {} for p in store.plates}
        for prod in catalog.products:
            for plate in prod.plates:
                self.stock[plate][prod.sku] = list(self.rng.normal(prod.weight_g, prod.weight_std_g, 12))
        self.initial_load = {pid: float(sum(sum(u) for u in skus.values())) for pid, skus in self.stock.items()}
        self.handovers: list[Handover] = []
        # timed reaches: how many shoppers each label waits for, and when each stood ready
        self.sync_size: dict[str, int] = {}
        for sh in scenario.shoppers:
            for label in {a.sync for a in sh.actions if a.sync}:
                self.sync_size[label] = self.sync_size.get(label, 0) + 1
        self.sync_ready: dict[str, dict[str, float]] = {}
        # when units being put back land on their plate: nobody takes them before
        self.landing: dict[tuple[str, str], list[float]] = {}

    def _stand_point(self, plate_id: str) -> np.ndarray:
        return stand_point(self.plates[plate_id])

    def run(self) -> Timeline:
        tracks, changes, truth, gates_ev, exits = [], [], [], [], {}
        held_units: dict[str, dict[str, list[float]]] = {}
        states = []
        for sh in self.sc.shoppers:
            gate = self.gates[sh.entry_gate]
            # keep right through a door: in on one side of its middle, out on the other
            start = gate.center - gate.normal * 1.1 + _keep_right(gate)
            inside = gate.center + gate.normal * 0.8 + _keep_right(gate)
            plan: list[_Step] = [_Step("walk", [start, inside])]
            pos = inside
            for act in sh.actions:
                if act.give_to:
                    plan.append(_Step("give", action=act))
                    continue
                stand = self._stand_point(act.stand_at or act.plate_id)
                plan.append(_Step("walk", self.grid.path(pos, stand)))
                plan.append(_Step("reach", action=act))
                pos = stand
            xg = self.gates[sh.exit_gate]
            out_side = -_keep_right(xg)
            plan.append(_Step("walk", self.grid.path(pos, xg.center + xg.normal * 0.6 + out_side)))
            plan.append(_Step("walk", [xg.center + xg.normal * 0.6 + out_side, xg.center - xg.normal * 1.2 + out_side]))
            states.append({"sh": sh, "plan": plan, "i": 0, "seg": 0, "pos": start.copy(), "facing": float(np.arctan2(*gate.normal[::-1])),
                           "t_step": 0.0, "done": False, "started": False, "wait": 0.0, "track": Track(sh.person_id, sh.token),
                           "crossed_in": False, "crossed_out": False, "held": None})
            held_units[sh.person_id] = {}
        t = 0.0
        while True:
            active = [s for s in states if not s["done"]]
            if not active:
                break
            for s in active:
                sh: Shopper = s["sh"]
                if t < sh.enter_at:
                    continue
                others = self._others(s, states)
                if not s["started"] and len(others) and np.min(np.linalg.norm(others - s["pos"], axis=1)) < SOFT_GAP:
                    continue  # someone is leaving through this door: come in a moment later
                s["started"] = True
                self._advance(s, t, states, changes, truth, held_units)
                pose = self._pose(s, t)
                s["track"].t.append(round(t, 4))
                s["track"].poses.append(pose)
                self._gates(s, t, gates_ev, exits)
            t += DT
            if t > 3600:
                break
        tracks = [s["track"] for s in states]
        end = max((tr.t[-1] for tr in tracks if tr.t), default=0.0)
        gates_ev.sort()
        return Timeline(tracks, changes, truth, gates_ev, exits, end, self.initial_load, self.handovers)

    def _gates(self, s: dict, t: float, gates_ev: list, exits: dict) -> None:
        sh: Shopper = s["sh"]
        pos = s["pos"]
        if not s["crossed_in"]:
            g = self.gates[sh.entry_gate]
            if (pos - g.center) @ g.normal >= 0:
                s["crossed_in"] = True
                gates_ev.append((t + self._gate_delay(), g.id, 0, sh.token))
        elif s["i"] >= len(s["plan"]) - 1 and not s["crossed_out"]:
            g = self.gates[sh.exit_gate]
            if (pos - g.center) @ g.normal < 0:
                s["crossed_out"] = True
                exits[sh.person_id] = t
                gates_ev.append((t + self._gate_delay(), g.id, 1, ""))

    def _gate_delay(self) -> float:
        """How late (or early) a gate stamps a crossing."""
        jitter = self.sc.sensors.gate_stamp_s
        return self.sc.sensors.gate_latency_s + float(self.rng.uniform(-jitter, jitter))

    def _others(self, s: dict, states: list, standing: bool = False) -> np.ndarray:
        """Where everyone else in the store is (standing: only those not walking)."""
        pts = [o["pos"] for o in states if o is not s and o["started"] and not o["done"]
               and not (standing and o["i"] < len(o["plan"]) and o["plan"][o["i"]].kind == "walk")]
        return np.array(pts).reshape(-1, 2)

    def _step(self, s: dict, target: np.ndarray, move: float, others: np.ndarray) -> np.ndarray | None:
        """The next position toward `target`: straight if the way is clear, else the
        heading closest to it that keeps heads apart; None when no step does."""
        vec = target - s["pos"]
        dist = float(np.linalg.norm(vec))
        if dist < 1e-9:
            return s["pos"].copy()
        unit = vec / dist
        stuck = s["wait"] > 3.0  # after a while, step aside or back to let others through
        angles = (0.0, 0.35, -0.35, 0.7, -0.7, 1.1, -1.1, 1.57, -1.57) + ((2.2, -2.2, 3.14) if stuck else ())
        d_now = np.linalg.norm(others - s["pos"], axis=1) if len(others) else np.zeros(0)
        # a jam that lasts (a crowd meeting in a narrow aisle) is let through by passing a
        # little closer than HARD_GAP, shoulders turned, as people do
        keeps = (SOFT_GAP, HARD_GAP) if not stuck else (HARD_GAP,) if s["wait"] < 10.0 else (HARD_GAP, JAM_GAP)
        for keep in keeps:
            for angle in angles:
                c, sn = np.cos(angle), np.sin(angle)
                step = np.array([c * unit[0] - sn * unit[1], sn * unit[0] + c * unit[1]]) * min(move, dist)
                cand = s["pos"] + step
                if angle != 0.0 and not self.grid.free[self.grid.cell(cand)]:
                    continue
                if len(others):
                    d_next = np.linalg.norm(others - cand, axis=1)
                    if np.any((d_next < keep) & (d_next < d_now)):
                        continue
                return cand
        return None

    def _advance(self, s: dict, t: float, states: list, changes: list, truth: list, held_units: dict) -> None:
        plan = s["plan"]
        if s["i"] >= len(plan):
            s["done"] = True
            return
        step = plan[s["i"]]
        sh: Shopper = s["sh"]
        if step.kind == "walk":
            if s["seg"] == 0 and float(np.linalg.norm(step.path[0] - s["pos"])) > 0.3:
                # not where this walk was planned from (after a handover, a sidestep): re-plan
                step.path = self.grid.path(s["pos"], step.path[-1])
            path = step.path
            others = self._others(s, states)
            next_is_reach = s["i"] + 1 < len(plan) and plan[s["i"] + 1].kind == "reach"
            # progress along the path: the furthest of the next waypoints already reached
            # (or passed beside, after a detour around someone). The place of a timed reach
            # or of one from beside a plate counts only when there: neighbours side by side
            # stand where they reach from, not a step short of it (that would bring them
            # within SOFT_GAP of the next one's place); anywhere else a step short will do,
            # and keeps crowds flowing.
            nxt_act = plan[s["i"] + 1].action if next_is_reach else None
            last = len(path) - 1 if nxt_act is not None and (nxt_act.sync or nxt_act.stand_at) else len(path)
            window = np.linalg.norm(np.array(path[s["seg"] : min(s["seg"] + 10, last)]).reshape(-1, 2) - s["pos"], axis=1)
            reached = np.flatnonzero(window < 0.2)
            if len(reached):
                s["seg"] += int(reached[-1])
            if s["seg"] >= len(path) - 1 or float(np.linalg.norm(path[-1] - s["pos"])) < 0.03:
                s["i"] += 1
                s["seg"] = 0
                s["t_step"] = t
                return
            goal_d = float(np.linalg.norm(path[-1] - s["pos"]))
            standing = self._others(s, states, standing=True)
            if next_is_reach and goal_d < 0.7 and len(standing) and np.min(np.linalg.norm(standing - path[-1], axis=1)) < SOFT_GAP:
                # someone stands at the plate (not just walking by): reach from here, beside
                # them, into the part of the plate nearest (a long arm: waiting for a turn
                # instead jams crowded aisles in this simple walker)
                s["i"] += 1
                s["seg"] = 0
                return
            # head for a point a little ahead on the path (smooth, and back to it after a detour)
            ahead = min(s["seg"] + 4, len(path) - 1)
            nxt = self._step(s, path[ahead] if ahead < len(path) - 1 or goal_d > 0.05 else path[-1], sh.speed * DT, others)
            if nxt is None:
                s["wait"] += DT
                # (a stand-off that lasts, e.g. a crowd in a dead end, is resolved by
                # squeezing past: rare, and better than a frozen store)
                if s["wait"] < 20.0:
                    return
                nxt = s["pos"] + (path[ahead] - s["pos"]) / max(float(np.linalg.norm(path[ahead] - s["pos"])), 1e-9) * sh.speed * DT
            straight = path[ahead] - s["pos"]
            moved = nxt - s["pos"]
            if float(np.linalg.norm(moved)) > 1e-9:
                s["facing"] = float(np.arctan2(moved[1], moved[0]))
            # waiting counts down only while the way ahead is really open
            s["wait"] = 0.0 if float(moved @ straight) > 0.7 * float(np.linalg.norm(moved) * np.linalg.norm(straight)) else s["wait"] + DT
            s["pos"] = nxt
            return
        if step.kind == "give":
            self._give(s, t, states, held_units)
            return
        # A reach: timings relative to its start.
        act = step.action
        if "reach" not in s or s["reach"]["act"] is not act:
            if self._waits(s, act, t, held_units):
                return
            s["reach"] = self._plan_reach(act, t, sh, changes, truth, held_units, s["pos"])
        r = s["reach"]
        if t >= r["end"]:
            s["i"] += 1
            s["reach"] = {"act": None}
            s["held"] = None

    def _waits(self, s: dict, act: Action, t: float, held_units: dict) -> bool:
        """Whether the shopper still stands at the plate before reaching (facing it)."""
        w = s.get("waiting")
        if w is None or w["act"] is not act:
            w = s["waiting"] = {"act": act, "since": t, "go_at": None}
            if act.sync:
                self.sync_ready.setdefault(act.sync, {})[s["sh"].person_id] = t
        plate = self.plates[act.plate_id]
        s["facing"] = float(np.arctan2(-plate.front_normal[1], -plate.front_normal[0]))
        if act.sync:
            if w["go_at"] is None:
                ready = self.sync_ready[act.sync]
                if len(ready) >= self.sync_size[act.sync]:
                    w["go_at"] = max(ready.values()) + act.lag_s  # the same moment for every partner
                elif t - w["since"] >= SYNC_WAIT_S:
                    w["go_at"] = t + act.lag_s  # a partner is held up: go alone
            if w["go_at"] is None or t < w["go_at"]:
                return True
        if t - w["since"] >= UNITS_WAIT_S:
            return False
        if act.n > 0:  # you cannot take what is not there (yet)
            arriving = sum(1 for t_land in self.landing.get((act.plate_id, act.sku), ()) if t_land > t)
            return len(self.stock[act.plate_id].get(act.sku, [])) - arriving < act.n
        if act.n < 0:  # nor put back what you do not hold (yet)
            return len(held_units[s["sh"].person_id].get(act.sku, [])) < -act.n
        return False

    def _give(self, s: dict, t: float, states: list, held_units: dict) -> None:
        """Walk up to the receiver, both hold out a hand for a moment, units change hands."""
        act, sh = s["plan"][s["i"]].action, s["sh"]
        other = next((o for o in states if o["sh"].person_id == act.give_to), None)
        g = s.get("give")
        if g is None:
            if other is None or not other["started"] or other["done"] or other["i"] >= len(other["plan"]) - 2:
                s["i"] += 1  # the receiver is not in the store (any more): no handover
                return
            g = s["give"] = {"path": [], "planned": -1.0, "meet": None}
        if g["meet"] is None:
            gap = float(np.linalg.norm(other["pos"] - s["pos"]))
            if gap < 0.7:
                mid = (s["pos"] + other["pos"]) / 2.0
                g["meet"] = (t, np.array([*mid, 1.05]))
                other["offer"] = (t, t + 1.2, g["meet"][1])
            else:
                if t - g["planned"] > 0.5:  # the receiver moves: re-plan now and then
                    g["path"], g["planned"] = self.grid.path(s["pos"], other["pos"]), t
                    g["seg"] = 0
                path = g["path"]
                while g["seg"] < len(path) - 1 and float(np.linalg.norm(path[g["seg"]] - s["pos"])) < 0.15:
                    g["seg"] += 1
                nxt = self._step(s, path[min(g["seg"] + 2, len(path) - 1)], sh.speed * DT, self._others(s, states))
                if nxt is None:
                    s["wait"] += DT
                    if s["wait"] > 20.0:
                        s["i"] += 1
                        s.pop("give")
                    return
                moved = nxt - s["pos"]
                if float(np.linalg.norm(moved)) > 1e-9:
                    s["facing"] = float(np.arctan2(moved[1], moved[0]))
                s["pos"] = nxt
                return
        t0, _ = g["meet"]
        if t >= t0 + 1.2:
            mine = held_units[sh.person_id].setdefault(act.sku, [])
            theirs = held_units[act.give_to].setdefault(act.sku, [])
            n = min(act.n, len(mine))
            for _ in range(n):
                theirs.append(mine.pop())
            if n:
                self.handovers.append(Handover(t0 + 0.6, sh.person_id, act.give_to, act.sku, n))
            s["i"] += 1
            s.pop("give")

    def _plan_reach(self, act: Action, t0: float, sh: Shopper, changes: list, truth: list, held_units: dict, pos: np.ndarray) -> dict:
        plate = self.plates[act.plate_id]
        rng = self.rng
        hand = self._hand_point(act, plate, float(rng.uniform(-1, 1)), pos)
        out_s, back_s = float(rng.uniform(0.4, 0.7)), float(rng.uniform(0.4, 0.7))
        touch = t0 + out_s
        if act.n == 0:
            release = self._touch(act, touch, changes)
        else:
            release = self._move_units(act, touch, sh, changes, truth, held_units)
        carry = "out" if act.n > 0 else "in" if act.n < 0 else ""  # a product in the hand: after a take, before a return
        return {"act": act, "start": t0, "touch": touch, "release": release, "end": release + back_s + act.linger_s,
                "hand": hand, "out": out_s, "back": back_s, "sku": act.sku, "carry": carry}

    def _hand_point(self, act: Action, plate: Plate, u: float, pos: np.ndarray) -> np.ndarray:
        """The hand tip at the plate's front edge, a hand's height above the plate: at `u`
        (-1..1) along the front, or, reaching from beside it (a neighbour's place, or beside
        someone at the plate), on the part of the plate nearest to the shopper at `pos`."""
        reach = max(plate.size[0] / 2 - 0.06, 0.0)
        side = u * reach
        if act.stand_at or float(np.linalg.norm(pos - stand_point(plate))) > 0.1:
            side = float(np.clip((pos - plate.front_center[:2]) @ plate.along, -reach, reach))
        return np.array([*(plate.front_center[:2] + plate.along * side - plate.front_normal * 0.02), plate.center[2] + 0.1])

    def _touch(self, act: Action, touch: float, changes: list) -> float:
        """Fingers brush the goods (a little weight for a moment) or, with `press`, the
        hand leans on the plate; the load comes back, no unit moves. Returns the release."""
        rng = self.rng
        if act.press:
            dur, grams = float(rng.uniform(1.0, 2.5)), float(rng.uniform(300, 1500))
        else:
            dur, grams = float(rng.uniform(0.3, 0.8)), float(rng.uniform(20, 120))
        changes.append(PlateChange(act.plate_id, touch, touch + dur, grams, press=True))
        return touch + dur + float(rng.uniform(0.2, 0.5))

    def _move_units(self, act: Action, touch: float, sh: Shopper, changes: list, truth: list, held_units: dict) -> float:
        """Units leave the plate for the hand (a take) or the other way (a put-back), with
        the truth events; returns when the hand lets go."""
        rng = self.rng
        cursor = touch
        if act.press:
            changes.append(PlateChange(act.plate_id, touch, touch + float(rng.uniform(0.25, 0.6)), float(rng.uniform(150, 600)), press=True))
            cursor += 0.7
        ramp = float(rng.uniform(2.0, 3.0)) if act.slow else float(rng.uniform(0.15, 0.35))
        units = self.stock[act.plate_id].setdefault(act.sku, [])
        grams = 0.0
        mine = held_units[sh.person_id].setdefault(act.sku, [])
        returned: list[Unit] = []
        for _ in range(abs(act.n)):
            if act.n > 0:
                w = units.pop(int(rng.integers(len(units)))) if units else float(self.catalog.by_sku[act.sku].weight_g)
                mine.append(Unit(w, sh.person_id, sh.token))
                grams -= w
            else:
                u = mine.pop() if mine else Unit(float(self.catalog.by_sku[act.sku].weight_g), sh.person_id, sh.token)
                returned.append(u)
                units.append(u.weight)
                grams += u.weight
        changes.append(PlateChange(act.plate_id, cursor, cursor + ramp, grams))
        if act.n < 0:
            self.landing.setdefault((act.plate_id, act.sku), []).extend([cursor + ramp] * -act.n)
        t_ev = cursor + ramp / 2
        if act.n > 0:
            truth.append(TruthEvent(t_ev, sh.person_id, sh.token, act.plate_id, act.sku, act.n, sh.token, sh.person_id))
        else:  # a put-back counts against whoever took each unit (a handed-over one: its giver)
            by_taker: dict[tuple[str, str], int] = {}
            for u in returned:
                by_taker[(u.taker_id, u.taker_token)] = by_taker.get((u.taker_id, u.taker_token), 0) + 1
            for (taker, token), n in by_taker.items():
                truth.append(TruthEvent(t_ev, sh.person_id, sh.token, act.plate_id, act.sku, -n, token, taker))
        return cursor + ramp + float(rng.uniform(0.2, 0.5))

    def _pose(self, s: dict, t: float) -> PersonPose:
        sh: Shopper = s["sh"]
        hands: list[np.ndarray] = []
        held = None
        r = s.get("reach")
        facing = s["facing"]
        if r and r.get("act") is not None:
            plate = self.plates[r["act"].plate_id]
            facing = float(np.arctan2(-plate.front_normal[1], -plate.front_normal[0]))
            shoulder = np.array([*s["pos"], sh.height - 0.3])
            if t < r["touch"]:
                a = (t - r["start"]) / r["out"]
            elif t <= r["release"]:
                a = 1.0
            else:
                a = 1.0 - (t - r["release"]) / r["back"]
            a = float(np.clip(a, 0.0, 1.0))
            if a > 0.25:
                hands.append(shoulder + a * (r["hand"] - shoulder))
                # the product is in the hand on the way out of a take, or in of a return
                if (r["carry"] == "out" and t > r["release"]) or (r["carry"] == "in" and t < r["touch"]):
                    held = r["sku"]
        g = s.get("give")
        offer = (g["meet"][0], g["meet"][0] + 1.2, g["meet"][1]) if g and g.get("meet") else s.get("offer")
        if offer and offer[0] <= t <= offer[1] and not hands:
            hands.append(offer[2])
            held = s["plan"][s["i"]].action.sku if g and s["i"] < len(s["plan"]) else None
            to = offer[2][:2] - s["pos"]
            facing = float(np.arctan2(to[1], to[0]))
        return PersonPose(s["pos"].copy(), sh.height, facing, hands, held)
