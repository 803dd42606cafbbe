"""The probability that a session's basket ends as recorded, over its events jointly.

Each event was read on its own: hypotheses with probabilities. Multiplying, per event,
the probability that it changed the basket as recorded treats the events as independent,
but they are not: a shopper can only put back what they hold. If a near-twin was taken
(plain yoghurt 0.55, peach 0.35) and later put back, then in the world where it was the
peach, putting back a plain one is impossible and that return was the peach too: the
basket nets out to nothing in both worlds. So the events are replayed world by world (a
world: the basket's counts so far), each event's readings that would give back units
that world does not hold are dropped and the rest share their probability, and the
receipt is as sure as the total probability of the worlds that end as recorded.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

World = frozenset  # of (sku, count) pairs, counts nonzero
LOST = World({("", 0)})  # the reading was none of those kept: nothing is known of the basket after it
EMPTY = World()


def _free(key: str | tuple[str, str], free: str) -> bool:
    return (key[-1] if isinstance(key, tuple) else key) == free


def _apply(world: World, change: dict, free: str) -> World | None:
    counts = dict(world)
    for sku, n in change.items():
        counts[sku] = counts.get(sku, 0) + n
    if any(n < 0 for sku, n in counts.items() if not _free(sku, free)):
        return None  # gives back units this world never held
    return World((sku, n) for sku, n in counts.items() if n)


def worlds(changes: Iterable[list[tuple[float, dict[str, int]]]], free: str, keep: int = 256, floor: float = 1e-9,
           start: World = EMPTY) -> dict[World, float]:
    """The basket's final counts and their probabilities, given, per event in time order,
    its readings as (probability, change of this basket). `free`: a key that may go below
    zero (an unexplained return). Keys may be (session, sku) pairs, for several baskets
    at once (`free` is then the sku). The readings' missing mass (readings not kept) leads to
    LOST; worlds below `floor`, or beyond the `keep` likeliest, are dropped. `start`: the
    counts known before the first of them (a reviewer's decision)."""
    out: dict[World, float] = {start: 1.0}
    for readings in changes:
        other = max(0.0, 1.0 - sum(p for p, _ in readings))
        nxt: dict[World, float] = defaultdict(float)
        for world, pw in out.items():
            if world == LOST:
                nxt[LOST] += pw
                continue
            can = [(p, w) for p, change in readings if p > 0 and (w := _apply(world, change, free)) is not None]
            total = sum(p for p, _ in can) + other
            if total <= 0:
                nxt[LOST] += pw
                continue
            for p, w in can:
                nxt[w] += pw * p / total
            nxt[LOST] += pw * other / total
        ranked = sorted(((w, p) for w, p in nxt.items() if p >= floor), key=lambda wp: -wp[1])[:keep]
        out = dict(ranked)
    return out


def probability_as_recorded(final: dict[World, float], recorded: dict[str, int], sku: str | None, free: str) -> float:
    """P(the basket ends as `recorded`), or only its `sku` line (and its unexplained changes)."""
    if sku is None:
        want = World((k, n) for k, n in recorded.items() if n)
        return sum(p for w, p in final.items() if w == want)
    keys = (sku, free)
    return sum(p for w, p in final.items() if w != LOST and all(dict(w).get(k, 0) == recorded.get(k, 0) for k in keys))


def joint_changes(hypotheses: Iterable[tuple[float, dict[str, dict[str, int]]]], tokens: Iterable[str]) -> list[tuple[float, dict]]:
    """An event's readings as changes of several sessions' baskets at once, keyed (session,
    sku), from (probability, each session's change) pairs."""
    keep = set(tokens)
    return [(p, {(tok, sku): n for tok, change in effects.items() if tok in keep for sku, n in change.items()})
            for p, effects in hypotheses]


def given_baskets(final: dict[World, float], token: str, known: dict[str, dict[str, int]], free: str,
                  error: float = 0.0) -> dict[World, float]:
    """`token`'s basket worlds out of joint ones (keys (session, sku)), given that each
    session in `known` ends with those counts (a reviewer's decision; `free` keys aside),
    unless a decision is wrong (each with probability `error`, whatever the worlds'
    weights). LOST keeps its mass (what it held is unknown, so the decision says nothing of
    it: it stays as much a doubt as before); the worlds that agree with every decision
    share (1 - `error`) ** decisions of the rest, the others what is left (as they were,
    among themselves). Empty when no world agrees with `known`: the model never thought
    what the reviewer found possible."""
    agree: dict[World, float] = defaultdict(float)
    other: dict[World, float] = defaultdict(float)
    lost = final.get(LOST, 0.0)
    wanted = {tok: {k: n for k, n in want.items() if n} for tok, want in known.items()}
    for world, p in final.items():
        if world == LOST:
            continue
        parts: dict[str, dict[str, int]] = defaultdict(dict)
        for (tok, sku), n in world:
            parts[tok][sku] = n
        fits = all({k: n for k, n in parts.get(tok, {}).items() if k != free} == want for tok, want in wanted.items())
        (agree if fits else other)[World(parts.get(token, {}).items())] += p
    a_total, o_total = sum(agree.values()), sum(other.values())
    if a_total <= 0:
        return {}
    err = 1.0 - (1.0 - error) ** len(wanted) if o_total > 0 else 0.0
    out: dict[World, float] = defaultdict(float)
    for group, total, share in ((agree, a_total, 1.0 - err), (other, o_total, err)):
        for w, p in group.items() if share > 0 else ():
            out[w] += (1.0 - lost) * share * p / total
    return {**out, **({LOST: lost} if lost > 0 else {})}
