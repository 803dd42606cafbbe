"""The checkout bridge: a session's closed basket becomes its receipt, exactly once per exit.

A receipt is approved (charged with no person looking) only when the basket's
confidence reaches `approve_threshold` and nothing asks for a reviewer; otherwise it is
held for review with reasons that name the uncertain lines. The threshold follows from
the costs of the two mistakes (see walkout_bringup/calibration.py): approve when
p > 1 - cost_review / cost_silent_error.
"""

from __future__ import annotations

from dataclasses import dataclass

from walkout_common.types import Basket, Receipt

from .store import ReceiptStore


@dataclass
class CheckoutParams:
    approve_threshold: float = 0.98  # = 1 - cost_review / cost_silent_error with a 50:1 cost ratio
    line_threshold: float = 0.98  # lines below this are named in the review reasons
    db_file: str = ""  # '' = in memory
    dsn: str = ""  # a PostgreSQL DSN; when set it replaces db_file
    retention_s: float = 86400.0  # basket-change history and sensor evidence kept this long (privacy)
    webhook_url: str = ""  # commerce endpoint receiving final receipts ('' = none)
    webhook_timeout_s: float = 5.0
    web_host: str = "127.0.0.1"
    web_port: int = -1  # shopper page and reviewer console; -1 = off, 0 = any free port


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
            weak = [f"{ln.quantity}x {ln.name} ({ln.probability:.2f})" for ln in basket.lines if ln.probability < p.line_threshold]
            detail = f": uncertain {', '.join(weak)}" if weak else ""
            reasons.append(f"low confidence {basket.confidence:.3f} < {p.approve_threshold:.2f}{detail}")
        if basket.open:
            status = status_if_open
        else:
            status = "approved" if not reasons else "review"
        return Receipt(self.store_id, basket.session_token, basket.stamp, status, basket.confidence, list(basket.lines), basket.currency,
                       reasons if status != "approved" else [])

    def on_basket(self, basket: Basket) -> Receipt | None:
        """Records the change; issues the receipt when the session closes (once; again, as
        an amendment, if it closes again later)."""
        self.db.record_basket(basket)
        if basket.open:
            return None
        return self.db.issue(self.decide(basket))

    def open_receipts(self, stamp: float) -> list[Receipt]:
        """'open' receipts for sessions still in the store (at the end of a bag)."""
        out = []
        for b in self.db.open_baskets():
            r = self.decide(b)
            r.status, r.exit_stamp = "open", stamp
            out.append(r)
        return out
