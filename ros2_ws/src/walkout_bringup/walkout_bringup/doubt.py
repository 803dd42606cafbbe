"""Where a held receipt's doubt lies, for the eval report's "what limits it".

A receipt's confidence is P(its basket ends as recorded). Each plate event that may touch
the session takes -log P(the event changed this basket as recorded) from it; that doubt
is shared among the event's other readings that would bill the session otherwise, by
their probability, and each reading is of one kind:

- another shopper may have done it, whose arm was seen at the plate (`who_armed`);
- another shopper may have done it, with no arm of theirs seen there (a hand a camera
  gave to two shoppers is neither's), lost from view, or nobody tracked (`who_armless`);
- another number of shoppers in the change: two where one is recorded, or one where two
  are (`several`);
- the same shoppers moved other products or another count (`what`);
- a plate settled back unchanged, and a unit too light for it to show may have moved
  (`too_light`; a unit one shopper may have handed another across it is `several`).

What the events do not explain (a binding that may be another session's, a swap, the
events' joint worlds, a change its track may have made before the session claimed it;
and the events it does not divide: decided by a reviewer, or restored after a restart)
is `binding`. Never imports rclpy: it reads the association's state.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Any

DOUBT_KINDS = ("who_armed", "who_armless", "several", "what", "too_light", "binding")
DOUBT_NAMES = {
    "who_armed": "another shopper, arm seen at the plate",
    "who_armless": "another shopper, no arm of theirs seen there",
    "several": "how many shoppers in the change",
    "what": "product or count",
    "too_light": "a unit too light for the plate",
    "binding": "binding, swaps, joint worlds",
}


def _armed(rec: Any, sessions: set[str]) -> bool:
    """Whether a track of any of `sessions` showed an arm tip at the plate in some look
    during the change (who.choice_features' w_near_any)."""
    from walkout_association.who import CHOICE_FEATURES

    near_any = CHOICE_FEATURES.index("w_near_any")
    return any(c.session_token in sessions and c.features is not None and c.features[near_any] > 0 for c in rec.candidates)


def _kind(rec: Any, alt: Any) -> str:
    """The kind of doubt one other reading of an event stands for (module docstring)."""
    best_actors, alt_actors = {a.session for a in rec.best.acts}, {a.session for a in alt.acts}
    if rec.event.unchanged and len(alt_actors) < 2:  # a unit handed across the plate is two shoppers' doubt
        return "too_light"
    if len(alt_actors) != len(best_actors):  # not one shopper's put-back and take: that is `what`
        return "several"
    if alt_actors == best_actors:
        return "what"
    rivals = alt_actors - best_actors
    return "who_armed" if _armed(rec, rivals - {""}) else "who_armless"


def event_doubt(rec: Any, token: str) -> dict[str, float]:
    """-log P(the event changed `token`'s basket as recorded), shared among the readings
    that would bill it otherwise by their probability (the mass no reading lists: `what`)."""
    p = rec.consistent(token)
    if p >= 1.0 - 1e-12:
        return {}
    total = -math.log(max(p, 1e-12))
    want = rec.best.effects().get(token, {})
    mass: dict[str, float] = defaultdict(float)
    for h in rec.hypotheses[1:]:
        if h.effects().get(token, {}) != want:
            mass[_kind(rec, h)] += h.probability
    rest = 1.0 - sum(h.probability for h in rec.hypotheses)
    if rest > 1e-9:
        mass["what"] += rest
    whole = sum(mass.values())
    if whole <= 0:
        return {"what": total}
    return {k: total * m / whole for k, m in mass.items() if m > 0}


def doubt_sources(associator: Any, token: str) -> dict[str, float]:
    """A session's doubt, -log of its basket's confidence, by kind (DOUBT_KINDS): its
    events' doubt (`event_doubt`; events a reviewer decided, or restored, say nothing), and
    whatever the confidence holds beyond their product as `binding`."""
    session = associator.sessions.get(token)
    if session is None:
        return {}
    out: dict[str, float] = defaultdict(float)
    for rec in session.events:
        if rec.decided or rec.restored:
            continue
        for k, v in event_doubt(rec, token).items():
            out[k] += v
    whole = -math.log(max(associator.basket(token).confidence, 1e-12))  # with the binding's doubt (rival sessions)
    out["binding"] += max(whole - sum(out.values()), 0.0)
    return {k: round(v, 4) for k, v in out.items() if round(v, 4) > 0}


def doubt_section(results: list[dict]) -> list[str]:
    """The report's table: per scenario type, how the held receipts' doubt divides."""
    kinds = sorted({r["case"]["kind"] for r in results})
    head = " | ".join(DOUBT_NAMES[k] for k in DOUBT_KINDS)
    lines = ["Where the held receipts' doubt lies (each receipt's -log confidence, shared among the other readings of its events "
             "that would bill it otherwise, by kind; share of the type's total):", "",
             f"| scenario type | held | mean -log confidence | {head} |", "|---|---|---|" + "---|" * len(DOUBT_KINDS)]
    for kind in [*kinds, "all"]:
        held = [s for r in results if kind in ("all", r["case"]["kind"]) for s in r["sessions"] if s["status"] == "review" and "doubt" in s]
        if not held:
            continue
        by = {k: sum(s["doubt"].get(k, 0.0) for s in held) for k in DOUBT_KINDS}
        whole = sum(by.values()) or 1.0
        cells = " | ".join(f"{by[k] / whole:.0%}" for k in DOUBT_KINDS)
        lines.append(f"| {'**all**' if kind == 'all' else kind} | {len(held)} | {sum(by.values()) / len(held):.2f} | {cells} |")
    mostly = Counter(max(DOUBT_KINDS, key=lambda k: s["doubt"].get(k, 0.0)) for r in results for s in r["sessions"]
                     if s["status"] == "review" and s.get("doubt"))
    if mostly:
        lines += ["", "Held receipts by their largest kind of doubt: " + ", ".join(f"{DOUBT_NAMES[k]} {n}" for k, n in mostly.most_common()) + "."]
    return lines
