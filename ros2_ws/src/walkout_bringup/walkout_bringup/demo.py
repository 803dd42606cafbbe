"""`./walkout demo`: a simulated store through every node over ROS 2 topics.

The simulator publishes the contract's topics live (with /clock); the stack's nodes run
as separate processes, as `ros2 launch` would start them; this process listens to the
baskets and receipts, prints each receipt as its shopper leaves, and scores them
against the simulator's ground truth at the end.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import rclpy
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

from walkout_common.msgconv import stamp_to_sec
from walkout_msgs import msg as wm

from .plan import NodeSpec
from .runner import ProcessGroup, executable, ros_env, start_stack
from .score import score_receipts, truth_lines

LATCHED = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)


class ReceiptListener(Node):
    """Collects receipts and shows live basket totals, like the shopper's phone would."""

    def __init__(self) -> None:
        super().__init__("demo_listener")
        self.receipts: dict[str, dict] = {}
        self.revisions: dict[str, int] = {}  # token -> the latest receipt revision heard
        self.totals: dict[str, int] = {}
        self.store_id = ""
        self.create_subscription(wm.Receipt, "/checkout/receipts", self.on_receipt, LATCHED)
        self.create_subscription(wm.Basket, "/association/baskets", self.on_basket, LATCHED)

    def on_basket(self, msg: wm.Basket) -> None:
        if msg.open and self.totals.get(msg.session_token) != msg.total_cents:
            self.totals[msg.session_token] = msg.total_cents
            items = ", ".join(f"{ln.quantity}x {ln.name}" for ln in msg.lines) or "empty"
            print(f"  basket {msg.session_token}: {items}  total {msg.total_cents / 100:.2f} {msg.currency}", flush=True)

    def on_receipt(self, msg: wm.Receipt) -> None:
        known = self.receipts.get(msg.session_token)
        if known is not None and msg.revision < self.revisions.get(msg.session_token, 1):
            return  # an older revision; a later one amends it
        self.revisions[msg.session_token] = msg.revision
        self.store_id = msg.store_id
        doc = {
            "session_token": msg.session_token,
            "exit_stamp": round(stamp_to_sec(msg.header.stamp), 3),
            "status": msg.status,
            "confidence": round(float(msg.confidence), 4),
            "items": [{"sku": ln.sku, "qty": int(ln.quantity)} for ln in msg.lines if ln.quantity > 0],
            "total_cents": int(msg.total_cents),
            "review_reasons": list(msg.review_reasons),
        }
        if doc == known:
            return  # a duplicate (latched, published again)
        self.receipts[msg.session_token] = doc
        items = ", ".join(f"{ln.quantity}x {ln.name}" for ln in msg.lines) or "nothing"
        why = f"  ({'; '.join(msg.review_reasons)})" if msg.review_reasons else ""
        print(
            f"RECEIPT {msg.session_token} at t={doc['exit_stamp']:.1f} s{' (revised)' if known else ''}: {msg.status.upper()} "
            f"{items} = {msg.total_cents / 100:.2f} {msg.currency} (confidence {msg.confidence:.3f}){why}",
            flush=True,
        )


def review_held(listener: ReceiptListener, truth: dict, db_file: Path, catalog_file: Path) -> None:
    """A reviewer decides the held receipts in exit order, writing to the checkout's
    database as the console does; the simulator's truth stands in for what a person sees
    in the evidence. A decision may settle another held receipt: the checkout node sends
    it to the association, which reads that session again (README: "One review settles
    what two sessions shared")."""
    from walkout_checkout.store import ReceiptStore
    from walkout_common.store import load_catalog

    catalog = load_catalog(catalog_file)
    want = {r["session_token"]: r for r in truth["receipts"]}
    db = ReceiptStore(str(db_file))
    people = 0
    try:
        for doc in sorted(listener.receipts.values(), key=lambda d: d["exit_stamp"]):
            token = doc["session_token"]
            if listener.receipts[token]["status"] != "review" or token not in want:
                continue
            db.decide(token, "demo reviewer", truth_lines(want[token], catalog), "the simulator's truth standing in for a person")
            people += 1
            print(f"REVIEW {token}: decided by the demo reviewer (the simulator's truth)", flush=True)
            before = {t: d["status"] for t, d in listener.receipts.items()}
            deadline = time.monotonic() + 3.0  # the checkout polls decisions every decision_poll_s
            while time.monotonic() < deadline and not any(
                    d["status"] != before.get(t) for t, d in listener.receipts.items() if t != token):
                rclpy.spin_once(listener, timeout_sec=0.1)
        held = len(db.review_queue())
    finally:
        db.close()
    print(f"REVIEWS: {people} held receipts decided by a person, {held} left held")


