"""Durable checkout state: sessions, basket changes, receipts, review decisions, evidence
and the commerce outbox, in SQLite (WAL) by default or PostgreSQL when a DSN is given.

The database is the truth for "was a receipt issued for this token?": a receipt row is
inserted with the token as primary key (INSERT ... ON CONFLICT DO NOTHING) in the same
transaction that queues it in the outbox, so a duplicate EXIT, a restarted bridge or two
bridges on one PostgreSQL server can never issue a second one. Only a later exit of the
same session (a shopper of its group came in after the receipt) amends it, as its next
revision.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from walkout_common.types import Basket, BasketLine, Receipt

# `?` placeholders; the PostgreSQL backend rewrites them to `%s`. {ID} is the
# auto-increment primary key, spelled per backend.
SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    token TEXT PRIMARY KEY,
    opened DOUBLE PRECISION NOT NULL,
    closed DOUBLE PRECISION,
    basket TEXT NOT NULL,
    updated DOUBLE PRECISION NOT NULL,
    version BIGINT NOT NULL DEFAULT 0,
    flagged TEXT
);
CREATE TABLE IF NOT EXISTS basket_changes (
    id {ID},
    token TEXT NOT NULL,
    stamp DOUBLE PRECISION NOT NULL,
    basket TEXT NOT NULL,
    recorded_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS receipts (
    token TEXT PRIMARY KEY,
    store_id TEXT NOT NULL,
    exit_stamp DOUBLE PRECISION NOT NULL,
    status TEXT NOT NULL,
    confidence DOUBLE PRECISION NOT NULL,
    receipt TEXT NOT NULL,
    issued_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS review_decisions (
    id {ID},
    token TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    action TEXT NOT NULL,
    before_json TEXT NOT NULL,
    after_json TEXT NOT NULL,
    note TEXT NOT NULL,
    decided_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS event_verdicts (
    id {ID},
    token TEXT NOT NULL,
    event_id TEXT NOT NULL,
    reading TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    decided_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS decision_cursors (
    reader TEXT PRIMARY KEY,
    last_id BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS reviewers (
    name TEXT PRIMARY KEY,
    salt TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS evidence (
    id {ID},
    kind TEXT NOT NULL,
    token TEXT NOT NULL,
    stamp DOUBLE PRECISION NOT NULL,
    payload TEXT NOT NULL,
    recorded_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS evidence_stamp ON evidence(stamp);
CREATE TABLE IF NOT EXISTS outbox (
    token TEXT PRIMARY KEY,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try DOUBLE PRECISION NOT NULL DEFAULT 0,
    delivered_at DOUBLE PRECISION,
    last_error TEXT
);
"""

FINAL = "approved"  # the status a receipt has once the commerce side may charge it
PBKDF2_ROUNDS = 200_000


def basket_to_json(b: Basket) -> str:
    return json.dumps({
        "session_token": b.session_token, "stamp": b.stamp, "currency": b.currency, "confidence": b.confidence, "open": b.open,
        "review_reasons": b.review_reasons,
        "lines": [ln.__dict__ for ln in b.lines], "maybe": [ln.__dict__ for ln in b.maybe],
    })


def basket_from_json(text: str) -> Basket:
    d = json.loads(text)
    return Basket(d["session_token"], d["stamp"], [BasketLine(**ln) for ln in d["lines"]], d["currency"], d["confidence"], d["open"],
                  d["review_reasons"], [BasketLine(**ln) for ln in d.get("maybe", [])])  # older rows have none


def _bill(lines: list[BasketLine]) -> list[tuple[str, int]]:
    """What a receipt's lines charge: (sku, quantity), line by line."""
    return [(ln.sku, ln.quantity) for ln in lines]


def _undecided(db: Any, receipt: Receipt, status: str) -> Receipt | None:
    """The stored receipt of `receipt`'s session with `status`, for the same exit, that no
    reviewer decided (what revise_held and correct_approved may replace); else None."""
    rows = db.execute("SELECT receipt FROM receipts WHERE token=? AND status=?", (receipt.session_token, status)).fetchall()
    if not rows or db.execute("SELECT 1 FROM review_decisions WHERE token=?", (receipt.session_token,)).fetchall():
        return None
    old = receipt_from_json(rows[0][0])
    return old if old.exit_stamp == receipt.exit_stamp else None


