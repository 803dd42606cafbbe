"""The eval report's "cases to look at": the receipts a store engineer would open first
(wrong and approved; wrong and held with the most confidence, the nearest to a silent
error; exact and held with the most, the nearest to an approval), each with the command
that replays its bag and the plot of its tracks. Never imports rclpy.
"""

from __future__ import annotations

from pathlib import Path


def case_name(kind: str, seed: int) -> str:
    """A scenario's name: its bag's folder under `--bags` and its track plot's stem."""
    return f"{kind}-{seed}"


def _name(r: dict) -> str:
    return case_name(r["case"]["kind"], r["case"]["seed"])


def replay_command(r: dict, bags: Path, params: Path | None = None) -> str:
    """`./walkout replay` of one scenario's bag in `bags`, with its store's files."""
    store = Path("calibration") / r["case"]["store"]
    extra = f" --params {params}" if params else ""
    return (f"./walkout replay {bags / _name(r)} --store {store / 'store.yaml'} --catalog {store / 'catalog.yaml'} "
            f"--out /tmp/{_name(r)}.json{extra}")


def cases_section(results: list[dict], bags: Path | None, params: Path | None = None, per_group: int = 5) -> list[str]:
    """The report's lines: per group, its receipts (most confident first) and how to see them."""
    rows = [(r, s) for r in results for s in r["sessions"]]
    groups = [
        ("approved and WRONG (silent errors)", [x for x in rows if x[1]["status"] == "approved" and not x[1]["exact"]]),
        ("wrong and held, the most confident (the nearest to a silent error)",
         [x for x in rows if x[1]["status"] == "review" and not x[1]["exact"]]),
        ("exact and held, the most confident (the nearest to an approval)",
         [x for x in rows if x[1]["status"] == "review" and x[1]["exact"]]),
    ]
    lines = ["Cases to look at:"]
    if bags is None:
        lines += ["", "(The bags were not kept. `./walkout eval` again with the same `--first-seed` and `--sessions` and "
                      "`--bags DIR` records the same bags and keeps them; the commands below then replay one.)"]
    for title, group in groups:
        lines += ["", f"- {title}: {len(group)}" + ("" if group else ", none")]
        for r, s in sorted(group, key=lambda x: -x[1]["confidence"])[:per_group]:
            reason = s["reasons"][0] if s["reasons"] else "no review reason"
            lines.append(f"  - {r['case']['kind']} seed {r['case']['seed']} ({r['case']['store']}), {s['token']} at "
                         f"{s['confidence']:.3f}: {reason}. Tracks: `tracks/{_name(r)}.png`; replay: "
                         f"`{replay_command(r, bags or Path('DIR'), params)}`")
    return lines
