"""`./walkout eval`: the scenario library through the offline replay, scored.

For each scenario: simulate -> rosbag2 bag -> `replay_bag` (the same path as
`./walkout replay`) -> receipts scored against the truth (per session and per item),
plate events scored against the true events (who, what, how many), tracks against the
true tracks (MOTA, IDF1, HOTA via TrackEval), and every receipt's and event's
probability paired with whether it was right, for calibration. Prints the numbers and
writes a markdown report with plots, per scenario type.

With `--fit`, the receipts of the even rounds of the suite fit the association's Platt
recalibration of basket confidence (`calibration_slope`, `calibration_offset`); the odd
rounds, held out, show what it does to receipt calibration and to the review rate.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from walkout_common.store import load_catalog, load_store

from .calibration import Reliability, approval_threshold, fit_platt, plot_reliability, reliability
from .doubt import doubt_section, doubt_sources
from .look_at import case_name, cases_section
from .pair_prior import pair_samples, pair_section
from .score import Score, receipt_items, score_events, score_receipts, truth_lines
from .track_metrics import rebind_truth, track_metrics
from .track_plot import plot_tracks

if TYPE_CHECKING:  # the simulator is imported where a bag is made, as everywhere here
    from walkout_sim.scenario import SensorConfig

ROOT = Path(__file__).resolve().parents[4]
COST_SILENT_ERROR = 50.0  # a wrong receipt charged silently, in reviewer-minutes
COST_REVIEW = 1.0
BIG_SESSIONS = 15  # scenario types this large run once per suite, not once per round


@dataclass(frozen=True)
class Case:
    kind: str  # a walkout_sim.library type
    seed: int
    round: int  # even rounds fit the calibration, odd rounds test it


def suite(sessions: int, first_seed: int = 1000) -> list[Case]:
    """Rounds of one scenario of every library type (large ones in the first round only)
    until about `sessions` sessions; another `first_seed` gives a fresh suite (held out
    from anything fitted on the default one)."""
    from walkout_sim.library import LIBRARY

    cases: list[Case] = []
    total, rnd = 0, 0
    while total < sessions:
        for name, t in LIBRARY.items():
            if t.sessions >= BIG_SESSIONS and rnd > 0:
                continue
            cases.append(Case(name, first_seed + 97 * rnd + len(cases), rnd))
            total += t.sessions
            if total >= sessions:
                break
        rnd += 1
    return cases


def reason_kind(reason: str) -> str:
    """A review reason's category, for the tally."""
    for key, label in (("low confidence", "low confidence"), ("unexplained weight", "unexplained weight change"),
                       ("matches no basket", "return matches no basket"), ("by no tracked shopper", "moved by no tracked shopper"),
                       ("returned than taken", "more returned than taken"), ("exit not seen", "exit not seen"),
                       ("still disturbed", "plate still disturbed at the exit"), ("binding uncertain", "binding uncertain")):
        if key in reason:
            return label
    return "other (flagged, ...)"


def error_kind(got: dict[str, dict[str, int]], want: dict[str, dict[str, int]]) -> str:
    """What a wrong plate event got wrong: who, what, both, or an event that was none."""
    if not want:
        return "no item moved (phantom)"
    if not got:
        return "nobody billed"
    if len(want) > 1 or len(got) > 1:
        return "several shoppers in one event"

    def units(d: dict[str, dict[str, int]]) -> list[tuple[str, int]]:
        return sorted((sku, n) for skus in d.values() for sku, n in skus.items())

    if units(got) == units(want):
        return "wrong shopper"
    return "wrong product or count" if set(got) == set(want) else "wrong shopper and product"