def receipt_to_json(r: Receipt) -> str:
    return json.dumps({"store_id": r.store_id, "session_token": r.session_token, "exit_stamp": r.exit_stamp, "status": r.status,
                       "confidence": r.confidence, "currency": r.currency, "review_reasons": r.review_reasons,
                       "lines": [ln.__dict__ for ln in r.lines], "revision": r.revision})


def receipt_from_json(text: str) -> Receipt:
    d = json.loads(text)
    return Receipt(d["store_id"], d["session_token"], d["exit_stamp"], d["status"], d["confidence"],
                   [BasketLine(**ln) for ln in d["lines"]], d["currency"], d["review_reasons"], d.get("revision", 1))


def _hash_password(password: str, salt: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), PBKDF2_ROUNDS).hex()


class _AlreadyDecided(Exception):
    pass


class _Sqlite:
    placeholder = "?"
    id_column = "INTEGER PRIMARY KEY AUTOINCREMENT"

    def __init__(self, path: str) -> None:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10.0)
        if path != ":memory:":
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(SCHEMA.replace("{ID}", self.id_column))

    def begin(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")  # take the write lock now: no lost update between read and write

    def execute(self, sql: str, args: tuple = ()) -> Any:
        return self.conn.execute(sql, args)

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        self.conn.execute("ROLLBACK")


class _Postgres:
    placeholder = "%s"
    id_column = "BIGSERIAL PRIMARY KEY"

    def __init__(self, dsn: str) -> None:
        import psycopg  # only needed when a DSN is configured

        self.conn = psycopg.connect(dsn, autocommit=True)
        for stmt in SCHEMA.replace("{ID}", self.id_column).split(";"):
            if stmt.strip():
                self.conn.execute(stmt)

    def begin(self) -> None:
        self.conn.execute("BEGIN")

    def execute(self, sql: str, args: tuple = ()) -> Any:
        return self.conn.execute(sql.replace("?", "%s"), args)

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        self.conn.execute("ROLLBACK")


class ReceiptStore:
    """One interface over SQLite (`path`, '' = in memory) or PostgreSQL (`dsn`)."""

    def __init__(self, path: str | Path = "", dsn: str = "") -> None:
        self.backend = _Postgres(dsn) if dsn else _Sqlite(str(path) if path else ":memory:")
        self._lock = threading.Lock()
        self._closed = False
        self.changed = threading.Condition()  # notified on each basket change (shopper page long-poll)

    def close(self) -> None:
        """Closes the database once no query is running; later queries raise. (A web request
        thread may still be inside a query while the node shuts down: closing SQLite's
        connection under it crashes the process.)"""
        with self._lock:
            self._closed = True
            self.backend.conn.close()

    def _open(self) -> None:
        if self._closed:
            raise RuntimeError("the receipt store is closed")

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        with self._lock:
            self._open()
            self.backend.begin()
            try:
                yield self.backend
                self.backend.commit()
            except BaseException:
                self.backend.rollback()
                raise

    def _query(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            self._open()
            return list(self.backend.execute(sql, args).fetchall())

    # --- sessions and baskets -------------------------------------------------------
    def record_basket(self, basket: Basket) -> None:
        text = basket_to_json(basket)
        with self._tx() as db:
            db.execute(
                "INSERT INTO sessions(token, opened, closed, basket, updated, version) VALUES (?, ?, ?, ?, ?, 1) "
                "ON CONFLICT(token) DO UPDATE SET basket=excluded.basket, updated=excluded.updated, "
                "version=sessions.version + 1, closed=CASE WHEN excluded.closed IS NULL AND excluded.updated > sessions.closed "
                "THEN NULL ELSE COALESCE(sessions.closed, excluded.closed) END",  # open again after its exit: reopened
                (basket.session_token, basket.stamp, None if basket.open else basket.stamp, text, basket.stamp),
            )
            db.execute("INSERT INTO basket_changes(token, stamp, basket, recorded_at) VALUES (?, ?, ?, ?)",
                       (basket.session_token, basket.stamp, text, time.time()))
        self._notify()

    def _notify(self) -> None:
        with self.changed:
            self.changed.notify_all()

    def basket(self, token: str) -> Basket | None:
        rows = self._query("SELECT basket FROM sessions WHERE token=?", (token,))
        return basket_from_json(rows[0][0]) if rows else None

    def session_version(self, token: str) -> int | None:
        """Grows with every basket change, flag and receipt of the token (None: unknown token)."""
        rows = self._query("SELECT version FROM sessions WHERE token=?", (token,))
        return int(rows[0][0]) if rows else None

    def session_window(self, token: str) -> tuple[float, float | None] | None:
        """(first basket stamp, close stamp or None) of a session."""
        rows = self._query("SELECT opened, closed FROM sessions WHERE token=?", (token,))
        return (rows[0][0], rows[0][1]) if rows else None

    def open_baskets(self) -> list[Basket]:
        rows = self._query("SELECT basket FROM sessions WHERE closed IS NULL OR token NOT IN (SELECT token FROM receipts) "
                           "ORDER BY token")
        return [basket_from_json(r[0]) for r in rows]

    def flag(self, token: str, reason: str) -> bool:
        """The shopper's "something is wrong": before the exit the receipt will go to
        review; after it, a receipt not yet charged is moved to review. False: unknown token."""
        with self._tx() as db:
            cur = db.execute("UPDATE sessions SET flagged=?, version=version + 1 WHERE token=?", (reason, token))
            known = cur.rowcount == 1
            rows = db.execute("SELECT r.receipt FROM receipts r JOIN outbox o ON o.token=r.token "
                              "WHERE r.token=? AND o.delivered_at IS NULL", (token,)).fetchall() if known else []
            if rows:
                r = receipt_from_json(rows[0][0])
                if reason not in r.review_reasons:
                    r.status, r.review_reasons = "review", [*r.review_reasons, reason]
                    db.execute("UPDATE receipts SET status=?, receipt=? WHERE token=?", (r.status, receipt_to_json(r), token))
        self._notify()
        return known

    def flagged(self, token: str) -> str | None:
        rows = self._query("SELECT flagged FROM sessions WHERE token=?", (token,))
        return rows[0][0] if rows else None

    # --- receipts -------------------------------------------------------------------
    def issue(self, receipt: Receipt) -> Receipt | None:
        """Stores a receipt and queues it for the commerce outbox; returns it as stored, or
        None when it is not issued. A token has one receipt: a second one for the same exit
        (a duplicate EXIT, a restarted bridge, two bridges) is not issued. One for a later
        exit (the session closed again: a shopper of its group came in after the receipt)
        amends it, as the next revision, and the outbox delivers it again. An amendment of
        a receipt a reviewer decided goes to review: the decision was about the old one."""
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO receipts(token, store_id, exit_stamp, status, confidence, receipt, issued_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(token) DO NOTHING",
                (receipt.session_token, receipt.store_id, receipt.exit_stamp, receipt.status, receipt.confidence,
                 receipt_to_json(receipt), time.time()),
            )
            if cur.rowcount == 1:
                db.execute("INSERT INTO outbox(token) VALUES (?) ON CONFLICT(token) DO NOTHING", (receipt.session_token,))
            else:
                stored = self._amend(db, receipt)
                if stored is None:
                    return None
                receipt = stored
            db.execute("UPDATE sessions SET closed=?, version=version + 1 WHERE token=?", (receipt.exit_stamp, receipt.session_token))
        self._notify()
        return receipt

    @staticmethod
    def _amend(db: Any, receipt: Receipt) -> Receipt | None:
        """The next revision of a token's receipt, stored, if `receipt` is for a later exit."""
        rows = db.execute("SELECT receipt FROM receipts WHERE token=?", (receipt.session_token,)).fetchall()
        old = receipt_from_json(rows[0][0])
        if receipt.exit_stamp <= old.exit_stamp:
            return None
        new = replace(receipt, revision=old.revision + 1, review_reasons=list(receipt.review_reasons))
        if db.execute("SELECT 1 FROM review_decisions WHERE token=?", (receipt.session_token,)).fetchall():
            new.status = "review"
            new.review_reasons.append(f"amended after a reviewer decided revision {old.revision}: "
                                      f"the session closed again at t={receipt.exit_stamp:.1f} s")
        cur = db.execute("UPDATE receipts SET exit_stamp=?, status=?, confidence=?, receipt=?, issued_at=? "
                         "WHERE token=? AND exit_stamp < ?",  # a second bridge amending at once finds it done
                         (new.exit_stamp, new.status, new.confidence, receipt_to_json(new), time.time(), new.session_token,
                          new.exit_stamp))
        if cur.rowcount != 1:
            return None
        db.execute("UPDATE outbox SET delivered_at=NULL, attempts=0, next_try=0, last_error=NULL WHERE token=?",
                   (new.session_token,))
        return new

    def revise_held(self, receipt: Receipt) -> Receipt | None:
        """A held receipt that no reviewer has decided yet, decided again on its session's
        later basket for the same exit (a reviewer's decision on a session it shared an event
        with settled what they shared). Approved now, the outbox may deliver it; still held,
        the console shows the new lines and reasons. Returns it as stored, or None when there
        is nothing to revise (no such receipt, decided already, approved, another exit, no change)."""
        with self._tx() as db:
            old = _undecided(db, receipt, "review")
            if old is None or (_bill(old.lines) == _bill(receipt.lines) and old.status == receipt.status
                               and old.review_reasons == receipt.review_reasons):
                return None
            new = replace(receipt, revision=old.revision)  # never delivered while held: the same revision
            if new.status == FINAL:
                new.review_reasons = [f"approved without a reviewer once a linked session's review settled it (confidence {new.confidence:.3f})"]
            cur = db.execute("UPDATE receipts SET status=?, confidence=?, receipt=? WHERE token=? AND status='review'",
                             (new.status, new.confidence, receipt_to_json(new), new.session_token))
            if cur.rowcount != 1:
                return None
            db.execute("UPDATE outbox SET next_try=0 WHERE token=?", (new.session_token,))
            db.execute("UPDATE sessions SET version=version + 1 WHERE token=?", (new.session_token,))
        self._notify()
        return new

    def correct_approved(self, receipt: Receipt) -> Receipt | None:
        """An approved receipt whose session's later basket, for the same exit, bills other
        lines (a change read after the exit, a review of a session it shared events with):
        it may be charged already, so the correction is never charged silently. It is stored
        as the next revision, held for a reviewer with what was approved, and the outbox
        delivers the reviewer's decision again. Returns it as stored, or None when there is
        nothing to correct (no such receipt, not approved or a reviewer's, another exit, the
        same lines). Why it is held stays with the session (as a shopper's flag does), so each
        later basket of it is held for the same reason."""
        with self._tx() as db:
            old = _undecided(db, receipt, FINAL)
            if old is None or _bill(old.lines) == _bill(receipt.lines):
                return None
            was = ", ".join(f"{ln.quantity}x {ln.name}" for ln in old.lines) or "nothing"
            why = (f"changed after it was approved (revision {old.revision}: {was}; confidence {old.confidence:.3f}): "
                   "read again on what came after the exit")
            new = replace(receipt, status="review", revision=old.revision + 1, review_reasons=[why, *receipt.review_reasons])
            cur = db.execute("UPDATE receipts SET status=?, confidence=?, receipt=?, issued_at=? WHERE token=? AND status=?",
                             (new.status, new.confidence, receipt_to_json(new), time.time(), new.session_token, FINAL))
            if cur.rowcount != 1:
                return None
            db.execute("UPDATE outbox SET delivered_at=NULL, attempts=0, next_try=0, last_error=NULL WHERE token=?", (new.session_token,))
            db.execute("UPDATE sessions SET flagged=COALESCE(flagged, ?), version=version + 1 WHERE token=?", (why, new.session_token))
        self._notify()
        return new

    def receipt(self, token: str) -> Receipt | None:
        rows = self._query("SELECT receipt FROM receipts WHERE token=?", (token,))
        return receipt_from_json(rows[0][0]) if rows else None

    def receipts(self) -> list[Receipt]:
        rows = self._query("SELECT receipt FROM receipts ORDER BY exit_stamp, token")
        return [receipt_from_json(r[0]) for r in rows]

    def review_queue(self) -> list[Receipt]:
        rows = self._query("SELECT receipt FROM receipts WHERE status='review' ORDER BY exit_stamp, token")
        return [receipt_from_json(r[0]) for r in rows]

    # --- reviewers and their decisions ----------------------------------------------
    def add_reviewer(self, name: str, password: str) -> None:
        salt = os.urandom(16).hex()
        with self._tx() as db:
            db.execute("INSERT INTO reviewers(name, salt, hash) VALUES (?, ?, ?) "
                       "ON CONFLICT(name) DO UPDATE SET salt=excluded.salt, hash=excluded.hash",
                       (name, salt, _hash_password(password, salt)))

    def check_reviewer(self, name: str, password: str) -> bool:
        rows = self._query("SELECT salt, hash FROM reviewers WHERE name=?", (name,))
        if not rows:
            _hash_password(password, "00" * 16)  # same work for unknown names: no timing hint
            return False
        return hmac.compare_digest(_hash_password(password, rows[0][0]), rows[0][1])

    def decide(self, token: str, reviewer: str, lines: list[BasketLine], note: str = "",
               verdicts: list[tuple[str, str]] = ()) -> Receipt | None:
        """A reviewer's confirmation or edit of a held receipt: the receipt becomes
        'approved' with `lines` (unchanged lines = confirm), the decision is logged with
        who made it, and the outbox may now deliver it. `verdicts`: (event id, reading)
        for the plate events the reviewer said what happened in (who moved what), kept with
        the decision. None: no held receipt for token."""
        try:
            return self._decide(token, reviewer, lines, note, verdicts)
        except _AlreadyDecided:
            return None

    def _decide(self, token: str, reviewer: str, lines: list[BasketLine], note: str,
                verdicts: list[tuple[str, str]]) -> Receipt | None:
        with self._tx() as db:
            rows = db.execute("SELECT receipt FROM receipts WHERE token=? AND status='review'", (token,)).fetchall()
            if not rows:
                return None
            before = receipt_from_json(rows[0][0])
            after = receipt_from_json(rows[0][0])
            after.lines = [ln for ln in lines if ln.quantity > 0]
            after.status = FINAL
            same = [(ln.sku, ln.quantity) for ln in before.lines] == [(ln.sku, ln.quantity) for ln in after.lines]
            action = "confirm" if same else "edit"
            after.review_reasons = [*before.review_reasons, f"reviewed by {reviewer}: {action}"]
            cur = db.execute("UPDATE receipts SET status=?, receipt=? WHERE token=? AND status='review'",
                             (after.status, receipt_to_json(after), token))
            if cur.rowcount != 1:  # another reviewer decided in between (PostgreSQL, read committed)
                raise _AlreadyDecided
            db.execute("UPDATE outbox SET next_try=0 WHERE token=?", (token,))
            db.execute("UPDATE sessions SET version=version + 1 WHERE token=?", (token,))
            now = time.time()
            db.execute("INSERT INTO review_decisions(token, reviewer, action, before_json, after_json, note, decided_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)", (token, reviewer, action, receipt_to_json(before), receipt_to_json(after), note, now))
            for event_id, reading in verdicts:
                db.execute("INSERT INTO event_verdicts(token, event_id, reading, reviewer, decided_at) VALUES (?, ?, ?, ?, ?)",
                           (token, event_id, reading, reviewer, now))
        self._notify()
        return after

    def verdicts(self, token: str) -> list[dict]:
        """What the reviewers of `token`'s receipt said happened in single plate events
        (event_id, reading, reviewer, decided_at), oldest first."""
        rows = self._query("SELECT event_id, reading, reviewer, decided_at FROM event_verdicts WHERE token=? ORDER BY id", (token,))
        return [{"event_id": e, "reading": r, "reviewer": who, "decided_at": at} for e, r, who, at in rows]

    def first_verdicts(self, event_ids: Iterable[str]) -> dict[str, dict]:
        """The first word any reviewer said on each of these plate events (the one the
        association keeps), by event id: reading, reviewer, the token decided, decided_at."""
        ids = sorted(set(event_ids))
        if not ids:
            return {}
        rows = self._query(f"SELECT event_id, reading, reviewer, token, decided_at FROM event_verdicts WHERE event_id IN "
                           f"({', '.join('?' * len(ids))}) ORDER BY id", tuple(ids))
        out: dict[str, dict] = {}
        for e, r, who, token, at in rows:
            out.setdefault(e, {"reading": r, "reviewer": who, "token": token, "decided_at": at})
        return out

    def decided_since(self, after_id: int) -> list[tuple[int, Receipt]]:
        """Reviewers' decisions logged after row `after_id`: (row id, the receipt as decided),
        oldest first; whichever process made them (console, admin tool, another bridge)."""
        rows = self._query("SELECT id, after_json FROM review_decisions WHERE id > ? ORDER BY id", (after_id,))
        return [(int(i), receipt_from_json(j)) for i, j in rows]

    def last_decision_id(self) -> int:
        rows = self._query("SELECT MAX(id) FROM review_decisions")
        return int(rows[0][0] or 0)

    def decision_cursor(self, reader: str) -> int:
        """The last decision `reader` (a checkout node) sent on. A reader new to this
        database starts at the newest decision: older ones concern sessions long closed."""
        rows = self._query("SELECT last_id FROM decision_cursors WHERE reader=?", (reader,))
        if rows:
            return int(rows[0][0])
        last = self.last_decision_id()
        self.set_decision_cursor(reader, last)
        return last

    def set_decision_cursor(self, reader: str, last_id: int) -> None:
        """Kept in the database, so a restarted reader goes on with the decisions made while
        it was down."""
        with self._tx() as db:
            db.execute("INSERT INTO decision_cursors(reader, last_id) VALUES (?, ?) "
                       "ON CONFLICT(reader) DO UPDATE SET last_id=excluded.last_id", (reader, last_id))

    def decisions(self, token: str | None = None) -> list[dict]:
        sql = "SELECT token, reviewer, action, note, decided_at FROM review_decisions"
        rows = self._query(sql + (" WHERE token=? ORDER BY id" if token else " ORDER BY id"), (token,) if token else ())
        return [{"token": r[0], "reviewer": r[1], "action": r[2], "note": r[3], "decided_at": r[4]} for r in rows]

    # --- evidence for the reviewer console (purged after the retention period) ------
    def record_evidence(self, kind: str, stamp: float, payload: dict, token: str = "") -> None:
        with self._tx() as db:
            db.execute("INSERT INTO evidence(kind, token, stamp, payload, recorded_at) VALUES (?, ?, ?, ?, ?)",
                       (kind, token, stamp, json.dumps(payload), time.time()))

    def evidence(self, t0: float, t1: float, kinds: tuple[str, ...] = ()) -> list[dict]:
        """Sensor evidence stamped from t0 to t1 (of these kinds only, if given), in time order."""
        only = f" AND kind IN ({', '.join('?' * len(kinds))})" if kinds else ""
        rows = self._query(f"SELECT kind, token, stamp, payload FROM evidence WHERE stamp BETWEEN ? AND ?{only} ORDER BY stamp, id",
                           (t0, t1, *kinds))
        return [{"kind": k, "token": tok, "stamp": s, **json.loads(p)} for k, tok, s, p in rows]

    def purge(self, older_than_s: float, now: float | None = None) -> int:
        """Deletes basket-change history and sensor evidence recorded longer ago than the
        retention period; returns the rows deleted."""
        cutoff = (now if now is not None else time.time()) - older_than_s
        with self._tx() as db:
            n = db.execute("DELETE FROM basket_changes WHERE recorded_at < ?", (cutoff,)).rowcount
            n += db.execute("DELETE FROM evidence WHERE recorded_at < ?", (cutoff,)).rowcount
        return n

    # --- commerce outbox --------------------------------------------------------------
    def due_outbox(self, now: float, limit: int = 50) -> list[Receipt]:
        """Final receipts not yet delivered whose next try is due."""
        rows = self._query("SELECT r.receipt FROM outbox o JOIN receipts r ON r.token=o.token WHERE o.delivered_at IS NULL "
                           "AND r.status=? AND o.next_try <= ? ORDER BY o.next_try, o.token LIMIT ?", (FINAL, now, limit))
        return [receipt_from_json(r[0]) for r in rows]

    def mark_delivered(self, token: str, now: float) -> None:
        with self._tx() as db:
            db.execute("UPDATE outbox SET delivered_at=?, attempts=attempts + 1, last_error=NULL WHERE token=? AND delivered_at IS NULL",
                       (now, token))

    def mark_failed(self, token: str, error: str, next_try: float) -> None:
        with self._tx() as db:
            db.execute("UPDATE outbox SET attempts=attempts + 1, next_try=?, last_error=? WHERE token=?", (next_try, error[:500], token))

    def outbox_state(self, token: str) -> dict | None:
        rows = self._query("SELECT attempts, next_try, delivered_at, last_error FROM outbox WHERE token=?", (token,))
        if not rows:
            return None
        a, n, d, e = rows[0]
        return {"attempts": a, "next_try": n, "delivered_at": d, "last_error": e}
