"""Receipts scored against ground truth, per session and per item.

Per session (the contract's scoring): approved and exactly right, approved and wrong
(the silent error: worst), sent to review, left open, or missing. Per item,
AutoCheckout-style: a unit counts as a true positive when the right SKU is on the right
session's receipt; precision, recall and F1 over all units.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


def _items(receipt: dict) -> Counter:
    out: Counter = Counter()
    for it in receipt.get("items", []):
        out[str(it["sku"])] += int(it["qty"])
    return +out


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
        want = _items(t)
        p = pred.get(token)
        if p is None:
            s.missing += 1
            s.fn += sum(want.values())
            continue
        got = _items(p)
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
            s.fp += sum(_items(p).values())
    return s
