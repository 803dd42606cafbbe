"""What RViz2 shows, as plain marker specs: plates, gates, tracks, reaches, baskets.

No rclpy here: markers_node.py turns these into visualization_msgs/MarkerArray.
`MarkerBoard` keeps the latest state (tracks, plate activity, baskets) and builds
every marker for a given time, so the node only feeds it and publishes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from walkout_association.who import WhoParams
from walkout_common.store import Store
from walkout_common.types import EXITED, Basket, PlateEvent, TrackSnapshot

CUBE, SPHERE, LINE_LIST, TEXT = 1, 2, 5, 9  # visualization_msgs/Marker types

IDLE = (0.6, 0.6, 0.6, 0.8)
TAKEN = (0.9, 0.2, 0.2, 1.0)
RETURNED = (0.2, 0.8, 0.3, 1.0)
DISTURBED = (1.0, 0.8, 0.1, 1.0)


@dataclass
class MarkerSpec:
    ns: str
    id: int
    type: int
    position: tuple[float, float, float] = (0.0, 0.0, 0.0)
    yaw: float = 0.0
    scale: tuple[float, float, float] = (0.1, 0.1, 0.1)
    color: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)
    text: str = ""
    points: list[tuple[float, float, float]] = field(default_factory=list)


def _blend(a: tuple[float, ...], b: tuple[float, ...], w: float) -> tuple[float, float, float, float]:
    r, g, bl, al = (float(x * (1 - w) + y * w) for x, y in zip(a, b, strict=True))
    return (r, g, bl, al)


def plate_markers(store: Store, events: dict[str, PlateEvent], now: float, glow_s: float = 3.0) -> list[MarkerSpec]:
    """Plates as thin boxes. A disturbed plate (unsettled event) is yellow; after a settled
    event it glows red (take) or green (return), or yellow again when items were lifted and
    put back (a dip, no change) or it settled back unchanged (a touch), fading back to grey
    over `glow_s`."""
    out = []
    for i, p in enumerate(store.plates):
        color, text = IDLE, ""
        ev = events.get(p.id)
        if ev is not None and not ev.settled:
            color, text = DISTURBED, f"{ev.delta_g:+.0f} g"
        elif ev is not None and 0.0 <= now - ev.end <= glow_s:
            glow = DISTURBED if ev.dip_g > 0 or ev.unchanged else TAKEN if ev.delta_g < 0 else RETURNED
            color = _blend(glow, IDLE, (now - ev.end) / glow_s)
            text = (f"{ev.dip_g:.0f} g lifted, put back" if ev.dip_g > 0 else
                    f"{ev.beyond_g:.0f} g laid down, lifted" if ev.unchanged and ev.beyond_g > 0 else
                    f"touched ({ev.delta_g:+.0f} ± {ev.delta_std_g:.0f} g)" if ev.unchanged else f"{ev.delta_g:+.0f} g")
        yaw = float(np.arctan2(p.along[1], p.along[0]))
        x, y, z = (float(v) for v in p.center)
        out.append(MarkerSpec("plates", i, CUBE, (x, y, z - 0.01), yaw, (float(p.size[0]), float(p.size[1]), 0.02), color))
        if text:
            out.append(MarkerSpec("plate_deltas", i, TEXT, (x, y, z + 0.12), scale=(0.0, 0.0, 0.08), color=color, text=text))
    return out


def gate_markers(store: Store) -> list[MarkerSpec]:
    """Each gate line on the floor, colored by kind, with its id."""
    out = []
    for i, g in enumerate(store.gates):
        along = np.array([-g.normal[1], g.normal[0]]) * g.width / 2
        a, b = g.center - along, g.center + along
        color = {"entry": (0.2, 0.8, 0.2, 1.0), "exit": (0.9, 0.4, 0.1, 1.0)}.get(g.kind, (0.2, 0.5, 0.9, 1.0))
        pts = [(float(a[0]), float(a[1]), 0.01), (float(b[0]), float(b[1]), 0.01)]
        out.append(MarkerSpec("gates", i, LINE_LIST, scale=(0.05, 0.0, 0.0), color=color, points=pts))
        out.append(MarkerSpec("gate_labels", i, TEXT, (float(g.center[0]), float(g.center[1]), 0.3), scale=(0.0, 0.0, 0.15), text=g.id))
    return out


def money(cents: int, currency: str = "") -> str:
    return f"{cents / 100:.2f} {currency}".rstrip()


def track_markers(snaps: list[TrackSnapshot], totals: dict[str, int], currency: str = "", stale_s: float = WhoParams.stale_s) -> list[MarkerSpec]:
    """A sphere per head, a line from the shoulders to each reaching hand, and a label
    with the track's short id, its session, the session's running total and the rival
    sessions it may belong to instead. A track no detection matched for `stale_s` (lost,
    or coasting) is drawn faint, says for how long, and shows no hands: they are old."""
    out = []
    drawn = [s for s in snaps if s.state != EXITED and np.all(np.isfinite(s.position))]  # RViz rejects NaN poses
    for i, s in enumerate(drawn):
        bound, unseen = bool(s.session_token), not s.seen(stale_s)
        color = (0.1, 0.5, 1.0, 0.35 if unseen else 1.0) if bound else (0.7, 0.7, 0.7, 0.3 if unseen else 0.8)
        x, y, z = (float(v) for v in s.position)
        out.append(MarkerSpec("heads", i, SPHERE, (x, y, z - 0.1), scale=(0.22, 0.22, 0.22), color=color))
        label = f"{s.track_id[:5]} {s.session_token or 'unbound'}"
        if unseen:
            label += f" (unseen {s.unseen_s:.1f} s)"
        if s.session_token in totals:
            label += f"  {money(totals[s.session_token], currency)}"
        if s.rivals:  # the binding may be wrong: show whose shopper this may be instead
            label += "  or " + ", ".join(f"{tok} ({p:.0%})" for tok, p in sorted(s.rivals.items(), key=lambda kv: -kv[1]))
        out.append(MarkerSpec("labels", i, TEXT, (x, y, z + 0.25), scale=(0.0, 0.0, 0.14), text=label))
        pts = []
        for h in [] if unseen else s.hands:
            if np.all(np.isfinite(h)):
                pts += [(x, y, z - 0.3), (float(h[0]), float(h[1]), float(h[2]))]
        if pts:
            out.append(MarkerSpec("reaches", i, LINE_LIST, scale=(0.03, 0.0, 0.0), color=DISTURBED, points=pts))
    return out


def basket_markers(store: Store, baskets: list[Basket]) -> list[MarkerSpec]:
    """One text block per open basket, stacked beside the store floor: token, lines, total."""
    out = []
    x = float(store.floor_max[0]) + 0.4
    y = float(store.floor_max[1])
    for i, b in enumerate(sorted((b for b in baskets if b.open), key=lambda b: b.session_token)):
        rows = [f"{b.session_token}: {money(b.total_cents, b.currency)} ({b.confidence:.0%})"]
        rows += [f"{line.quantity} x {line.name or line.sku}" for line in b.lines]
        if b.review_reasons:
            rows.append("review: " + "; ".join(b.review_reasons))
        out.append(MarkerSpec("baskets", i, TEXT, (x, y, 0.5), scale=(0.0, 0.0, 0.14), text="\n".join(rows)))
        y -= 0.2 * len(rows) + 0.3
    return out


@dataclass
class MarkerBoard:
    """The latest state worth drawing; `markers(now)` builds every marker at time `now`."""

    store: Store
    glow_s: float = 3.0
    tracks: list[TrackSnapshot] = field(default_factory=list)
    plates: dict[str, PlateEvent] = field(default_factory=dict)
    baskets: dict[str, Basket] = field(default_factory=dict)

    def on_tracks(self, snaps: list[TrackSnapshot]) -> None:
        self.tracks = snaps

    def on_plate_event(self, ev: PlateEvent) -> None:
        last = self.plates.get(ev.plate_id)
        if ev.settled or last is None:
            self.plates[ev.plate_id] = ev  # a settled event replaces the live one
        elif last.settled:
            if ev.start >= last.end:  # a new disturbance, not a late update of the settled one
                self.plates[ev.plate_id] = ev
        elif ev.end >= last.end:
            self.plates[ev.plate_id] = ev

    def on_basket(self, basket: Basket) -> None:
        self.baskets[basket.session_token] = basket

    def markers(self, now: float) -> list[MarkerSpec]:
        # A live (unsettled) event older than the glow is stale: its plate settled quietly.
        for pid, ev in list(self.plates.items()):
            if not ev.settled and now - ev.end > self.glow_s:
                del self.plates[pid]
        totals = {tok: b.total_cents for tok, b in self.baskets.items()}
        currency = next((b.currency for b in self.baskets.values()), "")
        return (
            plate_markers(self.store, self.plates, now, self.glow_s)
            + gate_markers(self.store)
            + track_markers(self.tracks, totals, currency)
            + basket_markers(self.store, list(self.baskets.values()))
        )