@dataclass(frozen=True)
class BagOptions:
    """How the suite's bags are simulated, over each scenario's own sensor settings."""

    depth_hz: float = 10.0  # depth frame rate (the contract allows 10 to 30 Hz)
    depth_size: tuple[int, int] | None = None  # depth image (width, height); None: the scenario's own
    load_cells: tuple[float, int] | None = None  # (Hz, samples a batch); None: the scenario's own
    load_cell_step_g: float = 0.0  # load cells that report in steps of this (a scale's division; 0: not rounded)
    load_cell_filter: float = 0.0  # load-cell noise correlated reading to reading (AR(1) coefficient; 0: independent)
    clock_edges: bool = False  # shelf clocks up to 50 ms off the cameras', gate stamps up to 0.5 s off
    gate_latency_s: float = 0.0  # every gate stamp this late (early if < 0), jitter cut to stay within 0.5 s
    color_hz: float = 0.0  # color images from the stores' color cameras at this rate (0: none; the contract makes them optional)
    varied_bodies: bool = False  # each person's own build (bodies.varied_build), not the simulator's one

    def apply(self, sensors: SensorConfig) -> SensorConfig:
        sensors = replace(sensors, depth_hz=self.depth_hz, color_hz=self.color_hz, varied_bodies=self.varied_bodies)
        if self.depth_size is not None:
            sensors = replace(sensors, depth_size=self.depth_size)
        if self.load_cell_step_g > 0:
            sensors = replace(sensors, load_cell_step_g=self.load_cell_step_g)
        if self.load_cell_filter > 0:
            sensors = replace(sensors, load_cell_filter=self.load_cell_filter)
        if self.load_cells is not None:
            sensors = replace(sensors, load_cell_hz=self.load_cells[0], load_cell_batch=self.load_cells[1])
        if self.clock_edges:
            sensors = replace(sensors, shelf_clock_s=0.05, gate_stamp_s=0.5)
        if self.gate_latency_s:
            jitter = min(sensors.gate_stamp_s, 0.5 - abs(self.gate_latency_s))
            sensors = replace(sensors, gate_latency_s=self.gate_latency_s, gate_stamp_s=jitter)
        return sensors


def case_bag(case: Case, folder: Path, options: BagOptions = BagOptions()) -> tuple[Path, dict]:
    """The case's simulated bag in `folder` and its truth, its sensors as `options` say:
    recorded unless a finished one is there already (the simulator is deterministic per
    seed, so a kept bag is the same)."""
    from walkout_sim.bag import TRUTH_FILE, record_bag
    from walkout_sim.library import LIBRARY

    bag = folder / case_name(case.kind, case.seed)
    if (bag / TRUTH_FILE).is_file():
        return bag, json.loads((bag / TRUTH_FILE).read_text())
    kind = LIBRARY[case.kind]
    store_dir = ROOT / "calibration" / kind.store
    store = load_store(store_dir / "store.yaml")
    catalog = load_catalog(store_dir / "catalog.yaml", store)
    sc = kind.build(store, catalog, case.seed)
    sc.sensors = options.apply(sc.sensors)
    return bag, record_bag(store, catalog, sc, bag)


