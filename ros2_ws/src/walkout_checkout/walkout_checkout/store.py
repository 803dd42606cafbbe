"""Durable checkout state: sessions, basket changes and receipts in SQLite (WAL).

The database is the truth for "was a receipt issued for this token?": a receipt row is
inserted in the same transaction that marks the session closed, with the token as
primary key, so a duplicate EXIT or a restarted bridge can never issue a second one.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

from walkout_common.types import Basket, BasketLine, Receipt

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    token TEXT PRIMARY KEY,
    opened REAL NOT NULL,
    closed REAL,
    basket TEXT NOT NULL,          -- the latest basket, JSON
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS basket_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token TEXT NOT NULL,
    stamp REAL NOT NULL,
    basket TEXT NOT NULL,
    recorded_at REAL NOT NULL      -- wall clock, for the retention purge
);
CREATE TABLE IF NOT EXISTS receipts (
    token TEXT PRIMARY KEY,
    store_id TEXT NOT NULL,
    exit_stamp REAL NOT NULL,
    status TEXT NOT NULL,
    confidence REAL NOT NULL,
    receipt TEXT NOT NULL,
    issued_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    token TEXT PRIMARY KEY REFERENCES receipts(token),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try REAL NOT NULL DEFAULT 0,
    delivered_at REAL,
    last_error TEXT
);
"""


def basket_to_json(b: Basket) -> str:
    return json.dumps({
        "session_token": b.session_token, "stamp": b.stamp, "currency": b.currency, "confidence": b.confidence, "open": b.open,
        "review_reasons": b.review_reasons,
        "lines": [ln.__dict__ for ln in b.lines],
    })


def basket_from_json(text: str) -> Basket:
    d = json.loads(text)
    return Basket(d["session_token"], d["stamp"], [BasketLine(**ln) for ln in d["lines"]], d["currency"], d["confidence"], d["open"],
                  d["review_reasons"])


def receipt_to_json(r: Receipt) -> str:
    return json.dumps({"store_id": r.store_id, "session_token": r.session_token, "exit_stamp": r.exit_stamp, "status": r.status,
                       "confidence": r.confidence, "currency": r.currency, "review_reasons": r.review_reasons,
                       "lines": [ln.__dict__ for ln in r.lines]})


def receipt_from_json(text: str) -> Receipt:
    d = json.loads(text)
    return Receipt(d["store_id"], d["session_token"], d["exit_stamp"], d["status"], d["confidence"],
                   [BasketLine(**ln) for ln in d["lines"]], d["currency"], d["review_reasons"])


class ReceiptStore:
    """SQLite in WAL mode; `path=''` keeps everything in memory (offline replay)."""

    def __init__(self, path: str | Path = "") -> None:
        self.path = str(path) if path else ":memory:"
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def record_basket(self, basket: Basket) -> None:
        text = basket_to_json(basket)
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(
                "INSERT INTO sessions(token, opened, closed, basket, updated) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(token) DO UPDATE SET basket=excluded.basket, updated=excluded.updated, "
                "closed=COALESCE(sessions.closed, excluded.closed)",
                (basket.session_token, basket.stamp, None if basket.open else basket.stamp, text, basket.stamp),
            )
            self._db.execute("INSERT INTO basket_changes(token, stamp, basket, recorded_at) VALUES (?, ?, ?, ?)",
                             (basket.session_token, basket.stamp, text, now))
            self._db.execute("COMMIT")

    def issue(self, receipt: Receipt) -> bool:
        """Stores a receipt (and queues it for the commerce outbox) unless this token
        already has one. True when this call issued it."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cur = self._db.execute(
                    "INSERT OR IGNORE INTO receipts(token, store_id, exit_stamp, status, confidence, receipt, issued_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (receipt.session_token, receipt.store_id, receipt.exit_stamp, receipt.status, receipt.confidence,
                     receipt_to_json(receipt), time.time()),
                )
                issued = cur.rowcount == 1
                if issued:
                    self._db.execute("INSERT OR IGNORE INTO outbox(token) VALUES (?)", (receipt.session_token,))
                    self._db.execute("UPDATE sessions SET closed=COALESCE(closed, ?) WHERE token=?", (receipt.exit_stamp, receipt.session_token))
                self._db.execute("COMMIT")
            except Exception:
                self._db.execute("ROLLBACK")
                raise
        return issued

    def receipt(self, token: str) -> Receipt | None:
        with self._lock:
            row = self._db.execute("SELECT receipt FROM receipts WHERE token=?", (token,)).fetchone()
        return receipt_from_json(row[0]) if row else None

    def receipts(self) -> list[Receipt]:
        with self._lock:
            rows = self._db.execute("SELECT receipt FROM receipts ORDER BY exit_stamp, token").fetchall()
        return [receipt_from_json(r[0]) for r in rows]

    def basket(self, token: str) -> Basket | None:
        with self._lock:
            row = self._db.execute("SELECT basket FROM sessions WHERE token=?", (token,)).fetchone()
        return basket_from_json(row[0]) if row else None

    def open_baskets(self) -> list[Basket]:
        with self._lock:
            rows = self._db.execute(
                "SELECT basket FROM sessions WHERE token NOT IN (SELECT token FROM receipts) ORDER BY token"
            ).fetchall()
        return [basket_from_json(r[0]) for r in rows]

    def purge(self, older_than_s: float, now: float | None = None) -> int:
        """Deletes basket-change history older than the retention period; returns rows."""
        cutoff = (now if now is not None else time.time()) - older_than_s
        with self._lock:
            cur = self._db.execute("DELETE FROM basket_changes WHERE recorded_at < ?", (cutoff,))
        return cur.rowcount
