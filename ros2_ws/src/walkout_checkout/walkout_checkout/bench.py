"""Checkout latency benchmark on the busiest simulator scenario (the eval suite's "busy":
5 shoppers in the nanostore), through the offline pipeline with the durable bridge
(SQLite file, WAL) and the web server with one long-polling shopper client per session.

- EXIT -> receipt (approved sessions): the stack's own wait after the last member's EXIT
  (bag time, as it would pass live) plus the wall time of the message handling that
  issued and committed the receipt.
- plate event -> shopper page: wall time from a settled plate event reaching the
  association to the session's long-poll client holding the changed basket.

    python -m walkout_checkout.bench [--bag DIR_WITH_truth.json] [--shoppers 5 --seed 102]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

from walkout_common.bagio import read_messages
from walkout_common.store import load_catalog, load_store

from .bridge import CheckoutBridge
from .store import ReceiptStore
from .web import CheckoutWeb

ROOT = Path(__file__).resolve().parents[4] if (Path(__file__).resolve().parents[4] / "calibration").exists() else Path.cwd()


class ShopperClient(threading.Thread):
    """One phone: long-polls its session and notes when each version arrived."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__(daemon=True)
        self.url, self.token, self.seen, self.stop = url, token, {}, threading.Event()

    def run(self) -> None:
        version = -1
        while not self.stop.is_set():
            try:
                with urllib.request.urlopen(f"{self.url}/api/s/{self.token}?v={version}", timeout=15) as r:
                    state = json.loads(r.read())
            except OSError:
                time.sleep(0.05)
                continue
            version = state["version"]
            self.seen.setdefault(version, time.perf_counter())
            if state["receipt"] is not None:
                return


def record_busy_bag(out: Path, shoppers: int, seed: int) -> Path:
    from walkout_sim.bag import record_bag
    from walkout_sim.scenario import SensorConfig, random_scenario

    store = load_store(ROOT / "calibration/nanostore/store.yaml")
    catalog = load_catalog(ROOT / "calibration/nanostore/catalog.yaml", store)
    sc = random_scenario(store, catalog, shoppers, seed, sensors=SensorConfig(depth_hz=10.0), arrival_gap_s=4.0)
    record_bag(store, catalog, sc, out)
    return out


def run(bag: Path, store_path: Path, catalog_path: Path, work: Path) -> dict:
    from walkout_bringup.pipeline import Pipeline

    store = load_store(store_path)
    catalog = load_catalog(catalog_path, store)
    truth_exit = {r["session_token"]: r["exit_stamp"] for r in json.loads((bag / "truth.json").read_text())["receipts"]}
    pipe = Pipeline(store, catalog)
    db = ReceiptStore(work / "bench.sqlite")
    pipe.checkout = CheckoutBridge(store.store_id, pipe.checkout.params, db=db)
    web = CheckoutWeb(db, store, catalog).start()
    clients: dict[str, ShopperClient] = {}
    plate_t0: dict[tuple[str, int], float] = {}
    issued: dict[str, tuple[float, str]] = {}  # token -> (bag time issued, status)
    pending: dict[str, float] = {}  # token -> when the plate event that changed its basket arrived

    on_plate_event = pipe.associator.on_plate_event

    def timed_plate_event(event):  # the clock starts when the plate event reaches the association
        t0 = time.perf_counter()
        items, baskets = on_plate_event(event)
        for b in baskets:
            pending[b.session_token] = t0
        return items, baskets

    pipe.associator.on_plate_event = timed_plate_event
    bridge_on_basket = pipe.checkout.on_basket

    def on_basket(basket):
        receipt = bridge_on_basket(basket)
        token = basket.session_token
        if token not in clients:
            clients[token] = ShopperClient(web.url, token)
            clients[token].start()
        if token in pending:
            plate_t0[(token, db.session_version(token))] = pending.pop(token)
        if receipt is not None:
            issued[token] = (pipe.now, receipt.status)
        return receipt

    pipe.checkout.on_basket = on_basket
    topics = {"/shelves/load_cells", "/gates/events"} | set(pipe.routes)
    exit_ms: list[float] = []
    for topic, _, msg in read_messages(bag, sorted(topics)):
        before = set(issued)
        t = time.perf_counter()
        pipe.handle(topic, msg)
        wall = time.perf_counter() - t
        for token in set(issued) - before:
            bag_t, status = issued[token]
            if status == "approved" and token in truth_exit:
                exit_ms.append(1000.0 * (max(0.0, bag_t - truth_exit[token]) + wall))
    pipe.finish()
    for c in clients.values():
        c.join(timeout=2.0)
        c.stop.set()
    web.stop()
    page_ms = [1000.0 * (c.seen[v] - plate_t0[(tok, v)]) for tok, c in clients.items() for v in c.seen if (tok, v) in plate_t0]
    missed = sum(1 for (tok, v) in plate_t0 if v not in clients[tok].seen)  # superseded by a later version before the poll
    db.close()
    return {"sessions": len(clients), "approved": len(exit_ms), "receipts": len(issued), "exit_ms": exit_ms, "page_ms": page_ms,
            "superseded": missed}


def summary(name: str, ms: list[float]) -> str:
    if not ms:
        return f"{name}: no samples"
    a = np.asarray(ms)
    return (f"{name}: n={a.size} p50 {np.percentile(a, 50):.0f} ms, p90 {np.percentile(a, 90):.0f} ms, "
            f"p99 {np.percentile(a, 99):.0f} ms, max {a.max():.0f} ms")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bag", type=Path, help="a simulator bag folder with truth.json (default: record the busy scenario)")
    p.add_argument("--store", type=Path, default=ROOT / "calibration/nanostore/store.yaml")
    p.add_argument("--catalog", type=Path, default=ROOT / "calibration/nanostore/catalog.yaml")
    p.add_argument("--shoppers", type=int, default=5)
    p.add_argument("--seed", type=int, default=102)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="walkout-bench-") as tmp:
        bag = args.bag
        if bag is None:
            print(f"recording the busy scenario ({args.shoppers} shoppers, seed {args.seed})...", flush=True)
            bag = record_busy_bag(Path(tmp) / "bag", args.shoppers, args.seed)
        res = run(bag, args.store, args.catalog, Path(tmp))
    print(f"{res['sessions']} sessions, {res['receipts']} receipts, {res['approved']} approved")
    print(summary("EXIT -> receipt (approved)", res["exit_ms"]) + "  [target p99 < 1000 ms]")
    print(summary("plate event -> shopper page", res["page_ms"]) + f"  ({res['superseded']} changes superseded before a poll)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