def run_case(case: Case, bags: Path | None = None, options: BagOptions = BagOptions(), plots: Path | None = None,
             slips: float = 0.0, params: Path | None = None) -> dict:
    """One scenario through the replay (parameters from the nodes' files, overridden by
    `params`), scored; its tracks plotted into `plots` when given; its held receipts
    decided by reviewers who slip on `slips` of them (`linked_reviews`)."""
    from walkout_sim.library import LIBRARY

    from .replay import replay_bag

    store = LIBRARY[case.kind].store
    store_dir = ROOT / "calibration" / store
    with tempfile.TemporaryDirectory(prefix="walkout-eval-") as tmp:
        bag, truth = case_bag(case, bags or Path(tmp), options)
        doc, pipeline, timing = replay_bag(bag, store_dir / "store.yaml", store_dir / "catalog.yaml", params, progress=False)
    true_log = [(p[0], pid, p[1], p[2]) for pid, tr in truth["tracks"].items() for p in tr["points"]]
    floor = (pipeline.store.floor_min, pipeline.store.floor_max)  # scored where the store tracks people
    tm = track_metrics(true_log, pipeline.track_log, region=floor)
    if plots is not None:
        plots.mkdir(parents=True, exist_ok=True)
        plot_tracks(pipeline.store, true_log, pipeline.track_log, str(plots / f"{case_name(case.kind, case.seed)}.png"),
                    f"{case.kind}, seed {case.seed}: MOTA {tm['MOTA']:.2f}, IDF1 {tm['IDF1']:.2f}, HOTA {tm['HOTA']:.2f}")
    truth_by = {r["session_token"]: r for r in truth["receipts"]}
    events, missed = score_events(pipeline.event_records, truth["events"])
    sessions = []
    for r in doc["receipts"]:
        t = truth_by.get(r["session_token"])
        if t is None or r["status"] == "open":
            continue
        known = r["session_token"] in pipeline.associator.sessions
        raw = pipeline.associator.raw_confidence(r["session_token"])[0] if known else 1.0
        exact = receipt_items(r) == receipt_items(t)  # as score_receipts judges it
        other = [x for x in r["review_reasons"] if reason_kind(x) != "low confidence"]
        sessions.append({"token": r["session_token"], "confidence": r["confidence"], "exact": exact, "status": r["status"],
                         "raw": raw, "reasons": r["review_reasons"], "blocking": bool(other),
                         **({**review_pointers(pipeline, r, t), "doubt": doubt_sources(pipeline.associator, r["session_token"])}
                            if known and r["status"] == "review" else {})})
    want = {e.event_id: e.want for e in events}
    rng = random.Random(f"{case.kind}-{case.seed}-{case.round}")  # the same slips on every run
    settled = linked_reviews(pipeline, doc, truth_by, want, slips, rng)  # last: reviews change the association's state
    for s in sessions:
        s.update(settled.get(s["token"], {}))
    return {
        "case": {**case.__dict__, "store": store},
        "score": score_receipts(doc, truth).__dict__,
        "tracks": tm,
        "sessions": sessions,
        "events": [(e.probability, e.correct) for e in events],
        "choices": choices(pipeline.event_records, events),
        "pairs": pair_samples(pipeline.associator, pipeline.event_records, events),
        "pair_priors": pipeline.associator.two_actor_priors(),
        "wrong_events": [{"id": e.event_id, "p": e.probability, "got": e.got, "want": e.want, "kind": error_kind(e.got, e.want)}
                         for e in events if not e.correct],
        "missed_events": missed,
        "speed": timing["speed"],
        "receipt_delays": pipeline.receipt_delays,
        "approved_delays": pipeline.approved_delays,
        "amended": sorted(r.session_token for r in pipeline.receipts if r.revision > 1),  # issued again: back open after it
        "rebinds": rebind_truth(pipeline.tracker.rebinds, pipeline.track_log, true_log, {pid: tr["token"] for pid, tr in truth["tracks"].items()}),
        "units_per_act": units_per_act(truth["events"]),
    }


def review_pointers(pipeline: Any, receipt: dict, truth: dict) -> dict:
    """For a held receipt: the products its low-confidence reason names (bridge.named_doubts:
    uncertain lines, products it may hold more of), whether any reason points somewhere
    (those, or a cause: a binding, an unexplained change...), and the products it got wrong."""
    from walkout_checkout.bridge import named_doubts

    basket = pipeline.associator.basket(receipt["session_token"])
    lines, maybe, _ = named_doubts(basket, pipeline.checkout.params.line_threshold)
    named = sorted({ln.sku for ln in lines + maybe})
    causes = [x for x in receipt["review_reasons"] if reason_kind(x) != "low confidence"]
    got, want = receipt_items(receipt), receipt_items(truth)
    wrong = sorted(k for k in set(got) | set(want) if got[k] != want[k])
    return {"named": named, "pointed": bool(named or causes), "wrong_skus": wrong,
            "binding_named": any(reason_kind(x) == "binding uncertain" for x in causes)}


def true_readings(associator: Any, token: str, want: dict[str, dict]) -> list[tuple[str, str]]:
    """What a perfect reviewer says happened in the plate events of `token` the console asks
    about (readings that bill differently, the likeliest below `ASK_BELOW`, no reviewer's
    word on it yet): (event id, the reading whose basket changes are the truth's, `want` by
    event id), for the events whose true reading the console lists."""
    from walkout_checkout.web import ASK_BELOW

    out = []
    for rec in associator.sessions[token].events if token in associator.sessions else []:
        effects = [({t: dict(v) for t, v in h.effects().items() if t}, h.label()) for h in rec.listed()]
        truth = want.get(rec.event.event_id)
        if truth is None or rec.decided or rec.best.probability >= ASK_BELOW or len({repr(sorted(e.items())) for e, _ in effects}) < 2:
            continue
        label = next((lab for e, lab in effects if e == truth), None)
        if label is not None:
            out.append((rec.event.event_id, label))
    return out


def _lines_are(lines: list, truth: dict) -> bool:
    """Whether receipt lines bill what a truth receipt holds (units by sku)."""
    return receipt_items({"items": [{"sku": ln.sku, "qty": ln.quantity} for ln in lines]}) == receipt_items(truth)


