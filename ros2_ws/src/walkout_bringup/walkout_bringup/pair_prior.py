"""Two arms at one plate, in the eval report: how often both were actors, by how well the
weaker arm was seen (`Associator.arm_seen`). These counts on the fitting suite are the
association's two-actor priors (`two_actor_prior`, `two_actor_prior_glimpsed`,
`two_actor_prior_hidden`); on any other suite they check them. Never imports rclpy.
"""

from __future__ import annotations

from typing import Any

SEEN_NAMES = ("never seen at the plate (a hidden arm's share)", "glimpsed (fewer looks within the change, its margins only, "
              "or a tip that may be another's)", "there while the weight changed")


def pair_samples(associator: Any, records: list, events: list) -> list[tuple[int, bool]]:
    """Per scored plate event with two sessions the association weighs as a pair (the
    strongest two of `Associator.pair_candidates`): how well the weaker one's arm was seen
    (0-2, `Associator.arm_seen`) and whether both were among the event's true actors."""
    by_id = {r.event.event_id: r for r in records}
    out = []
    for ev in events:
        rec = by_id.get(ev.event_id)
        top = associator.pair_candidates(rec.candidates)[:2] if rec is not None else []
        if len(top) == 2:
            out.append((min(seen for _, _, seen in top), all(t in ev.actors for t, _, _ in top)))
    return out


def pair_section(samples: list[tuple[int, bool]], priors: tuple[float, float, float] | None) -> list[str]:
    """The report's table: per bin, events, how many had two actors, the Jeffreys estimate
    ((two + 1/2) / (events + 1)) and the prior the association used."""
    lines = ["Two arms at one plate (per event, the two sessions the association weighs as a pair), by how well the weaker arm "
             "was seen: how often both were actors, against the association's prior:", "",
             "| the weaker arm | events | two actors | observed (Jeffreys) | prior used |", "|---|---|---|---|---|"]
    for seen in (2, 1, 0):
        n = sum(1 for s, _ in samples if s == seen)
        two = sum(1 for s, both in samples if s == seen and both)
        prior = f"{priors[seen]:.3f}" if priors else "–"
        lines.append(f"| {SEEN_NAMES[seen]} | {n} | {two} | {(two + 0.5) / (n + 1):.3f} | {prior} |")
    return lines
