"""Kalman-based shopper-item association and the live baskets it keeps.

For each settled plate event: who made it (tracks' hands and Kalman-predicted heads
around the event, `who.py`) and what moved (`what.py`), joined into hypotheses
(session, reading) with probabilities. Each session's basket follows the most probable
hypothesis of every event, and its confidence is the probability that every event
touched it exactly as recorded: for each event, the summed probability of the
hypotheses that give this session the same change.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field, fields, make_dataclass
from typing import Any

from walkout_common.store import Catalog, Store
from walkout_common.types import (
    Basket,
    BasketLine,
    ItemEvent,
    PlateEvent,
    ProductObservation,
    TrackCandidate,
    TrackSnapshot,
)

from .sessions import SessionWatcher
from .what import Option, Reading, WhatParams, read_weight
from .who import WhoParams, who_made

UNKNOWN = "?"  # an effect nobody can price: an unexplained change


@dataclass
class _OwnParams:
    # where items can come from
    off_planogram_prior: float = 0.01  # the planogram can be wrong: total, over all other products
    foreign_prior: float = 1.0  # items put back on this plate from elsewhere
    other_basket_prior: float = 0.03  # a return of another session's item (handed over)
    unowned_return_prior: float = 0.002  # a return of an item no basket holds
    learn_planogram_probability: float = 0.9  # off-planogram takes this sure teach the plate
    vision_window_s: float = 1.5
    vision_hand_radius_m: float = 0.35
    sessions_per_event: int = 4  # sessions considered as the actor of one event
    two_actor_prior: float = 0.05  # two shoppers' takes in one disturbance of one plate
    nobody_review_p: float = 0.002  # an item moved by nobody billed: who could have done it goes to review
    # Recalibration of a basket's (and line's) confidence, fitted on the evaluation suite
    # (`./walkout eval --fit`): p' = sigmoid(slope * logit(p) + offset).
    calibration_slope: float = 1.0
    calibration_offset: float = 0.0
    hypotheses_kept: int = 24
    history_s: float = 30.0


def recalibrated(p: float, slope: float, offset: float) -> float:
    """Platt scaling on the log-odds; p of exactly 0 or 1 stays put."""
    if p <= 0.0 or p >= 1.0 or (slope == 1.0 and offset == 0.0):
        return p
    z = slope * math.log(p / (1.0 - p)) + offset
    return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0


def _sub(self, cls: type) -> object:
    """The WhoParams or WhatParams part of the flat parameter set."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in self.__dict__.items() if k in names})


# One flat set of ROS parameters for the node: who's, what's and the associator's own.
AssociationParams = make_dataclass(
    "AssociationParams",
    [(f.name, f.type, field(default=f.default)) for cls in (WhoParams, WhatParams, _OwnParams) for f in fields(cls)],
    namespace={"sub": _sub},
)


Item = tuple[str, str, int]  # (sku, owner, count)


@dataclass
class Hypothesis:
    session: str  # the actor's session ('' = an unbound track or nobody tracked)
    track_id: str
    reading: Reading
    probability: float
    action: int
    # Two shoppers at one plate in one disturbance: the partner's session, and how the
    # reading's units split ((actor's items), (partner's items)).
    partner: str = ""
    shares: tuple[tuple[Item, ...], tuple[Item, ...]] | None = None

    def assignments(self) -> list[tuple[str, Item]]:
        """(session, item) for every item of the reading, as this hypothesis bills it."""
        if self.shares is None:
            return [(self.session, it) for it in self.reading.items]
        return [(self.session, it) for it in self.shares[0]] + [(self.partner, it) for it in self.shares[1]]

    def label(self) -> str:
        if self.shares is None:
            return f"{self.reading.label()} by {self.session or 'nobody tracked'}"
        return " and ".join(f"{Reading(items).label()} by {who}" for who, items in zip((self.session, self.partner), self.shares, strict=True))

    def effects(self) -> dict[str, dict[str, int]]:
        """Signed change of each session's basket under this hypothesis."""
        out: dict[str, dict[str, int]] = defaultdict(dict)
        if self.reading.is_nothing:
            if self.session:
                out[self.session][UNKNOWN] = 1
            return out
        for session, (sku, owner, n) in self.assignments():
            if self.action == ItemEvent.TAKE:
                if session:
                    out[session][sku] = out[session].get(sku, 0) + n
            else:
                target = owner or session
                if target:
                    key = sku if owner else UNKNOWN  # returning what no basket held
                    out[target][key] = out[target].get(key, 0) - n
        return out