def main(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="walkout-demo-"))
    truth_file = work / "truth.json"
    env = ros_env()
    print(f"walkout demo: {args.shoppers} shoppers in {args.store.parent.name} (seed {args.seed}), ROS_DOMAIN_ID={env['ROS_DOMAIN_ID']}")
    quiet = () if args.verbose else ("weight_node", "depth_node", "camera_node", "tracker_node", "association_node", "checkout_node", "sim_node")
    group = ProcessGroup(quiet=quiet)
    rclpy.init()
    listener = ReceiptListener()
    try:
        start_stack(group, args.store, args.catalog, use_sim_time=True, db_file=work / "receipts.sqlite")
        # Every node is up once its output topic is discovered: only then start the store.
        outputs = ["/perception/plate_events", "/perception/people", "/tracking/tracks", "/association/baskets", "/checkout/receipts"]
        deadline = time.monotonic() + 60.0
        while time.monotonic() < deadline and not all(listener.count_publishers(t) > 0 for t in outputs):
            rclpy.spin_once(listener, timeout_sec=0.1)
            if group.failed():
                break
        missing = [t for t in outputs if listener.count_publishers(t) == 0]
        if missing:
            print(f"walkout demo: the stack did not come up (no publisher on {', '.join(missing)})")
            print("\n".join(group.lines[-40:]))
            return 1
        sim = NodeSpec("walkout_sim", "sim_node", "sim_node")
        sim_cmd = executable(sim) + ["--ros-args", "-p", f"store_file:={args.store}", "-p", f"catalog_file:={args.catalog}"]
        sim_cmd += ["-p", f"shoppers:={args.shoppers}", "-p", f"seed:={args.seed}", "-p", f"rate:={args.rate}"]
        sim_cmd += ["-p", f"truth_file:={truth_file}"]
        sim_proc = group.start("sim_node", sim_cmd, env)
        t0 = time.monotonic()
        while sim_proc.poll() is None:
            rclpy.spin_once(listener, timeout_sec=0.1)
            if group.failed():
                print(f"walkout demo: node(s) failed: {', '.join(group.failed())}")
                print("\n".join(group.lines[-40:]))
                return 1
        # The last shopper's exit reaches the checkout a moment after the simulation ends.
        truth = json.loads(truth_file.read_text()) if truth_file.exists() else {"receipts": []}
        want = {r["session_token"] for r in truth["receipts"]}
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline and not want <= set(listener.receipts):
            rclpy.spin_once(listener, timeout_sec=0.1)
        predicted = {"store_id": listener.store_id, "receipts": list(listener.receipts.values())}
        (work / "receipts.json").write_text(json.dumps(predicted, indent=2))
        score = score_receipts(predicted, truth)
        print(f"walkout demo: {time.monotonic() - t0:.0f} s; receipts in {work / 'receipts.json'}")
        print(f"SCORE: {score.summary()}")
        if args.review:
            review_held(listener, truth, work / "receipts.sqlite", args.catalog)
        return 0 if sim_proc.returncode == 0 else 1
    finally:
        group.stop()
        listener.destroy_node()
        rclpy.try_shutdown()
