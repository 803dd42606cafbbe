"""`./walkout` subcommands (the bash script sets up the environment, then calls this)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(os.environ.get("WALKOUT_ROOT", Path(__file__).resolve().parents[4]))
EXAMPLE_STORE = ROOT / "calibration" / "nanostore" / "store.yaml"
EXAMPLE_CATALOG = ROOT / "calibration" / "nanostore" / "catalog.yaml"


def cmd_test(args: argparse.Namespace) -> int:
    """ruff, then every pytest suite (core modules, nodes over rclpy, end to end)."""
    print("walkout: ruff check", flush=True)
    rc = subprocess.call([sys.executable, "-m", "ruff", "check", "ros2_ws/src", "tests", "launch"], cwd=ROOT)
    if rc:
        return rc
    suites = [str(p) for p in sorted((ROOT / "ros2_ws" / "src").glob("*/test")) if any(p.glob("test_*.py"))]
    suites.append(str(ROOT / "tests"))
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:dash", "--import-mode=importlib", *suites, *args.pytest_args]
    print("walkout: " + " ".join(cmd[2:]), flush=True)
    return subprocess.call(cmd, cwd=ROOT)


def cmd_replay(args: argparse.Namespace) -> int:
    from .replay import main as replay_main

    return replay_main(args)


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import main as demo_main

    return demo_main(args)


def cmd_sim(args: argparse.Namespace) -> int:
    from walkout_sim.cli import main as sim_main

    return sim_main(args.sim_args)


def _rate_batch(text: str) -> tuple[float, int]:
    """'100:20' -> (100.0, 20)."""
    try:
        hz, batch = text.split(":")
        return float(hz), int(batch)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HZ:BATCH (e.g. 100:20), got '{text}'") from None


def _gate_latency(text: str) -> float:
    """'0.4' -> 0.4, within the contract's 0.5 s."""
    try:
        s = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds (e.g. 0.4), got '{text}'") from None
    if not abs(s) <= 0.5:
        raise argparse.ArgumentTypeError(f"gate stamps are within 0.5 s of the crossing (the contract), got {s}")
    return s


def _depth_size(text: str) -> tuple[int, int]:
    """'640x480' -> (640, 480), at least the contract's 160x120."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT (e.g. 640x480), got '{text}'") from None
    if w < 160 or h < 120:
        raise argparse.ArgumentTypeError(f"depth images are at least 160x120 (the contract), got {w}x{h}")
    return w, h


def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluate import main as eval_main

    return eval_main(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="walkout", description="Walkout: open cashierless checkout on ROS 2")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("test", help="run every test")
    p.add_argument("pytest_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_test)

    p = sub.add_parser("replay", help="offline replay of a rosbag2 bag into the contract's receipts JSON")
    p.add_argument("bag", type=Path)
    p.add_argument("--store", type=Path, required=True)
    p.add_argument("--catalog", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--params", type=Path, default=None, help="parameter YAML overriding the defaults")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("demo", help="a simulated store through every node over ROS 2 topics")
    p.add_argument("--store", type=Path, default=EXAMPLE_STORE)
    p.add_argument("--catalog", type=Path, default=EXAMPLE_CATALOG)
    p.add_argument("--shoppers", type=int, default=4)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--rate", type=float, default=1.0, help="simulated seconds per wall second")
    p.add_argument("--verbose", action="store_true", help="show every node's log")
    p.add_argument("--no-review", dest="review", action="store_false",
                   help="skip the stand-in reviewer deciding the held receipts at the end")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("sim", help="simulate a store and record a rosbag2 bag (see ./walkout sim --help)")
    p.add_argument("sim_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_sim)

    p = sub.add_parser("eval", help="the scenario suite's accuracy report")
    p.add_argument("--sessions", type=int, default=200)
    p.add_argument("--out", type=Path, default=ROOT / "out" / "eval")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--first-seed", type=int, default=1000,
                   help="seed of the suite's first scenario: another one gives a fresh suite, held out from what --fit fitted")
    p.add_argument("--bags", type=Path, default=None,
                   help="keep the simulated bags in this folder and reuse those already there (a re-run only replays)")
    p.add_argument("--depth-hz", type=float, default=10.0,
                   help="depth frame rate of the simulated bags (the contract allows 10 to 30 Hz); "
                        "bags kept in --bags keep the rate they were made at")
    p.add_argument("--depth-size", type=_depth_size, default=None, metavar="WxH",
                   help="depth image size of the simulated bags (the contract: at least 160x120; default: each "
                        "scenario's own, 160x120); bags kept in --bags keep the size they were made at")
    p.add_argument("--load-cells", type=_rate_batch, default=None, metavar="HZ:BATCH",
                   help="load cells at this rate and batch size (the contract allows 30 to 100 Hz, 1 to 20 a "
                        "batch; default: each scenario's own, 60 Hz in 6s)")
    p.add_argument("--load-cell-step", type=float, default=0.0, metavar="G",
                   help="load cells that report in steps of G grams (a scale's division, e.g. 2 or 5; default 0: "
                        "not rounded); bags kept in --bags keep what they were made with")
    p.add_argument("--load-cell-filter", type=float, default=0.0, metavar="PHI",
                   help="load-cell noise correlated from reading to reading, as a load cell's filter makes it (AR(1), "
                        "PHI of the last reading's noise, its sd kept; default 0: independent)")
    p.add_argument("--clock-edges", action="store_true",
                   help="every shelf's clock up to 50 ms off the cameras' and gate events stamped up to 0.5 s off the "
                        "crossing (the contract's edges; default: each scenario's own)")
    p.add_argument("--gate-latency", type=_gate_latency, default=0.0, metavar="S",
                   help="every gate event stamped S seconds late (early if negative), |S| <= 0.5, the random part "
                        "of the stamp cut so that each stays within the contract's 0.5 s of the crossing")
    p.add_argument("--color-hz", type=float, default=0.0,
                   help="color images at this rate from the stores that have color cameras (the nanostore; default 0: "
                        "none, as the contract allows); bags kept in --bags keep what they were made with")
    p.add_argument("--varied-bodies", action="store_true",
                   help="every simulated person of their own build: head, arm and shoulder sizes, bent elbows, backpacks, "
                        "baskets (default: one build for all); bags kept in --bags keep what they were made with")
    p.add_argument("--params", type=Path, default=None, help="parameter YAML overriding the nodes' defaults (as replay's)")
    p.add_argument("--reviewer-slips", type=float, default=0.0, metavar="P",
                   help="the reviewers deciding held receipts slip on this share of them (approve as billed); 0: perfect")
    p.add_argument("--fit", action="store_true", help="fit the association's confidence recalibration (even rounds) and test it (odd)")
    p.set_defaults(func=cmd_eval)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["sim"]:  # the simulator parses its own options
        from walkout_sim.cli import main as sim_main

        return sim_main(argv[1:])
    if argv[:1] == ["test"]:  # everything after `test` goes to pytest
        return cmd_test(argparse.Namespace(pytest_args=argv[1:]))
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