def splits(reading: Reading) -> list[tuple[tuple[Item, ...], tuple[Item, ...], float]]:
    """Ways two shoppers can share a reading's units (each takes at least one), with
    their prior weights (summing to 1): k of n units of one SKU, or one SKU each."""
    items = reading.items
    if len(items) == 1 and items[0][2] >= 2:
        sku, owner, n = items[0]
        return [(((sku, owner, k),), ((sku, owner, n - k),), 1.0 / (n - 1)) for k in range(1, n)]
    if len(items) == 2:
        a, b = items
        return [((a,), (b,), 0.5), ((b,), (a,), 0.5)]
    return []


@dataclass
class EventRecord:
    event: PlateEvent
    action: int
    hypotheses: list[Hypothesis]  # most probable first; the rest of the mass is "other"
    restored: bool = False  # carried over from the checkout store: its probability is final already

    @property
    def best(self) -> Hypothesis:
        return self.hypotheses[0]

    def consistent(self, token: str, sku: str | None = None) -> float:
        """P(this event changed `token`'s basket (or its `sku` line) as recorded)."""
        want = self.best.effects().get(token, {})
        total = 0.0
        for h in self.hypotheses:
            got = h.effects().get(token, {})
            if sku is None:
                same = got == want
            else:
                same = got.get(sku, 0) == want.get(sku, 0) and got.get(UNKNOWN, 0) == want.get(UNKNOWN, 0)
            if same:
                total += h.probability
        return total


@dataclass
class Session:
    token: str
    opened: float
    closed: float | None = None
    events: list[EventRecord] = field(default_factory=list)  # every event that may touch it
    reasons: list[str] = field(default_factory=list)


