"""The checkout bridge: a session's closed basket becomes its receipt, exactly once per exit.

A receipt is approved (charged with no person looking) only when the basket's
confidence reaches `approve_threshold` and nothing asks for a reviewer; otherwise it is
held for review with reasons that name the uncertain lines. The threshold follows from
the costs of the two mistakes (see walkout_bringup/calibration.py): approve when
p > 1 - cost_review / cost_silent_error.
"""

from __future__ import annotations

from dataclasses import dataclass

from walkout_common.types import Basket, BasketLine, Receipt

from .store import ReceiptStore


@dataclass
class CheckoutParams:
    approve_threshold: float = 0.98  # = 1 - cost_review / cost_silent_error with a 50:1 cost ratio
    line_threshold: float = 0.98  # lines below this are named in the review reasons (and products the basket may hold more of, above 1 - this)
    db_file: str = ""  # '' = in memory
    dsn: str = ""  # a PostgreSQL DSN; when set it replaces db_file
    retention_s: float = 86400.0  # basket-change history and sensor evidence kept this long (privacy)
    webhook_url: str = ""  # commerce endpoint receiving final receipts ('' = none)
    webhook_timeout_s: float = 5.0
    web_host: str = "127.0.0.1"
    web_port: int = -1  # shopper page and reviewer console; -1 = off, 0 = any free port
    decision_poll_s: float = 0.5  # reviewers' decisions are sent on to the association (/checkout/reviewed) this often


class CheckoutBridge:
    def __init__(self, store_id: str, params: CheckoutParams | None = None, db: ReceiptStore | None = None) -> None:
        self.store_id = store_id
        self.params = params or CheckoutParams()
        self.db = db or ReceiptStore(self.params.db_file, self.params.dsn)

    def decide(self, basket: Basket, status_if_open: str = "open") -> Receipt:
        p = self.params
        reasons = list(basket.review_reasons)
        flagged = self.db.flagged(basket.session_token)
        if flagged:
            reasons.append(flagged)
        if basket.confidence < p.approve_threshold:
            shown = min(basket.confidence, p.approve_threshold - 0.001)  # 0.9799 reads 0.979 < 0.98, not 0.980 < 0.98
            reasons.append(f"low confidence {shown:.3f} < {p.approve_threshold:.2f}{self._doubts(basket)}")
        if basket.open:
            status = status_if_open
        else:
            status = "approved" if not reasons else "review"
        return Receipt(self.store_id, basket.session_token, basket.stamp, status, basket.confidence, list(basket.lines), basket.currency,
                       reasons if status != "approved" else [])

    def _doubts(self, basket: Basket) -> str:
        """Where a basket's doubt lies, in words (named_doubts)."""
        lines, maybe, thin = named_doubts(basket, self.params.line_threshold)
        parts = [f"{word} {', '.join(f'{ln.quantity}x {ln.name} ({ln.probability:.2f})' for ln in group)}"
                 for word, group in (("least sure" if thin else "uncertain", lines), ("maybe also", maybe)) if group]
        return f": {'; '.join(parts)}" if parts else ""

    def on_basket(self, basket: Basket) -> Receipt | None:
        """Records the change; issues the receipt when the session closes (once; again, as
        an amendment, if it closes again later). A later basket for the same exit revises a
        held receipt no reviewer has decided yet (`ReceiptStore.revise_held`): a reviewer's
        decision on a session it shared an event with may have settled it; one that bills
        other lines than an approved receipt holds it for a reviewer as a correction
        (`ReceiptStore.correct_approved`), unless the session was in the store again (that
        basket is its old exit heard again)."""
        if basket.open:
            self.db.record_basket(basket)
            return None
        before = self.db.basket(basket.session_token)
        self.db.record_basket(basket)
        receipt = self.decide(basket)
        out = self.db.issue(receipt) or self.db.revise_held(receipt)
        if out is None and before is not None and not before.open:
            out = self.db.correct_approved(receipt)
        return out

    def open_receipts(self, stamp: float) -> list[Receipt]:
        """'open' receipts for sessions still in the store (at the end of a bag)."""
        out = []
        for b in self.db.open_baskets():
            r = self.decide(b)
            r.status, r.exit_stamp = "open", stamp
            out.append(r)
        return out


def named_doubts(basket: Basket, line_threshold: float) -> tuple[list[BasketLine], list[BasketLine], bool]:
    """Where a basket's doubt lies, for a reviewer: its lines below `line_threshold`, and the
    products it may hold more of (Basket.maybe) as likely as a line that unsure may be
    wrong. A doubt spread thin, none of them that unsure on its own, names the two biggest
    instead (then `thin`)."""
    lines = [ln for ln in basket.lines if ln.probability < line_threshold]
    maybe = [ln for ln in basket.maybe if ln.probability > 1.0 - line_threshold]
    if lines or maybe:
        return lines, maybe, False
    doubt = sorted([(1.0 - ln.probability, False, ln) for ln in basket.lines] + [(ln.probability, True, ln) for ln in basket.maybe],
                   key=lambda x: -x[0])[:2]
    return [ln for d, m, ln in doubt if not m and d > 0], [ln for d, m, ln in doubt if m and d > 0], True
