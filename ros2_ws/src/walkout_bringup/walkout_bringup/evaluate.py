"""`./walkout eval`: a suite of simulated sessions through the offline replay, scored.

For each scenario: simulate -> rosbag2 bag -> `replay_bag` (the same path as
`./walkout replay`) -> receipts scored against the truth (per session and per item),
tracks scored against the true tracks (MOTA, IDF1, HOTA via TrackEval), and every
receipt's confidence paired with whether it was exactly right, for calibration. Prints
the numbers and writes a markdown report with plots, per scenario type.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from walkout_common.store import load_catalog, load_store

from .calibration import approval_threshold, plot_reliability, reliability
from .score import Score, score_receipts
from .track_metrics import track_metrics

ROOT = Path(__file__).resolve().parents[4]


@dataclass(frozen=True)
class Case:
    kind: str
    store: str  # folder under calibration/
    shoppers: int
    seed: int
    group_prob: float = 0.15
    return_prob: float = 0.15


def suite(sessions: int) -> list[Case]:
    """Scenario mix for about `sessions` sessions: both stores, quiet to busy."""
    mix = [("solo", "nanostore", 1), ("pair", "nanostore", 2), ("busy", "nanostore", 5), ("corner", "corner_shop", 2)]
    cases, seed, total = [], 100, 0
    while total < sessions:
        for kind, store, n in mix:
            cases.append(Case(kind, store, n, seed))
            seed += 1
            total += max(1, round(n * 0.9))  # groups share tokens: fewer sessions than shoppers
            if total >= sessions:
                break
    return cases


def run_case(case: Case) -> dict:
    from walkout_sim.bag import record_bag
    from walkout_sim.scenario import SensorConfig, random_scenario

    from .replay import replay_bag

    store_dir = ROOT / "calibration" / case.store
    store = load_store(store_dir / "store.yaml")
    catalog = load_catalog(store_dir / "catalog.yaml", store)
    sensors = SensorConfig(depth_hz=10.0)
    sc = random_scenario(store, catalog, case.shoppers, case.seed, group_prob=case.group_prob, return_prob=case.return_prob,
                         sensors=sensors, arrival_gap_s=4.0)
    with tempfile.TemporaryDirectory(prefix="walkout-eval-") as tmp:
        truth = record_bag(store, catalog, sc, Path(tmp) / "bag")
        doc, pipeline, timing = replay_bag(Path(tmp) / "bag", store_dir / "store.yaml", store_dir / "catalog.yaml", progress=False)
    true_log = [(p[0], pid, p[1], p[2]) for pid, tr in truth["tracks"].items() for p in tr["points"]]
    tm = track_metrics(true_log, pipeline.track_log)
    truth_by = {r["session_token"]: r for r in truth["receipts"]}
    pairs = []
    for r in doc["receipts"]:
        t = truth_by.get(r["session_token"])
        if t is None or r["status"] == "open":
            continue
        exact = sorted((i["sku"], i["qty"]) for i in r["items"]) == sorted((i["sku"], i["qty"]) for i in t["items"])
        pairs.append((r["confidence"], exact))
    return {"case": case.__dict__, "score": score_receipts(doc, truth).__dict__, "tracks": tm, "pairs": pairs, "speed": timing["speed"]}


def _score(d: dict) -> Score:
    s = Score()
    for k, v in d.items():
        setattr(s, k, v)
    return s


def main(args: argparse.Namespace) -> int:
    cases = suite(args.sessions)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    print(f"walkout eval: {len(cases)} scenarios, about {args.sessions} sessions, {args.jobs} processes", flush=True)
    t0 = time.perf_counter()
    results = []
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for i, res in enumerate(pool.map(run_case, cases), 1):
            results.append(res)
            s = _score(res["score"])
            print(f"  [{i}/{len(cases)}] {res['case']['kind']:6s} seed {res['case']['seed']}: {s.summary()}", flush=True)
    wall = time.perf_counter() - t0
    (out / "results.json").write_text(json.dumps(results, indent=1))
    report = write_report(results, out, wall)
    print(report)
    return 0


def write_report(results: list[dict], out: Path, wall: float) -> str:
    kinds = sorted({r["case"]["kind"] for r in results})
    total = Score()
    lines = [
        "# Walkout evaluation",
        "",
        f"{len(results)} simulated scenarios in {wall:.0f} s. Every bag went through the offline replay (`./walkout replay`).",
        "",
        "| scenario type | sessions | approved & right | approved & WRONG (silent) | review | open/missing | item P | item R | item F1 | MOTA | IDF1 | HOTA |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for kind in kinds + ["all"]:
        rs = [r for r in results if kind == "all" or r["case"]["kind"] == kind]
        s = Score()
        for r in rs:
            s.add(_score(r["score"]))
        if kind == "all":
            total = s
        n = max(s.sessions, 1)
        mota = sum(r["tracks"]["MOTA"] for r in rs) / len(rs)
        idf1 = sum(r["tracks"]["IDF1"] for r in rs) / len(rs)
        hota = sum(r["tracks"]["HOTA"] for r in rs) / len(rs)
        lines.append(
            f"| {kind} | {s.sessions} | {s.approved_correct / n:.1%} | {s.approved_wrong / n:.1%} | {s.review / n:.1%} | "
            f"{(s.open + s.missing) / n:.1%} | {s.precision:.3f} | {s.recall:.3f} | {s.f1:.3f} | {mota:.3f} | {idf1:.3f} | {hota:.3f} |"
        )
    pairs = [p for r in results for p in r["pairs"]]
    rel = reliability([c for c, _ in pairs], [e for _, e in pairs])
    plot_reliability(rel, str(out / "calibration.png"))
    thr = approval_threshold(50.0, 1.0)
    speeds = sorted(r["speed"] for r in results)
    lines += [
        "",
        f"Receipt confidence calibration over {len(pairs)} closed sessions: expected calibration error {rel.ece:.3f}, "
        f"Brier score {rel.brier:.3f} (plot: calibration.png).",
        f"Approval threshold from a silent error costing 50 reviews: p > {thr:.2f}.",
        f"Replay speed: median {speeds[len(speeds) // 2]:.1f}x real time.",
        "",
        "![calibration](calibration.png)",
    ]
    text = "\n".join(lines) + "\n"
    (out / "report.md").write_text(text)
    return text + f"\nSilent errors {total.approved_wrong}/{total.sessions} sessions; report in {out / 'report.md'}\n"
