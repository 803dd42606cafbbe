"""Receipts scored against ground truth, per session and per item.

Per session (the contract's scoring): approved and exactly right, approved and wrong
(the silent error: worst), sent to review, left open, or missing. Per item,
AutoCheckout-style: a unit counts as a true positive when the right SKU is on the right
session's receipt; precision, recall and F1 over all units.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from walkout_common.types import BasketLine


def receipt_items(receipt: dict) -> Counter:
    """Units by sku of a receipt in the contract's form (or the truth's)."""
    out: Counter = Counter()
    for it in receipt.get("items", []):
        out[str(it["sku"])] += int(it["qty"])
    return +out


def truth_lines(receipt: dict, catalog: Any) -> list[BasketLine]:
    """A truth receipt's items as the lines a reviewer would enter (sure: probability 1),
    by sku; a sku the catalog does not have is left out."""
    return [BasketLine(sku, catalog.by_sku[sku].name, n, catalog.by_sku[sku].price_cents, 1.0)
            for sku, n in sorted(receipt_items(receipt).items()) if sku in catalog.by_sku]


@dataclass
class Score:
    sessions: int = 0
    approved_correct: int = 0
    approved_wrong: int = 0
    review: int = 0
    review_correct: int = 0  # sent to review although the items were right
    open: int = 0
    missing: int = 0
    extra: int = 0  # receipts for tokens that never shopped
    tp: int = 0
    fp: int = 0
    fn: int = 0
    wrong_sessions: list[str] = field(default_factory=list)
    review_sessions: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def add(self, other: Score) -> None:
        for name in ("sessions", "approved_correct", "approved_wrong", "review", "review_correct", "open", "missing", "extra", "tp", "fp", "fn"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.wrong_sessions += other.wrong_sessions
        self.review_sessions += other.review_sessions

    def summary(self) -> str:
        return (
            f"{self.sessions} sessions: {self.approved_correct} approved and right, "
            f"{self.approved_wrong} approved and WRONG, {self.review} to review, {self.open} open, {self.missing} missing; "
            f"items precision {self.precision:.3f} recall {self.recall:.3f} F1 {self.f1:.3f}"
        )


def score_receipts(predicted: dict, truth: dict) -> Score:
    """Scores a receipts document against a ground-truth one (same format)."""
    pred = {r["session_token"]: r for r in predicted.get("receipts", [])}
    true = {r["session_token"]: r for r in truth.get("receipts", [])}
    s = Score(sessions=len(true))
    for token, t in true.items():
        want = receipt_items(t)
        p = pred.get(token)
        if p is None:
            s.missing += 1
            s.fn += sum(want.values())
            continue
        got = receipt_items(p)
        s.tp += sum((got & want).values())
        s.fp += sum((got - want).values())
        s.fn += sum((want - got).values())
        exact = got == want
        if p["status"] == "approved":
            if exact:
                s.approved_correct += 1
            else:
                s.approved_wrong += 1
                s.wrong_sessions.append(token)
        elif p["status"] == "review":
            s.review += 1
            s.review_correct += int(exact)
            s.review_sessions.append(token)
        else:
            s.open += 1
    for token, p in pred.items():
        if token not in true:
            s.extra += 1
            s.fp += sum(receipt_items(p).values())
    return s


@dataclass
class EventPair:
    """One settled plate event: how sure the stack was of its reading, and whether the
    reading (who, what, how many) was right against the truth."""

    event_id: str
    probability: float
    correct: bool
    got: dict[str, dict[str, int]]
    want: dict[str, dict[str, int]]
    actors: frozenset[str] = frozenset()  # sessions of the shoppers whose hands moved the items


def _truth_effects(events: list[dict]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for e in events:
        if e.get("stays_billed"):  # put back after its taker left: changes no receipt
            continue
        line = out.setdefault(e["billed_token"], {})
        line[e["sku"]] = line.get(e["sku"], 0) + int(e["n"])
    return {tok: {k: v for k, v in skus.items() if v} for tok, skus in out.items() if any(skus.values())}


def score_events(records: list, truth_events: list[dict], slack_s: float = 0.5) -> tuple[list[EventPair], int]:
    """Pairs each settled plate event (the associator's EventRecords) with the truth
    events on its plate during it (within `slack_s`); returns the pairs and how many
    truth events no plate event explained (missed)."""
    used: set[int] = set()
    pairs = []
    for rec in sorted(records, key=lambda r: r.event.start):
        ev = rec.event
        mine = [i for i, e in enumerate(truth_events)
                if i not in used and e["plate"] == ev.plate_id and ev.start - slack_s <= e["t"] <= ev.end + slack_s]
        if ev.unchanged and not mine:
            continue  # a touch that stayed one: no event to score
        used.update(mine)
        want = _truth_effects([truth_events[i] for i in mine])
        best = {tok: dict(v) for tok, v in rec.best.effects().items() if tok}
        p_same = sum(h.probability for h in rec.hypotheses if {t: dict(v) for t, v in h.effects().items() if t} == best)
        pairs.append(EventPair(ev.event_id, float(p_same), best == want, best, want, frozenset(truth_events[i]["token"] for i in mine)))
    return pairs, len(truth_events) - len(used)