def slipped_readings(associator: Any, said: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A reviewer who slips takes the association's likeliest reading of each event asked
    about for the truth."""
    return [(event_id, rec.best.label() if (rec := associator.record(event_id)) is not None else reading)
            for event_id, reading in said]


def linked_reviews(pipeline: Any, doc: dict, truth_by: dict, want: dict[str, dict] | None = None,
                   slips: float = 0.0, rng: random.Random | None = None) -> dict[str, dict]:
    """Reviewers deciding the held receipts in exit order, each as the truth has it (a
    perfect reviewer), through `Pipeline.review`, and saying what happened in each of its
    uncertain plate events (`true_readings`, from `want`: the true basket changes by event
    id): a decision may settle the receipts of sessions that shared an event with the one
    decided, and those are approved with no person looking. A reviewer slips on a receipt
    with probability `slips` (drawn from `rng`): they approve it as the association billed
    it and take its likeliest reading of each event asked about (`slipped_readings`). Per
    held receipt: `settled` (approved so, never reviewed) and then `settled_exact` (its
    receipt as approved against the truth), else the confidence it had when a person took
    it up (the earlier decisions may have raised it) and `decided_exact` (the person's
    decision against the truth)."""
    out: dict[str, dict] = {}
    rng = rng or random.Random(0)
    for r in doc["receipts"]:
        token, t = r["session_token"], truth_by.get(r["session_token"])
        if r["status"] != "review" or t is None:
            continue
        now = pipeline.checkout.db.receipt(token)
        if now is not None and now.status != "review":
            out[token] = {"settled": True, "settled_exact": _lines_are(now.lines, t)}
            continue
        said = true_readings(pipeline.associator, token, want or {})
        lines = truth_lines(t, pipeline.catalog)
        slipped = slips > 0 and rng.random() < slips and now is not None
        if slipped:
            lines, said = [ln for ln in now.lines if ln.quantity > 0], slipped_readings(pipeline.associator, said)
        decided = pipeline.review(token, lines, reviewer="eval", verdicts=said)
        exact = decided is not None and _lines_are(decided.lines, t)
        out[token] = {"settled": False, "confidence_at_review": now.confidence if now is not None else None, "verdicts": len(said),
                      "slipped": slipped, "decided_exact": exact}
    return out


def linked_review_line(sessions: list[dict], slips: float = 0.0) -> str:
    """How many held receipts a person must decide when one decision settles the sessions
    it shared events with (`linked_reviews`)."""
    held = [s for s in sessions if s["status"] == "review" and "settled" in s]
    settled = [s for s in held if s["settled"]]
    wrong = sum(not s["settled_exact"] for s in settled)
    n = max(len(sessions), 1)
    asked = [s.get("verdicts", 0) for s in held if not s["settled"]]
    slipped = [s for s in held if s.get("slipped")]
    who = (f"reviewers who slip on {slips:.0%} of receipts (approving them as billed, taking the likeliest reading of each event)"
           if slips else "a perfect reviewer")
    return (f"Reviews with linked settling ({who} deciding the held receipts in exit order, and saying what "
            f"happened in each of their uncertain plate events): "
            f"{len(held) - len(settled)} of {len(held)} held receipts need a person ({(len(held) - len(settled)) / n:.1%} of sessions); "
            f"{len(settled)} were approved without one once a session they shared an event with was decided, {wrong} of them wrong. "
            f"Those people answered {sum(asked)} questions about single plate events ({sum(a > 0 for a in asked)} receipts with any)"
            + (f"; they slipped on {len(slipped)} receipts, {sum(not s.get('decided_exact', True) for s in slipped)} of them decided wrong."
               if slips else "."))


def review_pointer_line(sessions: list[dict]) -> str:
    """How well the held receipts' reasons show a reviewer where to look."""
    held = [s for s in sessions if s["status"] == "review" and "pointed" in s]
    wrong = [s for s in held if s["wrong_skus"]]
    found = [s for s in wrong if set(s["wrong_skus"]) & set(s["named"]) or s["binding_named"]]
    return (f"Reasons that point nowhere (no uncertain line, no product it may hold more of, no cause): "
            f"{sum(not s['pointed'] for s in held)} of {len(held)} held receipts. Of the {len(wrong)} held receipts that were wrong, "
            f"{len(found)} name a product they got wrong, or an uncertain binding.")


def receipt_delay_line(delays: list[float], approved: list[float] | None = None) -> str:
    """How soon after the exit receipts were decided (sensor time; a session waits while a
    plate in its shopper's reach is still undecided), and of them the approved ones (the
    promise: a shopper's charge within a second of the exit)."""
    if not delays:
        return "Exit to receipt: no receipt issued."
    d = sorted(delays)
    late = sum(x > 1.0 for x in d)
    line = (f"Exit to receipt (sensor time, {len(d)} receipts): median {d[len(d) // 2]:.2f} s, "
            f"95th percentile {d[min(int(0.95 * len(d)), len(d) - 1)]:.2f} s, longest {d[-1]:.2f} s; {late} later than 1 s "
            "(waiting for a plate in reach to settle, or for a group member's ENTRY to bind).")
    if approved:
        a = sorted(approved)
        line += (f" Of the {len(a)} approved when issued: median {a[len(a) // 2]:.2f} s, longest {a[-1]:.2f} s, "
                 f"{sum(x > 1.0 for x in a)} later than 1 s.")
    return line


def amended_line(results: list[dict]) -> str:
    """Which receipts were issued again (a session back open after its receipt: a group
    member bound to the token after the others had left; or an approved receipt held as a
    correction: its session's basket, read again on what came after the exit, bills other
    lines)."""
    amended = [f"{r['case']['kind']} {r['case']['seed']} {token}" for r in results for token in r.get("amended", [])]
    return f"Receipts amended: {len(amended)}" + (f" ({', '.join(amended)})." if amended else ".")


def rebind_line(results: list[dict]) -> str:
    """How often a shopper seen again after an occlusion got their own session back, against
    how sure the tracker was (its choice among the LOST tracks, times no takeover)."""
    pairs = [(p, ok) for r in results for p, ok in r.get("rebinds", [])]
    if not pairs:
        return "Re-bindings (a shopper seen again after an occlusion): none with a true shopper to check."
    sure = [ok for p, ok in pairs if p >= 0.9]
    return (f"Re-bindings (a shopper seen again after an occlusion): {len(pairs)} with a true shopper to check, "
            f"{sum(ok for _, ok in pairs)} right; predicted P(right) {sum(p for p, _ in pairs) / len(pairs):.2f} on average; "
            f"of the {len(sure)} predicted at 0.9 or more, {sum(sure)} right.")


def units_per_act(truth_events: list[dict]) -> list[int]:
    """Units each true act moved (a reach of one shopper at one plate, taking or putting
    back; the truth splits a put-back by the units' takers)."""
    acts: Counter = Counter()
    for e in truth_events:
        acts[(e["person"], e["plate"], round(e["t"], 2), e["n"] > 0)] += e["n"]
    return [abs(n) for n in acts.values()]


def choices(records: list, events: list) -> list[dict]:
    """Who-choice samples for `--fit`: per plate event with one true actor session, each
    candidate track's choice features and whether its session was the actor."""
    out = []
    by_id = {r.event.event_id: r for r in records}
    for ev in events:
        rec = by_id[ev.event_id]
        if len(ev.actors) != 1 or not rec.candidates:
            continue
        out.append({"features": [c.features.tolist() for c in rec.candidates], "actor": [c.session_token in ev.actors for c in rec.candidates]})
    return out


def _score(d: dict) -> Score:
    s = Score()
    for k, v in d.items():
        setattr(s, k, v)
    return s


def main(args: argparse.Namespace) -> int:
    cases = suite(args.sessions, args.first_seed)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    print(f"walkout eval: {len(cases)} scenarios of {len({c.kind for c in cases})} types, about {args.sessions} sessions, "
          f"{args.jobs} processes", flush=True)
    t0 = time.perf_counter()
    results = []
    options = BagOptions(depth_hz=args.depth_hz,
                         depth_size=args.depth_size,
                         load_cells=args.load_cells,
                         load_cell_step_g=args.load_cell_step, load_cell_filter=args.load_cell_filter,
                         clock_edges=args.clock_edges,
                         gate_latency_s=args.gate_latency,
                         color_hz=args.color_hz,
                         varied_bodies=args.varied_bodies)
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for i, res in enumerate(pool.map(partial(run_case, bags=args.bags, options=options, plots=out / "tracks", slips=args.reviewer_slips, params=args.params), cases), 1):
            results.append(res)
            s = _score(res["score"])
            print(f"  [{i}/{len(cases)}] {res['case']['kind']:14s} seed {res['case']['seed']}: {s.summary()}", flush=True)
    wall = time.perf_counter() - t0
    (out / "results.json").write_text(json.dumps(results, indent=1))
    print(write_report(results, out, wall, fit=args.fit, slips=args.reviewer_slips, bags=args.bags, params=args.params))
    return 0


def _rates(sessions: list[dict], threshold: float, slope: float = 1.0, offset: float = 0.0) -> tuple[int, int, int, int]:
    """(sessions, approved & right, approved & wrong, review) when each session's raw
    confidence is recalibrated with (slope, offset) and approved above `threshold`."""
    from walkout_association.associator import recalibrated

    ok = wrong = review = 0
    for s in sessions:
        conf = recalibrated(s["raw"], slope, offset)
        if conf >= threshold and not s["blocking"]:
            ok += int(s["exact"])
            wrong += int(not s["exact"])
        else:
            review += 1
    return len(sessions), ok, wrong, review


def _calibration_lines(name: str, rel: Reliability, n: int, what: str) -> str:
    return f"{name} over {n} {what}: expected calibration error {rel.ece:.3f}, Brier score {rel.brier:.3f}"


def write_report(results: list[dict], out: Path, wall: float, fit: bool = False, slips: float = 0.0,
                 bags: Path | None = None, params: Path | None = None) -> str:
    from walkout_sim.library import LIBRARY

    kinds = sorted({r["case"]["kind"] for r in results})
    total = Score()
    lines = [
        "# Walkout evaluation",
        "",
        f"{len(results)} simulated scenarios of {len(kinds)} types in {wall:.0f} s. Every bag went through the offline replay "
        "(`./walkout replay`).",
        "",
        "| scenario type | store | scenarios | sessions | approved & right | approved & WRONG (silent) | review | open/missing | "
        "item P | item R | item F1 | events right | MOTA | IDF1 | HOTA |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for kind in kinds + ["all"]:
        rs = [r for r in results if kind == "all" or r["case"]["kind"] == kind]
        s = Score()
        for r in rs:
            s.add(_score(r["score"]))
        if kind == "all":
            total = s
        n = max(s.sessions, 1)
        ev = [ok for r in rs for _, ok in r["events"]]
        mean = {m: sum(r["tracks"][m] for r in rs) / len(rs) for m in ("MOTA", "IDF1", "HOTA")}
        store = "" if kind == "all" else rs[0]["case"]["store"]
        lines.append(
            f"| {'**all**' if kind == 'all' else kind} | {store} | {len(rs)} | {s.sessions} | {s.approved_correct / n:.1%} | "
            f"{s.approved_wrong / n:.1%} | {s.review / n:.1%} | {(s.open + s.missing) / n:.1%} | {s.precision:.3f} | "
            f"{s.recall:.3f} | {s.f1:.3f} | {sum(ev) / max(len(ev), 1):.1%} | {mean['MOTA']:.2f} | {mean['IDF1']:.2f} | "
            f"{mean['HOTA']:.2f} |"
        )
    lines += ["", "Scenario types:", ""]
    lines += [f"- **{k}** ({LIBRARY[k].store}): {LIBRARY[k].description}" for k in kinds if k in LIBRARY]

    sessions = [s for r in results for s in r["sessions"]]
    tally = Counter(reason_kind(x) for s in sessions if s["status"] == "review" for x in s["reasons"])
    held = [s for s in sessions if s["status"] == "review"]
    lines += ["", f"Why {len(held)} sessions went to review (a session can have several reasons):", ""]
    lines += [f"- {k}: {v}" for k, v in tally.most_common()]
    lines += ["", *doubt_section(results)]
    pairs = [tuple(x) for r in results for x in r.get("pairs", [])]
    lines += ["", *pair_section(pairs, next((tuple(r["pair_priors"]) for r in results if "pair_priors" in r), None))]
    lines += ["", review_pointer_line(sessions), "", linked_review_line(sessions, slips)]
    by_kind = {k: [s for r in results if r["case"]["kind"] == k for s in r["sessions"] if s["status"] == "review" and "settled" in s]
               for k in kinds}
    settled_by_kind = [f"{k} {len(v)} -> {sum(not s['settled'] for s in v)}" for k, v in by_kind.items() if any(s["settled"] for s in v)]
    if settled_by_kind:
        lines += ["", f"Held -> reviewed by a person, where a linked review settled some: {', '.join(settled_by_kind)}."]
    missed = sum(r["missed_events"] for r in results)
    wrong = Counter(w["kind"] for r in results for w in r["wrong_events"])
    n_ev = sum(len(r["events"]) for r in results)
    lines += ["", f"Plate events read wrong: {sum(wrong.values())} of {n_ev}:", ""]
    lines += [f"- {k}: {v}" for k, v in wrong.most_common()]
    lines += ["", f"True item events that no plate event explained: {missed}."]

    rel = reliability([s["confidence"] for s in sessions], [s["exact"] for s in sessions])
    plot_reliability(rel, str(out / "calibration.png"))
    ev_pairs = [p for r in results for p in r["events"]]
    ev_rel = reliability([p for p, _ in ev_pairs], [ok for _, ok in ev_pairs])
    plot_reliability(ev_rel, str(out / "events.png"), title="Plate event reading calibration", what="P(reading right)")
    thr = approval_threshold(COST_SILENT_ERROR, COST_REVIEW)
    speeds = sorted(r["speed"] for r in results)
    lines += [
        "",
        _calibration_lines("Receipt confidence calibration", rel, len(sessions), "closed sessions") + " (plot: calibration.png).",
        _calibration_lines("Plate event calibration (P of the recorded reading)", ev_rel, len(ev_pairs), "events") + " (events.png).",
        f"Approval threshold from a silent error costing {COST_SILENT_ERROR:.0f} reviews: p > {thr:.2f}.",
        f"Replay speed: median {speeds[len(speeds) // 2]:.1f}x real time.",
        receipt_delay_line([d for r in results for d in r.get("receipt_delays", [])],
                           [d for r in results for d in r.get("approved_delays", [])]),
        amended_line(results),
        rebind_line(results),
        "",
        "![calibration](calibration.png) ![events](events.png)",
    ]
    worst = min(results, key=lambda r: r["tracks"]["IDF1"])
    name = f"{case_name(worst['case']['kind'], worst['case']['seed'])}.png"
    if (out / "tracks" / name).is_file():
        lines += ["", f"Tracks of every scenario: `tracks/` (true paths grey, each track a colour). The worst by IDF1, "
                      f"{worst['case']['kind']} seed {worst['case']['seed']}:", "", f"![worst tracks](tracks/{name})"]
    lines += ["", *cases_section(results, bags, params)]
    if fit:
        lines += ["", *fit_section(results, out, thr)]
    text = "\n".join(lines) + "\n"
    (out / "report.md").write_text(text)
    return text + f"\nSilent errors {total.approved_wrong}/{total.sessions} sessions; report in {out / 'report.md'}\n"


def fit_section(results: list[dict], out: Path, thr: float) -> list[str]:
    """Fits who made each plate event (the association's choice weights) and the receipt
    recalibration on the even rounds; reports both on the odd rounds; writes what to ship
    (the choice fitted on all rounds, the recalibration on the even ones) to calibration_fit.yaml."""
    who_lines, who_yaml = fit_who_section(results)
    units_lines, units_yaml = fit_units_section(results)
    lines, platt_yaml = fit_platt_section(results, out, thr)
    (out / "calibration_fit.yaml").write_text(
        "# Fitted by ./walkout eval --fit; goes into walkout_association/config/association_node.yaml.\n"
        "# The receipt recalibration was fitted under the choice weights the run used: after shipping\n"
        "# new choice weights, run the eval again and fit it anew.\n" + who_yaml + units_yaml + platt_yaml)
    return who_lines + [""] + units_lines + [""] + lines


def fit_units_section(results: list[dict]) -> tuple[list[str], str]:
    """Units per reach: P(n units) is taken as proportional to count_decay^(n - 1); its
    maximum-likelihood value is (mean n - 1) / mean n."""
    units = [n for r in results for n in r.get("units_per_act", []) if n > 0]
    if not units:
        return [], ""
    mean = sum(units) / len(units)
    decay = (mean - 1.0) / mean
    tally = Counter(units)
    lines = ["## Units per reach (count_decay)", "",
             f"{len(units)} true acts: " + ", ".join(f"{tally[n]} of {n} unit{'s' * (n > 1)}" for n in sorted(tally))
             + f"; fitted count_decay {decay:.3f}"]
    return lines, f"count_decay: {decay:.4f}\n"


def fit_who_section(results: list[dict]) -> tuple[list[str], str]:
    import math

    import numpy as np

    from walkout_association.associator import AssociationParams
    from walkout_association.who import CHOICE_FEATURES, choice_weights

    from .fit_who import ChoiceSample, fit_choice, log_loss
    from .pipeline import node_params

    shipped = node_params(AssociationParams, "walkout_association", "association_node", None)
    start = np.r_[shipped.choice_bias, choice_weights(shipped)]
    nobody = math.log(shipped.nobody_likelihood)

    def samples(rounds: int | None) -> list[ChoiceSample]:
        return [ChoiceSample(np.array(c["features"]), np.array(c["actor"], dtype=bool)) for r in results
                if rounds is None or r["case"]["round"] % 2 == rounds for c in r.get("choices", [])]

    train, test = samples(0), samples(1)
    f = fit_choice(train, start, nobody)
    shipped_fit = fit_choice(train + test, start, nobody)
    names = ("choice_bias", *CHOICE_FEATURES)
    lines = [f"## Who made each plate event: choice weights ({f.n} single-actor events of the even rounds; held out: "
             f"{len(test)} of the odd rounds)", "",
             f"- mean -log P(true actor), even rounds: {f.log_loss_before:.4f} as run -> {f.log_loss_after:.4f} fitted",
             f"- held out: {log_loss(test, start[0], start[1:], nobody):.4f} as run -> {log_loss(test, f.bias, f.weights, nobody):.4f} fitted",
             "- fitted on all rounds (to ship): " + ", ".join(f"{n} {v:+.3f}" for n, v in zip(names, np.r_[shipped_fit.bias, shipped_fit.weights], strict=True))]
    yaml = "".join(f"{n}: {v:.4f}\n" for n, v in zip(names, np.r_[shipped_fit.bias, shipped_fit.weights], strict=True))
    return lines, yaml


def fit_platt_section(results: list[dict], out: Path, thr: float) -> tuple[list[str], str]:
    """Fits the receipt recalibration on the even rounds; reports it on the odd rounds."""
    from walkout_association.associator import AssociationParams, recalibrated

    from .pipeline import node_params

    train = [s for r in results if r["case"]["round"] % 2 == 0 for s in r["sessions"]]
    test = [s for r in results if r["case"]["round"] % 2 == 1 for s in r["sessions"]]
    f = fit_platt([s["raw"] for s in train], [s["exact"] for s in train])
    yaml = f"calibration_slope: {f.slope:.4f}\ncalibration_offset: {f.offset:.4f}\n"
    lines = [f"## Recalibration fit ({f.n} uncertain receipts of the even rounds; held out: {len(test)} receipts of the odd rounds)",
             "", f"p' = sigmoid({f.slope:.3f} * logit(p) + {f.offset:+.3f}); log loss {f.log_loss_before:.4f} -> "
             f"{f.log_loss_after:.4f} per receipt (written to calibration_fit.yaml).", ""]
    if not test:
        return lines, yaml
    shipped = node_params(AssociationParams, "walkout_association", "association_node", None)
    for name, (a, b) in (("without recalibration", (1.0, 0.0)),
                         (f"as shipped ({shipped.calibration_slope:.3f}, {shipped.calibration_offset:+.3f})",
                          (shipped.calibration_slope, shipped.calibration_offset)),
                         ("recalibrated", (f.slope, f.offset))):
        conf = [recalibrated(s["raw"], a, b) for s in test]
        rel = reliability(conf, [s["exact"] for s in test])
        n, ok, wrong, review = _rates(test, thr, a, b)
        lines.append(f"- held out, {name}: ECE {rel.ece:.3f}, Brier {rel.brier:.3f}; approved & right "
                     f"{ok / n:.1%}, approved & WRONG {wrong / n:.1%}, review {review / n:.1%}")
        if name == "recalibrated":
            plot_reliability(rel, str(out / "calibration_heldout.png"), title="Held-out receipts, recalibrated")
    lines += ["", "![held out](calibration_heldout.png)"]
    return lines, yaml
