"""The human side over HTTP (stdlib server, 127.0.0.1 by default):

- /entry: the consent and signage text the store shows at its entry;
- /s/<token>: the shopper page (phone-sized): live basket, total, receipt, "something is
  wrong". The token is the only key: a token sees its own session and nothing else;
- /review: the reviewer console behind a sign-in: held sessions with their reasons, the
  uncertain lines with alternatives, the timeline of reaches and plate events, top-down
  pictures at those moments; every confirm/edit is logged with the reviewer's name.
"""

from __future__ import annotations

import html
import json
import re
import secrets
import threading
import time
from http import cookies
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

from walkout_common.store import Catalog, Store
from walkout_common.types import BasketLine

from .store import ReceiptStore

LONG_POLL_S = 10.0  # the shopper page waits this long for a change before asking again
RECHECK_S = 0.25  # a change written by another process is seen within this
SESSION_TTL_S = 8 * 3600.0  # a reviewer signs in again after a shift
ASK_BELOW = 0.99  # the console asks what happened at a plate event only when its likeliest reading is less sure

SIGNAGE = """<h1>Walk-out checkout</h1>
<p>This store charges you for what you take without a checkout line. To do so it uses:</p>
<ul>
<li><b>Overhead depth cameras</b> that see shapes from above, not faces. They give each shopper a
random, temporary track number; no face or body biometric is computed or stored.</li>
<li><b>Shelf scales</b> that notice when an item is taken or put back.</li>
<li><b>Product cameras</b> pointed at the shelves to tell products apart.</li>
</ul>
<p>Your entry code (session token) links what you take to your payment; nothing else about you is kept
by the store's system. Raw sensor data is deleted after {retention}. When the system is unsure,
a store employee checks the recorded evidence before you are charged.</p>
<p>By scanning your code at the gate you agree to this. If you do not, please ask a member of staff for
a staffed checkout.</p>"""

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:640px;margin:0 auto;padding:12px}}table{{border-collapse:collapse;width:100%}}
td,th{{border-bottom:1px solid #ddd;padding:4px;text-align:left}}.num{{text-align:right}}.warn{{color:#a40}}
button{{font-size:1.1em;padding:8px 14px}}svg{{background:#f6f6f6;border:1px solid #ccc}}</style></head>
<body>{body}</body></html>"""

SHOPPER_JS = """
const token = document.body.dataset.token; let version = -1;
function money(c, cur) { return (c / 100).toFixed(2) + ' ' + cur; }
function esc(s) { const d = document.createElement('div'); d.textContent = s; return d.innerHTML; }
function render(s) {
  const rows = s.lines.map(l => `<tr class="line" data-sku="${esc(l.sku)}"><td>${esc(l.name)}</td>` +
    `<td class="num qty">${l.quantity}</td><td class="num">${money(l.quantity * l.unit_price_cents, s.currency)}</td></tr>`).join('');
  document.getElementById('lines').innerHTML = rows || '<tr><td colspan="3">Your basket is empty</td></tr>';
  document.getElementById('total').textContent = money(s.total_cents, s.currency);
  const st = document.getElementById('status');
  const word = s.receipt && s.receipt.revision > 1 ? 'Receipt updated' : 'Receipt';
  if (s.receipt) st.textContent = s.receipt.status === 'approved' ? word + ': charged ' + money(s.receipt.total_cents, s.currency)
      : 'Receipt held: a person is checking your basket';
  else st.textContent = 'Shopping: your basket updates as you pick';
  st.dataset.status = s.receipt ? s.receipt.status : 'open';
  if (s.flagged) document.getElementById('flagged').textContent = 'Sent to a person for review. Thank you.';
  document.body.dataset.version = s.version;
}
async function poll() {
  for (;;) {
    try {
      const r = await fetch(`/api/s/${encodeURIComponent(token)}?v=${version}`, {cache: 'no-store'});
      if (r.status === 404) { document.getElementById('status').textContent = 'Unknown session'; return; }
      const s = await r.json(); version = s.version; render(s);
    } catch (e) { await new Promise(ok => setTimeout(ok, 1000)); }
  }
}
document.getElementById('wrong').onclick = async () => {
  await fetch(`/api/s/${encodeURIComponent(token)}/flag`, {method: 'POST'});
};
poll();
"""


def _quantity(sku: str, text: str) -> int:
    """A reviewer's quantity for `sku`: a whole number of units, 0 to 99 (the form's
    bounds; a browser may not enforce them). Anything else is refused by name, not read
    as 0: a typo must not bill, or free, a product."""
    text = text.strip() or "0"
    if not (text.isascii() and text.isdigit()) or int(text) > 99:  # isdigit alone passes '²'
        raise ValueError(f"quantity of {sku}: {text[:20]!r} is not a whole number from 0 to 99")
    return int(text)


def _money(cents: int, currency: str) -> str:
    return f"{cents / 100:.2f} {html.escape(currency)}"


class CheckoutWeb:
    """Serves the pages from a ReceiptStore in a background thread."""

    def __init__(self, db: ReceiptStore, store: Store | None = None, catalog: Catalog | None = None, host: str = "127.0.0.1",
                 port: int = 0, retention_s: float = 86400.0) -> None:
        self.db, self.store, self.catalog, self.retention_s = db, store, catalog, retention_s
        self._signed_in: dict[str, tuple[str, float]] = {}  # cookie -> (reviewer, expiry)
        self.server = ThreadingHTTPServer((host, port), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self._thread: threading.Thread | None = None

    def start(self) -> CheckoutWeb:
        self._thread = threading.Thread(target=self.server.serve_forever, name="checkout-web", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    # --- shopper ------------------------------------------------------------------------
    def session_state(self, token: str) -> dict | None:
        basket = self.db.basket(token)
        if basket is None:
            return None
        # a group member came in after the receipt: shopping again until it is amended
        receipt = None if basket.open else self.db.receipt(token)
        lines = receipt.lines if receipt and receipt.status == "approved" else basket.lines
        out = {"version": self.db.session_version(token), "open": basket.open, "currency": basket.currency,
               "lines": [{"sku": ln.sku, "name": ln.name, "quantity": ln.quantity, "unit_price_cents": ln.unit_price_cents}
                         for ln in lines if ln.quantity > 0],
               "total_cents": sum(ln.quantity * ln.unit_price_cents for ln in lines), "flagged": bool(self.db.flagged(token)),
               "receipt": None}
        if receipt:
            out["receipt"] = {"status": receipt.status, "total_cents": receipt.total_cents, "items": receipt.to_contract()["items"],
                              "revision": receipt.revision}
        return out

    def wait_change(self, token: str, since: int, timeout: float = LONG_POLL_S) -> dict | None:
        deadline = time.monotonic() + timeout
        while True:
            state = self.session_state(token)
            if state is None or state["version"] != since or time.monotonic() >= deadline:
                return state
            with self.db.changed:
                self.db.changed.wait(min(RECHECK_S, max(0.0, deadline - time.monotonic())))

    def shopper_page(self, token: str) -> str:
        body = (f'<h2>Your basket</h2><p id="status">Loading…</p><table><tbody id="lines"></tbody>'
                f'<tfoot><tr><th>Total</th><th></th><th class="num" id="total"></th></tr></tfoot></table>'
                f'<p><button id="wrong">Something is wrong</button></p><p id="flagged" class="warn"></p>'
                f'<p><a href="/entry">How this store works</a></p><script>{SHOPPER_JS}</script>')
        return PAGE.format(title="Your basket", body=body).replace("<body>", f'<body data-token="{html.escape(token, quote=True)}">', 1)

    def entry_page(self) -> str:
        hours = self.retention_s / 3600.0
        retention = f"{hours:g} hours" if hours >= 1 else f"{self.retention_s:g} seconds"
        return PAGE.format(title="Walk-out checkout: consent", body=SIGNAGE.format(retention=retention))

    # --- reviewer -----------------------------------------------------------------------
    def sign_in(self, name: str, password: str) -> str | None:
        if not name or not self.db.check_reviewer(name, password):
            return None
        cookie = secrets.token_urlsafe(32)
        self._signed_in[cookie] = (name, time.time() + SESSION_TTL_S)
        return cookie

    def reviewer_for(self, cookie: str | None) -> str | None:
        entry = self._signed_in.get(cookie or "")
        if entry is None or entry[1] < time.time():
            return None
        return entry[0]

    def queue_page(self, reviewer: str) -> str:
        held = self.db.review_queue()
        tokens = {r.session_token for r in held}

        def link(t: str) -> str:
            return f'<a href="/review/{html.escape(t, quote=True)}">{html.escape(t)}</a>'

        rows = "".join(
            f'<tr><td><a class="held" href="/review/{html.escape(r.session_token, quote=True)}">{html.escape(r.session_token)}</a></td>'
            f"<td>{r.confidence:.3f}</td><td>{html.escape('; '.join(r.review_reasons))}</td>"
            f"<td class='linked'>{', '.join(link(t) for t in self._linked_tokens(r.session_token) if t in tokens)}</td></tr>"
            for r in held)
        body = (f"<p>Signed in as <b id='who'>{html.escape(reviewer)}</b></p><h2>Held for review</h2>"
                "<p>A decision settles what its session shared with the held receipts beside it: they may need no look.</p>"
                f"<table><tr><th>Session</th><th>Confidence</th><th>Reasons</th><th>Shares events with (held)</th></tr>"
                f"{rows or '<tr><td colspan=4>Nothing held</td></tr>'}</table>")
        return PAGE.format(title="Review queue", body=body)

    def _evidence(self, token: str, kinds: tuple[str, ...] = ()) -> tuple[list[dict], list[dict], list[dict]]:
        window = self.db.session_window(token) or (0.0, None)
        receipt = self.db.receipt(token)
        t0, t1 = window[0] - 5.0, (receipt.exit_stamp if receipt else (window[1] or time.time())) + 5.0
        ev = self.db.evidence(t0, t1, kinds)
        items = [e for e in ev if e["kind"] == "item_event" and (e["token"] == token or
                 any(c.get("session_token") == token for c in e.get("candidates", [])))]
        plates = {e["plate_id"] for e in items}
        plate_events = [e for e in ev if e["kind"] == "plate_event" and e.get("plate_id") in plates]
        frames = [e for e in ev if e["kind"] == "tracks"]
        return items, plate_events, frames

    @staticmethod
    def _readings(items: list[dict]) -> dict[str, list[tuple[str, float]]]:
        """Per plate event with other readings and a likeliest one below `ASK_BELOW`:
        (reading, probability), the likeliest first; an event of several items comes as
        several item events (id#i) that list the same readings."""
        out: dict[str, list[tuple[str, float]]] = {}
        for e in items:
            base = str(e.get("event_id", "")).split("#")[0]
            if base and e.get("reading") and e.get("alternatives") and float(e.get("probability", 0.0)) < ASK_BELOW and base not in out:
                out[base] = [(e["reading"], float(e.get("probability", 0.0))),
                             *((a["sku"], float(a["probability"])) for a in e["alternatives"])]
        return out

    def _questions(self, items: list[dict]) -> tuple[dict[str, list[tuple[str, float]]], dict[str, dict]]:
        """The plate events to ask about (`_readings`) and, apart, those a reviewer already
        answered deciding another receipt (`first_verdicts`): the association keeps the
        first word on an event, so those are shown, not asked again."""
        readings = self._readings(items)
        said = self.db.first_verdicts(readings)
        return {e: r for e, r in readings.items() if e not in said}, said

    def _verdict_form(self, items: list[dict]) -> str:
        """A choice per uncertain plate event: what happened in it. A reviewer's word on
        one event settles it for every shopper it may have been (the association reads
        them all again), beyond what this receipt's lines say."""
        esc = html.escape
        parts = []
        where = {str(e.get("event_id", "")).split("#")[0]: f"{e['plate_id']} at {e['stamp']:.2f} s" for e in items if e.get("plate_id")}
        asked, said = self._questions(items)
        for base, v in said.items():
            parts.append(f"<p class='answered'>{esc(where.get(base, base))}: {esc(v['reviewer'])} said "
                         f"{esc(self._named(v['reading']))} (deciding {esc(v['token'])})</p>")
        for base, readings in asked.items():
            name = esc(f"ev_{base}", quote=True)
            opts = [f'<label><input type="radio" name="{name}" value="" checked> not sure</label>']
            opts += [f'<label><input type="radio" name="{name}" value="{esc(r, quote=True)}"> {esc(self._named(r))} ({p:.2f})</label>'
                     for r, p in readings]
            parts.append(f"<fieldset class='verdict'><legend>{esc(where.get(base, base))}</legend>{'<br>'.join(opts)}</fieldset>")
        return ("<h3>What happened at these plates?</h3><p>Optional: your answer settles that event for every shopper "
                "it may have been.</p>" + "".join(parts)) if parts else ""

    def _named(self, reading: str) -> str:
        """A reading as a person reads it: products by name ("2x 012000286209 by tok-a" ->
        "2x Sparkling water by tok-a")."""
        if self.catalog is None:
            return reading
        by_sku = self.catalog.by_sku
        return re.sub(r"(\d+)x (\S+)", lambda m: f"{m[1]}x {by_sku[m[2]].name}" if m[2] in by_sku else m[0], reading)

    def _linked_tokens(self, token: str, items: list[dict] | None = None) -> list[str]:
        """The other sessions this one shared an event with (billed, or a candidate)."""
        items = self._evidence(token, ("item_event",))[0] if items is None else items  # not the track frames: the queue asks per held receipt
        return sorted({t for e in items for t in [e["token"], *(c.get("session_token", "") for c in e.get("candidates", []))]} - {token, ""})

    def _linked(self, token: str, items: list[dict]) -> str:
        """The other sessions this one shared an event with, with their receipts' status: a
        decision here settles what they shared (README, "One review settles what two
        sessions shared"), so a held one may need no second look."""
        others = self._linked_tokens(token, items)
        if not others:
            return ""
        words = []
        for other in others:
            r = self.db.receipt(other)
            state = "in the store" if r is None else "held: deciding this one may settle it too" if r.status == "review" else r.status
            words.append(f"<a href='/review/{html.escape(other, quote=True)}'>{html.escape(other)}</a> ({html.escape(state)})")
        return f"<p id='linked'>Shared events with: {', '.join(words)}</p>"

    @staticmethod
    def _reaches(token: str, frames: list[dict], gap_s: float = 1.0) -> list[tuple[float, float]]:
        """(start, end) of the periods in which this session's tracks had an arm out."""
        spans: list[list[float]] = []
        for f in frames:
            if any(t.get("session_token") == token and t.get("hands") for t in f["tracks"]):
                if spans and f["stamp"] - spans[-1][1] <= gap_s:
                    spans[-1][1] = f["stamp"]
                else:
                    spans.append([f["stamp"], f["stamp"]])
        return [(a, b) for a, b in spans]

    def top_down_svg(self, token: str, stamp: float, frames: list[dict], highlight_plate: str = "") -> str:
        """The store from above at `stamp`: plates, tracks (this session's in red, one that may
        be this session's shopper instead in orange), hands."""
        if self.store is None:
            return ""
        lo, hi = self.store.floor_min, self.store.floor_max
        scale = 360.0 / max(float(hi[0] - lo[0]), float(hi[1] - lo[1]))
        w, h = (hi[0] - lo[0]) * scale, (hi[1] - lo[1]) * scale

        def xy(x: float, y: float) -> tuple[float, float]:  # map y up -> svg y down
            return (x - lo[0]) * scale, h - (y - lo[1]) * scale

        parts = [f'<svg class="topdown" width="{w:.0f}" height="{h:.0f}" data-stamp="{stamp:.3f}">']
        for p in self.store.plates:
            cx, cy = xy(p.center[0], p.center[1])
            pw, pd = p.size[0] * scale, p.size[1] * scale
            if abs(p.front_normal[0]) > abs(p.front_normal[1]):
                pw, pd = pd, pw  # shelf front along y
            fill = "#e80" if p.id == highlight_plate else "#bbb"
            parts.append(f'<rect x="{cx - pw / 2:.1f}" y="{cy - pd / 2:.1f}" width="{pw:.1f}" height="{pd:.1f}" fill="{fill}">'
                         f"<title>{html.escape(p.id)}</title></rect>")
        near = min(frames, key=lambda f: abs(f["stamp"] - stamp), default=None)
        if near is not None and abs(near["stamp"] - stamp) <= 1.0:
            for t in near["tracks"]:
                hx, hy = xy(t["x"], t["y"])
                # this session's shopper red; one the tracker says may be this session's instead orange
                rivals = t.get("rivals") or {}
                color = "#d00" if t.get("session_token") == token else "#f70" if token in rivals else "#555"
                for hand in t.get("hands", []):
                    ax, ay = xy(hand[0], hand[1])
                    parts.append(f'<line x1="{hx:.1f}" y1="{hy:.1f}" x2="{ax:.1f}" y2="{ay:.1f}" stroke="{color}"/>'
                                 f'<circle class="hand" cx="{ax:.1f}" cy="{ay:.1f}" r="3" fill="{color}"/>')
                why = t.get("rival_why") or {}
                doubt = "".join(f", or {k} ({v:.0%}{': ' + why[k] if k in why else ''})" for k, v in sorted(rivals.items(), key=lambda kv: -kv[1]))
                label = f"{t['track_id']} {t.get('session_token') or 'unbound'}{doubt}"
                parts.append(f'<circle class="track" cx="{hx:.1f}" cy="{hy:.1f}" r="7" fill="{color}">'
                             f"<title>{html.escape(label)}</title></circle>")
        parts.append("</svg>")
        return "".join(parts)

    def detail_page(self, token: str, reviewer: str) -> str | None:
        receipt = self.db.receipt(token)
        if receipt is None:
            return None
        items, plate_events, frames = self._evidence(token)
        esc = html.escape
        editable = {ln.sku: (ln.name, ln.unit_price_cents, ln.quantity, ln.probability) for ln in receipt.lines}
        # what the reviewer may switch to: each event's product (one billed to another session
        # that this one's shopper may have taken has no line here) and its other readings
        for e in items:
            for sku in [e.get("sku", ""), *(alt["sku"] for alt in e.get("alternatives", []))]:
                prod = self.catalog.by_sku.get(sku) if self.catalog else None
                if prod is not None and sku not in editable:
                    editable[sku] = (prod.name, prod.price_cents, 0, 0.0)
        basket = self.db.basket(token)
        for ln in basket.maybe if basket else []:  # a product it may hold and has no line for: P(it holds one)
            if editable.get(ln.sku, (0, 0, 0))[2] == 0:
                editable[ln.sku] = (ln.name, ln.unit_price_cents, 0, ln.probability)
        lines = "".join(
            f'<tr><td>{esc(name)} <small>{esc(sku)}</small></td><td class="num">{_money(price, receipt.currency)}</td>'
            f'<td class="num">{prob:.2f}</td><td><input type="number" min="0" max="99" name="qty_{esc(sku, quote=True)}" '
            f'value="{qty}" size="3"></td></tr>' for sku, (name, price, qty, prob) in editable.items())
        timeline = [(e["stamp"], "pick" if e.get("action", 0) == 0 else "put back",
                     self._named(f"{e.get('quantity', 0)}x {e.get('sku', '')}") + f" at {e['plate_id']} (p={e.get('probability', 0):.2f})"
                     + (f" — {e['note']}" if e.get("note") else "")
                     + "".join(f"; alt {self._named(a['sku'])} {a['probability']:.2f}" for a in e.get("alternatives", []))
                     + "".join(f"; who {c.get('session_token') or c.get('track_id')} {c.get('probability', 0):.2f}"
                               for c in e.get("candidates", [])), e["plate_id"]) for e in items]
        timeline += [(e["stamp"], "plate", f"{e['plate_id']} {e.get('delta_g', 0):+.0f} g"
                      + (f", dipped {e['dip_g']:.0f} g and came back (items lifted and put back)" if e.get("dip_g") else "")
                      + (f", went {e['beyond_g']:.0f} g past both ends for a moment (a hand pressing, or a put-back"
                         " and a take overlapping)" if e.get("beyond_g") else ""),
                      e["plate_id"]) for e in plate_events]
        timeline += [(a, "reach", f"arm out for {b - a:.1f} s", "") for a, b in self._reaches(token, frames)]
        timeline.sort(key=lambda t: t[0])
        rows = "".join(f'<tr class="ev"><td>{t:.2f}</td><td>{esc(kind)}</td><td>{esc(text)}</td></tr>' for t, kind, text, _ in timeline)
        pictures = "".join(f"<figure><figcaption>{t:.2f} s: {esc(text[:60])}</figcaption>{self.top_down_svg(token, t, frames, plate)}</figure>"
                           for t, kind, text, plate in timeline if kind in ("pick", "put back"))
        decisions = "".join(f"<li>{esc(d['reviewer'])}: {esc(d['action'])} {esc(d['note'])}</li>" for d in self.db.decisions(token))
        decisions += "".join(f"<li>{esc(v['reviewer'])}: event {esc(v['event_id'])} was {esc(self._named(v['reading']))}</li>" for v in self.db.verdicts(token))
        linked = self._linked(token, items)
        done = receipt.status != "review"
        form = ("<p id='decided'>Decided: " + esc(receipt.status) + "</p>") if done else (
            f'<form method="post" action="/review/{esc(token, quote=True)}"><table><tr><th>Product</th><th>Price</th><th>p</th><th>Qty</th></tr>'
            f'{lines}</table>{self._verdict_form(items)}<p><input name="note" placeholder="note" size="40"></p>'
            f'<p><button id="approve" type="submit">Confirm and issue receipt</button></p></form>')
        body = (f"<p><a href='/review'>Queue</a> · signed in as {esc(reviewer)}</p><h2>Session {esc(token)}</h2>"
                f"<p>Confidence {receipt.confidence:.3f}, exit at {receipt.exit_stamp:.2f} s"
                f"{f', revision {receipt.revision} (the group came back in after its receipt)' if receipt.revision > 1 else ''}</p>"
                f"<ul id='reasons'>{''.join(f'<li>{esc(r)}</li>' for r in receipt.review_reasons)}</ul>{linked}{form}"
                f"<h3>Timeline</h3><table>{rows or '<tr><td>No evidence kept</td></tr>'}</table><h3>At those moments</h3>{pictures}"
                f"<h3>Decisions</h3><ul>{decisions}</ul>")
        return PAGE.format(title=f"Review {token}", body=body)

    def apply_decision(self, token: str, reviewer: str, form: dict[str, list[str]]) -> bool:
        receipt = self.db.receipt(token)
        if receipt is None:
            return False
        known = {ln.sku: ln for ln in receipt.lines}
        lines = []
        for key, values in form.items():
            if not key.startswith("qty_"):
                continue
            sku, qty = key[4:], _quantity(key[4:], values[0])
            if sku in known:
                ln = known[sku]
                lines.append(BasketLine(sku, ln.name, qty, ln.unit_price_cents, 1.0))
            elif self.catalog is not None and sku in self.catalog.by_sku and qty > 0:
                prod = self.catalog.by_sku[sku]
                lines.append(BasketLine(sku, prod.name, qty, prod.price_cents, 1.0))
        order = {sku: i for i, sku in enumerate(known)}
        lines.sort(key=lambda ln: (order.get(ln.sku, len(order)), ln.sku))
        # only readings the association listed for this session's events count, and not on
        # an event a reviewer answered already (the association keeps the first word)
        listed = self._questions(self._evidence(token, ("item_event",))[0])[0]
        verdicts = [(key[3:], values[0]) for key, values in form.items()
                    if key.startswith("ev_") and values and values[0] in {r for r, _ in listed.get(key[3:], [])}]
        return self.db.decide(token, reviewer, lines, form.get("note", [""])[0][:500], verdicts=verdicts) is not None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        app = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet: the node logs what matters
                pass

            def _send(self, code: int, body: str, ctype: str = "text/html; charset=utf-8", headers: dict | None = None) -> None:
                data = body.encode()
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("X-Content-Type-Options", "nosniff")
                self.send_header("Referrer-Policy", "no-referrer")  # the token is in the URL: never leak it
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _redirect(self, where: str, headers: dict | None = None) -> None:
                self._send(303, "", headers={"Location": where, **(headers or {})})

            def _reviewer(self) -> str | None:
                jar = cookies.SimpleCookie(self.headers.get("Cookie", ""))
                return app.reviewer_for(jar["wr"].value if "wr" in jar else None)

            def _form(self) -> dict[str, list[str]]:
                n = min(int(self.headers.get("Content-Length", 0) or 0), 65536)
                return parse_qs(self.rfile.read(n).decode(errors="replace"))

            def do_GET(self) -> None:
                try:
                    self._get()
                except Exception as exc:  # one bad request never stops the server
                    self._send(500, f"error: {html.escape(type(exc).__name__)}", "text/plain")

            def do_POST(self) -> None:
                try:
                    self._post()
                except ValueError as exc:  # bad input: say which, keep the receipt as it was
                    self._send(400, f"bad request: {exc}", "text/plain")
                except Exception as exc:
                    self._send(500, f"error: {html.escape(type(exc).__name__)}", "text/plain")

            def _get(self) -> None:
                url = urlparse(self.path)
                parts = [unquote(p) for p in url.path.split("/") if p]
                if not parts or parts == ["entry"]:
                    self._send(200, app.entry_page())
                elif len(parts) == 2 and parts[0] == "s":
                    self._send(200, app.shopper_page(parts[1]))
                elif len(parts) == 3 and parts[:2] == ["api", "s"]:
                    since = int(parse_qs(url.query).get("v", ["-1"])[0])
                    state = app.wait_change(parts[2], since)
                    if state is None:
                        self._send(404, json.dumps({"error": "unknown session"}), "application/json")
                    else:
                        self._send(200, json.dumps(state), "application/json")
                elif parts == ["review", "login"]:
                    self._send(200, PAGE.format(title="Sign in", body=(
                        '<h2>Reviewer sign-in</h2><form method="post" action="/review/login"><p><input name="name" id="name" '
                        'placeholder="name"></p><p><input type="password" name="password" id="password" placeholder="password"></p>'
                        '<p><button id="signin" type="submit">Sign in</button></p></form>')))
                elif parts and parts[0] == "review":
                    who = self._reviewer()
                    if who is None:
                        self._redirect("/review/login")
                    elif len(parts) == 1:
                        self._send(200, app.queue_page(who))
                    else:
                        page = app.detail_page(parts[1], who)
                        self._send(200, page) if page else self._send(404, "no such session", "text/plain")
                else:
                    self._send(404, "not found", "text/plain")

            def _post(self) -> None:
                parts = [unquote(p) for p in urlparse(self.path).path.split("/") if p]
                if len(parts) == 4 and parts[:2] == ["api", "s"] and parts[3] == "flag":
                    ok = app.db.flag(parts[2], "shopper reported that something is wrong")
                    self._send(200 if ok else 404, json.dumps({"flagged": ok}), "application/json")
                elif parts == ["review", "login"]:
                    form = self._form()
                    cookie = app.sign_in(form.get("name", [""])[0], form.get("password", [""])[0])
                    if cookie is None:
                        self._send(403, PAGE.format(title="Sign in", body="<p>Wrong name or password. <a href='/review/login'>Again</a></p>"))
                    else:
                        self._redirect("/review", {"Set-Cookie": f"wr={cookie}; HttpOnly; SameSite=Strict; Path=/review"})
                elif len(parts) == 2 and parts[0] == "review":
                    who = self._reviewer()
                    if who is None:
                        self._send(403, "sign in first", "text/plain")
                    elif app.apply_decision(parts[1], who, self._form()):
                        self._redirect(f"/review/{parts[1]}")
                    else:
                        self._send(409, "nothing held for this session", "text/plain")
                else:
                    self._send(404, "not found", "text/plain")

        return Handler