class Associator:
    """Turns settled plate events into item events and per-session baskets."""

    def __init__(self, store: Store, catalog: Catalog, history, params: Any = None) -> None:
        self.store, self.catalog = store, catalog
        self.params = params or AssociationParams()  # type: ignore[operator]
        self.who_params: WhoParams = self.params.sub(WhoParams)  # type: ignore[assignment]
        self.what_params: WhatParams = self.params.sub(WhatParams)  # type: ignore[assignment]
        self.history = history  # walkout_tracking.history.TrackHistory
        self.watcher = SessionWatcher()
        self.sessions: dict[str, Session] = {}
        self.foreign: dict[str, Counter] = defaultdict(Counter)  # plate -> skus put back there
        self.learned: dict[str, set[str]] = defaultdict(set)  # plate -> skus seen taken there
        self.observations: list[ProductObservation] = []
        self._plates = store.plates_by_id
        self._seen_events: set[str] = set()
        self.last_record: EventRecord | None = None  # the latest event's hypotheses (replay scoring, evidence)

    # ---- inputs -------------------------------------------------------------
    def open_session(self, token: str, stamp: float) -> Basket | None:
        if not token or token in self.sessions:
            return None
        self.sessions[token] = Session(token, stamp)
        return self.basket(token)

    def restore(self, basket: Basket) -> bool:
        """After a restart: take back a session's basket as the durable checkout store
        kept it, as one carried-over event with the basket's own confidence. Only for
        sessions this associator has no events of yet. True when restored."""
        known = self.sessions.get(basket.session_token)
        if not basket.session_token or not basket.open or (known is not None and known.events):
            return False
        self.open_session(basket.session_token, basket.stamp)
        session = self.sessions[basket.session_token]
        event = PlateEvent("", "", basket.stamp, basket.stamp, 0.0, 0.0, True, f"restored:{basket.session_token}")
        items = tuple((ln.sku, "", int(ln.quantity)) for ln in basket.lines if ln.quantity > 0 and ln.sku in self.catalog.by_sku)
        reading = Reading(items, probability=float(basket.confidence))
        hyp = Hypothesis(basket.session_token, "", reading, float(basket.confidence), ItemEvent.TAKE)
        self._seen_events.add(event.event_id)
        if items:
            session.events.append(EventRecord(event, ItemEvent.TAKE, [hyp], restored=True))
        session.reasons.extend(r for r in basket.review_reasons if r not in session.reasons and not r.startswith("low confidence"))
        return True

    def observe_tracks(self, snaps: list[TrackSnapshot]) -> list[Basket]:
        """Feeds the track history; returns baskets of sessions opened or closed now."""
        for s in snaps:
            self.history.add(s)
        new, closed = self.watcher.observe(snaps)
        out = []
        for token in new:
            b = self.open_session(token, min(s.stamp for s in snaps if s.session_token == token))
            if b:
                out.append(b)
        for token, stamp in closed:
            b = self.close_session(token, stamp)
            if b:
                out.append(b)
        return out

    def close_session(self, token: str, stamp: float) -> Basket | None:
        self.open_session(token, stamp)
        session = self.sessions[token]
        if session.closed is not None:
            return None
        session.closed = stamp
        return self.basket(token, stamp)

    def add_observation(self, obs: ProductObservation) -> None:
        self.observations.append(obs)
        horizon = obs.stamp - self.params.history_s
        if self.observations[0].stamp < horizon:
            self.observations = [o for o in self.observations if o.stamp >= horizon]

    def prune(self, now: float) -> None:
        self.history.prune(now - self.params.history_s)

    # ---- plate events -------------------------------------------------------
    def on_plate_event(self, event: PlateEvent) -> tuple[list[ItemEvent], list[Basket]]:
        plate = self._plates.get(event.plate_id)
        if plate is None:
            raise KeyError(f"plate event for unknown plate '{event.plate_id}' (not in {self.store.path})")
        if not event.event_id:
            event.event_id = f"{event.plate_id}@{event.end:.3f}"
        if event.event_id in self._seen_events:  # redelivered: already counted
            return [], []
        self._seen_events.add(event.event_id)
        p = self.params
        window = self.history.window(event.start - p.window_before_s, event.end + p.window_after_s)
        cands = who_made(plate, event, window, self.who_params)
        actors, pairs = self._actors_and_pairs(cands)
        track_of = {}
        for c in cands:
            track_of.setdefault(c.session_token, c.track_id)

        action = ItemEvent.TAKE if event.delta_g < 0 else ItemEvent.RETURN
        vision = self._vision(plate, event)
        hyps: list[Hypothesis] = []
        if action == ItemEvent.TAKE:
            readings, _ = read_weight(abs(event.delta_g), event.delta_std_g, self._take_options(event.plate_id), self.what_params, vision)
            for token, pw in actors:
                for r in readings:
                    hyps.append(Hypothesis(token, track_of.get(token, ""), r, pw * r.probability, action))
            for (t1, t2), pw in pairs:
                for r in readings:
                    for mine, theirs, prior in splits(r):
                        hyps.append(Hypothesis(t1, track_of.get(t1, ""), r, pw * r.probability * prior, action,
                                               partner=t2, shares=(mine, theirs)))
            # a pair of actors fits only readings they can share: renormalise over all
            norm = sum(h.probability for h in hyps)
            for h in hyps:
                h.probability /= norm
        else:
            joint: list[tuple[str, Reading, float]] = []
            for token, pw in actors:
                readings, log_ev = read_weight(abs(event.delta_g), event.delta_std_g, self._return_options(event.plate_id, token), self.what_params, vision)
                joint.extend((token, r, math.log(max(pw, 1e-300)) + log_ev + math.log(max(r.probability, 1e-300))) for r in readings)
            top = max(j[2] for j in joint)
            norm = sum(math.exp(j[2] - top) for j in joint)
            hyps = [Hypothesis(t, track_of.get(t, ""), r, math.exp(lp - top) / norm, action) for t, r, lp in joint]
        hyps.sort(key=lambda h: -h.probability)
        hyps = [h for h in hyps[: p.hypotheses_kept] if h.probability > 1e-6] or hyps[:1]
        record = EventRecord(event, action, hyps)
        self.last_record = record
        self._apply_stock(record)

        involved: set[str] = set()
        for h in hyps:
            involved.update(t for t in h.effects() if t)
        for token in involved:
            self.open_session(token, event.start)
            self.sessions[token].events.append(record)
        best = record.best
        if best.session and best.reading.is_nothing:
            self.sessions[best.session].reasons.append(
                f"unexplained weight change of {event.delta_g:+.0f} g on plate {event.plate_id} at t={event.end:.1f} s"
            )
        elif best.action == ItemEvent.RETURN and any(not owner for _, owner, _ in best.reading.items) and best.session:
            self.sessions[best.session].reasons.append(
                f"return of {best.reading.label()} on plate {event.plate_id} at t={event.end:.1f} s matches no basket"
            )
        elif not best.session and not best.reading.is_nothing:
            for token, pw in actors:
                if token and pw > p.nobody_review_p:
                    self.sessions[token].reasons.append(
                        f"{best.reading.label()} moved on plate {event.plate_id} at t={event.end:.1f} s by no tracked shopper"
                    )
        items = self._item_events(record, cands)
        baskets = [self.basket(t) for t in sorted(involved)]
        return items, baskets

    def _actors_and_pairs(self, cands: list) -> tuple[list[tuple[str, float]], list[tuple[tuple[str, str], float]]]:
        """The likeliest actor sessions with probabilities, and pairs of two sessions'
        shoppers taking in one disturbance with weights on the same scale. A pair weighs
        both actors' evidence times the prior of two takes at once: it counts only when
        both show an arm at the plate."""
        p = self.params
        like: dict[str, float] = {}
        share: dict[str, float] = {}
        for c in cands:
            like[c.session_token] = like.get(c.session_token, 0.0) + c.likelihood
            share[c.session_token] = share.get(c.session_token, 0.0) + c.share_likelihood
        like[""] = like.get("", 0.0) + self.who_params.nobody_likelihood
        top = sorted(like.items(), key=lambda kv: -kv[1])[: p.sessions_per_event]
        near = sorted((kv for kv in share.items() if kv[0]), key=lambda kv: -kv[1])[: p.sessions_per_event]
        pairs = [((a, b), p.two_actor_prior * la * lb) for i, (a, la) in enumerate(near) for b, lb in near[i + 1 :]]
        z = sum(like.values())  # the singles' normaliser: takes renormalise over both once readings are known
        return [(t, w / z) for t, w in top], [(ab, w / z) for ab, w in pairs]

    def _take_options(self, plate_id: str) -> list[Option]:
        p = self.params
        off = p.off_planogram_prior / max(len(self.catalog.products), 1)
        prior: dict[str, float] = {prod.sku: off for prod in self.catalog.products}
        for prod in self.catalog.stocked_on(plate_id):
            prior[prod.sku] = 1.0
        for sku in self.learned[plate_id]:
            prior[sku] = 1.0
        for sku, n in self.foreign[plate_id].items():
            if n > 0:
                prior[sku] = max(prior.get(sku, 0.0), p.foreign_prior)
        return [self._option(sku, pr) for sku, pr in prior.items() if sku in self.catalog.by_sku]

    def _return_options(self, plate_id: str, actor: str) -> list[Option]:
        p = self.params
        opts: list[Option] = []
        for token, session in self.sessions.items():
            if session.closed is not None:
                continue
            held = self.counts(token)
            for sku, n in held.items():
                if n > 0 and sku in self.catalog.by_sku:
                    opts.append(self._option(sku, 1.0 if token == actor else p.other_basket_prior, owner=token))
        for prod in self.catalog.stocked_on(plate_id):
            opts.append(self._option(prod.sku, p.unowned_return_prior))
        return opts

    def _option(self, sku: str, prior: float, owner: str = "") -> Option:
        prod = self.catalog.by_sku[sku]
        return Option(sku, prod.weight_g, prod.weight_std_g, prior, owner)

    def _vision(self, plate, event: PlateEvent) -> dict[str, float] | None:
        p = self.params
        t0, t1 = event.start - p.vision_window_s, event.end + p.vision_window_s
        seen = [
            o for o in self.observations if t0 <= o.stamp <= t1 and float(plate.distance_to_front(o.hand)) <= p.vision_hand_radius_m
        ]
        if not seen:
            return None
        acc: dict[str, float] = defaultdict(float)
        for o in seen:
            for sku, prob in o.scores.items():
                if sku:
                    acc[sku] += prob / len(seen)
        return dict(acc) or None

    def _apply_stock(self, record: EventRecord) -> None:
        best, plate_id = record.best, record.event.plate_id
        stocked = {prod.sku for prod in self.catalog.stocked_on(plate_id)}
        for sku, _owner, n in best.reading.items:
            if record.action == ItemEvent.RETURN:
                if sku not in stocked:
                    self.foreign[plate_id][sku] += n
            else:
                if self.foreign[plate_id][sku] > 0:
                    self.foreign[plate_id][sku] = max(0, self.foreign[plate_id][sku] - n)
                elif sku not in stocked and best.probability >= self.params.learn_planogram_probability:
                    self.learned[plate_id].add(sku)

    def _item_events(self, record: EventRecord, cands) -> list[ItemEvent]:
        best, ev = record.best, record.event
        alternatives: list[tuple[str, float]] = []
        seen_labels = {best.label()}
        for h in record.hypotheses[1:]:
            label = h.label()
            if label not in seen_labels:
                seen_labels.add(label)
                alternatives.append((label, h.probability))
            if len(alternatives) >= 5:
                break
        tracks = [TrackCandidate(c.track_id, c.session_token, c.probability) for c in cands[:5]]
        note = "" if best.probability >= 0.95 else f"uncertain: {best.probability:.2f}"
        items = best.assignments() or [(best.session, ("", "", 0))]
        return [
            ItemEvent(
                event_id=ev.event_id if len(items) == 1 else f"{ev.event_id}#{i}",
                stamp=ev.end,
                plate_id=ev.plate_id,
                action=record.action,
                sku=sku,
                quantity=n,
                session_token=session,
                probability=best.probability,
                candidates=tracks,
                alternatives=alternatives,
                delta_g=ev.delta_g,
                note=note + (f"; returned item of session {owner}" if owner and owner != session else "")
                + (f"; taken together with {best.partner if session == best.session else best.session}" if best.shares else ""),
            )
            for i, (session, (sku, owner, n)) in enumerate(items)
        ]

    # ---- baskets ------------------------------------------------------------
    def counts(self, token: str) -> Counter:
        out: Counter = Counter()
        session = self.sessions.get(token)
        if session is None:
            return out
        for rec in session.events:
            for sku, n in rec.best.effects().get(token, {}).items():
                out[sku] += n
        return out

    def raw_confidence(self, token: str, sku: str | None = None) -> tuple[float, float]:
        """P(every event changed `token`'s basket (or its `sku` line) as recorded), before
        recalibration: (the product over its own events, over restored ones)."""
        events = self.sessions[token].events
        return (math.prod(rec.consistent(token, sku) for rec in events if not rec.restored),
                math.prod(rec.consistent(token, sku) for rec in events if rec.restored))

    def _confidence(self, token: str, sku: str | None = None) -> float:
        """The recalibrated confidence (a restored event's probability is final already)."""
        raw, kept = self.raw_confidence(token, sku)
        return recalibrated(raw, self.params.calibration_slope, self.params.calibration_offset) * kept

    def basket(self, token: str, stamp: float | None = None) -> Basket:
        session = self.sessions[token]
        counts = self.counts(token)
        reasons = list(dict.fromkeys(session.reasons))
        lines = []
        for sku in sorted(k for k in counts if k != UNKNOWN):
            n = counts[sku]
            if n < 0:
                reasons.append(f"more {sku} returned than taken ({n})")
                continue
            if n == 0:
                continue
            prod = self.catalog.by_sku[sku]
            prob = self._confidence(token, sku)
            lines.append(BasketLine(sku, prod.name, n, prod.price_cents, prob))
        confidence = self._confidence(token)
        last = max([rec.event.end for rec in session.events], default=session.opened)
        return Basket(
            session_token=token,
            stamp=stamp if stamp is not None else (session.closed if session.closed is not None else last),
            lines=lines,
            currency=self.catalog.currency,
            confidence=confidence,
            open=session.closed is None,
            review_reasons=reasons,
        )
