"""The whole Walkout pipeline in one process, on message time: the offline replay.

It wires the very cores the live nodes wrap (weight, depth, camera, tracker,
association, checkout) exactly as the topics do, and reads the nodes' own parameter
files, so a bag replayed here gives what the store's nodes would have given.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from walkout_association.associator import AssociationParams, Associator
from walkout_checkout.bridge import CheckoutBridge, CheckoutParams
from walkout_common import msgconv
from walkout_common.images import ImageEncodingError, color_to_rgb, depth_to_metres
from walkout_common.params import from_yaml
from walkout_common.store import Catalog, Store
from walkout_common.types import CONFIRMED, ENTRY, Basket, BasketLine, Receipt
from walkout_perception.depth import DepthParams, DepthPerceiver
from walkout_perception.weight import WeightEventDetector, WeightParams
from walkout_tracking.history import TrackHistory
from walkout_tracking.tracker import Tracker, TrackerParams

log = logging.getLogger("walkout.pipeline")

LOAD_CELLS = "/shelves/load_cells"
GATES = "/gates/events"


def config_file(package: str, node: str) -> Path | None:
    """A node's installed `config/<node>.yaml` (as launch finds it), else the source tree's."""
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        cand = Path(prefix) / "share" / package / "config" / f"{node}.yaml"
        if cand.is_file():
            return cand
    cand = Path(__file__).resolve().parents[2] / package / "config" / f"{node}.yaml"
    return cand if cand.is_file() else None


def node_params(cls: type, package: str, node: str, override: Path | None) -> Any:
    """Params as the node would read them: its config file, then an override file."""
    params = from_yaml(cls, config_file(package, node), node)
    if override is not None:
        from walkout_common.params import node_section

        values = {k: v for k, v in node_section(override, node).items() if k in params.__dict__}
        params = from_yaml(cls, config_file(package, node), node, values)
    return params


@dataclass
class PipelineStats:
    messages: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)  # reason -> count
    plate_events: int = 0
    item_events: int = 0
    detections: int = 0


class Pipeline:
    """Feed it bag messages in log order with `handle`; read receipts as they come."""

    def __init__(self, store: Store, catalog: Catalog, params_file: Path | None = None, seed: int = 0, with_vision: bool = True) -> None:
        self.store, self.catalog = store, catalog
        self.weight = WeightEventDetector(store, node_params(WeightParams, "walkout_perception", "weight_node", params_file))
        depth_params = node_params(DepthParams, "walkout_perception", "depth_node", params_file)
        self.depth = {c.id: DepthPerceiver(store, c, depth_params) for c in store.cameras_of_kind("depth")}
        self.tracker = Tracker(store, node_params(TrackerParams, "walkout_tracking", "tracker_node", params_file), seed=seed)
        self.associator = Associator(
            store, catalog, TrackHistory(), node_params(AssociationParams, "walkout_association", "association_node", params_file)
        )
        checkout_params = node_params(CheckoutParams, "walkout_checkout", "checkout_node", params_file)
        checkout_params.db_file = ""  # the replay keeps nothing on disk
        self.checkout = CheckoutBridge(store.store_id, checkout_params)
        self.colors = self._color_perceivers(params_file) if with_vision else {}
        self.routes: dict[str, tuple[str, str]] = {}
        for cam in store.cameras:
            self.routes[cam.image_topic] = ("image", cam.id)
            self.routes[cam.info_topic] = ("info", cam.id)
        self.receipts: list[Receipt] = []
        self.baskets: dict[str, Basket] = {}
        self.stats = PipelineStats()
        self.now = 0.0
        self._last_advance = -1e9
        self.track_log: list[tuple[float, str, float, float]] = []  # (t, id, x, y) at ~10 Hz, for scoring
        self.event_records: list = []  # every settled plate event's hypotheses, for scoring
        self.receipt_delays: list[float] = []  # per issued receipt: seconds from the exit to its decision (sensor time)
        self.approved_delays: list[float] = []  # of those, the ones approved when issued (the shopper's charge)
        self._last_logged = -1e9

    def _color_perceivers(self, params_file: Path | None) -> dict[str, Any]:
        cams = self.store.cameras_of_kind("color")
        if not cams:
            return {}
        try:
            from walkout_perception.products import CameraParams, ColorCameraPerceiver, ProductRecognizer
        except ImportError as exc:  # the camera model is optional evidence
            log.warning("no product recognition: %s", exc)
            return {}
        params = node_params(CameraParams, "walkout_perception", "camera_node", params_file)
        recognizer = ProductRecognizer(self.catalog, params=params)
        return {c.id: ColorCameraPerceiver(self.store, c, recognizer, params) for c in cams}

    # ---- one message --------------------------------------------------------
    def handle(self, topic: str, msg: Any) -> None:
        """Processes one message; a bad one is counted with its reason and skipped."""
        self.stats.messages[topic] += 1
        try:
            if topic == LOAD_CELLS:
                self._load_cells(msg)
            elif topic == GATES:
                self._gate(msg)
            elif topic in self.routes:
                kind, cam_id = self.routes[topic]
                self._camera(kind, cam_id, msg)
        except (msgconv.BadMessageError, ImageEncodingError, KeyError, ValueError) as exc:
            self._bad(topic, exc)

    def _bad(self, topic: str, exc: Exception) -> None:
        reason = f"{topic}: {exc}"
        if self.stats.errors[reason] == 0:
            log.warning("skipped a bad message on %s", reason)
        self.stats.errors[reason] += 1

    def _tick(self, stamp: float) -> None:
        self.now = max(self.now, stamp)
        if self.now - self._last_advance >= 0.1:
            self._last_advance = self.now
            self.tracker.advance(self.now)
            self._tracks_changed()

    def _load_cells(self, msg: Any) -> None:
        batch = msgconv.load_cell_batch(msg)
        self._tick(batch.stamp)
        events = self.weight.add_batch(batch)
        for reason in self.weight.rejected:
            self._bad(LOAD_CELLS, ValueError(reason))
        for event in events:
            if not event.settled:
                continue
            self.stats.plate_events += not event.unchanged
            items, baskets = self.associator.on_plate_event(event)
            if self.associator.last_record is not None and self.associator.last_record.event is event:
                self.event_records.append(self.associator.last_record)
            self.stats.item_events += len(items)
            for b in baskets:
                self._basket(b)
        # what the weight node reports live, on a timer: plates disturbed, not yet decided
        for event in self.weight.unsettled(batch.shelf_id):
            for b in self.associator.note_unsettled(event):
                self._basket(b)

    def _gate(self, msg: Any) -> None:
        event = msgconv.gate_event(msg)
        if event.gate_id not in self.store.gates_by_id:
            raise KeyError(f"gate '{event.gate_id}' is not in the store file")
        self._tick(event.stamp)
        if event.kind == ENTRY:
            b = self.associator.open_session(event.session_token, event.stamp)
            if b:
                self._basket(b)
        self.tracker.on_gate(event)
        self._tracks_changed()

    def _camera(self, kind: str, cam_id: str, msg: Any) -> None:
        stamp = msgconv.stamp_to_sec(msg.header.stamp)
        if kind == "info":
            k = [float(v) for v in msg.k]
            target = self.depth.get(cam_id) or self.colors.get(cam_id)
            if target is not None:
                import numpy as np

                target.set_camera_info(np.asarray(k).reshape(3, 3), int(msg.width), int(msg.height))
            return
        if cam_id in self.depth:
            frame = self.depth[cam_id].process(stamp, depth_to_metres(msg))
            self.stats.detections += len(frame.people)
            self._tick(stamp)
            self.tracker.update(frame)
            self._tracks_changed()
        elif cam_id in self.colors:
            hands = self.colors[cam_id].hands_to_look_at(self.tracker.snapshots(), stamp)
            if hands:
                for obs in self.colors[cam_id].process(stamp, color_to_rgb(msg), hands):
                    self.associator.add_observation(obs)

    def _tracks_changed(self) -> None:
        snaps = self.tracker.snapshots()
        for b in self.associator.observe_tracks(snaps, self.tracker.waiting_tokens()):
            self._basket(b)
        self.associator.prune(self.now)
        if self.now - self._last_logged >= 0.1:
            self._last_logged = self.now
            self.track_log.extend(
                (self.now, s.track_id, float(s.position[0]), float(s.position[1])) for s in snaps if s.state == CONFIRMED
            )

    def _basket(self, basket: Basket) -> None:
        self.baskets[basket.session_token] = basket
        receipt = self.checkout.on_basket(basket)
        if receipt is not None:
            before = [r for r in self.receipts if r.session_token == receipt.session_token]
            self.receipts = [r for r in self.receipts if r.session_token != receipt.session_token]  # an amendment replaces it
            self.receipts.append(receipt)
            if not before or before[0].exit_stamp != receipt.exit_stamp:  # not a held receipt revised (revise_held)
                self.receipt_delays.append(self.now - receipt.exit_stamp)  # sensor time from the exit to the receipt
                if receipt.status == "approved":
                    self.approved_delays.append(self.now - receipt.exit_stamp)

    def review(self, token: str, lines: list[BasketLine], reviewer: str = "reviewer",
               verdicts: list[tuple[str, str]] = ()) -> Receipt | None:
        """A reviewer decides a held receipt (as the console does), saying too what
        happened in some of its plate events (`verdicts`: event id, reading), and the
        association takes both at once and reads again the sessions they touch
        (`Associator.settle`): those it settles are approved without a reviewer. Returns
        the decided receipt, or None."""
        decided = self.checkout.db.decide(token, reviewer, lines, verdicts=verdicts)
        if decided is None:
            return None
        for b in self.associator.settle(token, {ln.sku: ln.quantity for ln in decided.lines}, verdicts):
            self._basket(b)
        self.receipts = [decided if r.session_token == token else r for r in self.receipts]
        return decided

    # ---- end ----------------------------------------------------------------
    def finish(self) -> list[Receipt]:
        """Every receipt: issued ones, then 'open' ones for sessions still inside."""
        for b in self.associator.release_held():  # the recording ended before their plates settled
            self._basket(b)
        still_open = self.checkout.open_receipts(self.now)  # also sessions that came back in after their receipt
        inside = {r.session_token for r in still_open}
        issued = [r for r in self.receipts if r.session_token not in inside]
        return sorted(issued, key=lambda r: (r.exit_stamp, r.session_token)) + sorted(still_open, key=lambda r: r.session_token)
