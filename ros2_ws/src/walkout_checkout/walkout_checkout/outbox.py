"""Commerce webhook outbox: final receipts are POSTed to the configured endpoint with
retries and exponential backoff.

Exactly once per receipt (revision): the outbox row is keyed by the session token and marked
delivered in the database after a 2xx answer, so a restart resends only what was never
acknowledged; each POST carries `Idempotency-Key: <store>/<token>` so the commerce side
can drop the one resend that follows a crash between its 2xx and our commit. An amended
receipt (`revision` 2 and on: the session closed again) is delivered again, as a new
delivery with its own key.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

from walkout_common.types import Receipt

from .store import ReceiptStore


def receipt_payload(r: Receipt) -> dict:
    return {"store_id": r.store_id, "currency": r.currency, "revision": r.revision, **r.to_contract()}


def idempotency_key(r: Receipt) -> str:
    """One per receipt revision: an amended receipt is a new delivery, its resend is not."""
    return f"{r.store_id}/{r.session_token}" + (f"/r{r.revision}" if r.revision > 1 else "")


class WebhookOutbox:
    def __init__(self, db: ReceiptStore, url: str, timeout_s: float = 5.0, base_backoff_s: float = 1.0, max_backoff_s: float = 300.0) -> None:
        self.db, self.url, self.timeout_s = db, url, timeout_s
        self.base_backoff_s, self.max_backoff_s = base_backoff_s, max_backoff_s

    def post(self, r: Receipt) -> None:
        """One delivery attempt; raises on anything but a 2xx answer."""
        body = json.dumps(receipt_payload(r)).encode()
        req = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json", "Idempotency-Key": idempotency_key(r)})
        with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
            if not 200 <= resp.status < 300:
                raise urllib.error.HTTPError(self.url, resp.status, "not 2xx", resp.headers, None)

    def deliver_due(self, now: float | None = None) -> tuple[int, list[str]]:
        """Tries every due receipt once; returns (delivered, errors)."""
        now = time.time() if now is None else now
        delivered, errors = 0, []
        for r in self.db.due_outbox(now):
            try:
                self.post(r)
            except (OSError, ValueError) as exc:  # URLError/HTTPError/timeouts are OSErrors
                attempts = (self.db.outbox_state(r.session_token) or {}).get("attempts", 0)
                backoff = min(self.max_backoff_s, self.base_backoff_s * 2 ** attempts)
                self.db.mark_failed(r.session_token, f"{type(exc).__name__}: {exc}", now + backoff)
                errors.append(f"receipt {r.session_token} to {self.url}: {exc} (retry in {backoff:.0f} s)")
                continue
            self.db.mark_delivered(r.session_token, time.time())
            delivered += 1
        return delivered, errors
