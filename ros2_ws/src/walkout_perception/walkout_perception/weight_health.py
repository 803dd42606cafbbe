"""A plate's health for the store engineer: can it show the products on it? Never imports
rclpy (the weight node publishes it as diagnostics)."""

from __future__ import annotations

from walkout_common.store import Catalog

from .weight import PlateStatus

OK, WARN, STALE = 0, 1, 3  # diagnostic_msgs/DiagnosticStatus levels


def lightest_products(catalog: Catalog | None) -> dict[str, tuple[str, float]]:
    """plate id -> (name, grams) of the lightest product the planogram puts on it."""
    out: dict[str, tuple[str, float]] = {}
    for prod in catalog.products if catalog else ():
        for plate in prod.plates:
            if plate not in out or prod.weight_g < out[plate][1]:
                out[plate] = (prod.name, prod.weight_g)
    return out


class ShelfClock:
    """The shelves' time now, for staleness: their newest reading's stamp, moved on by the
    node's own clock since it came. (The newest reading alone stands still when every
    shelf falls silent, and an outage of the whole store went unflagged.) The shelves'
    clock and the node's may differ by any offset; only the node clock's run counts."""

    def __init__(self) -> None:
        self._newest: tuple[float, float] | None = None  # (shelf stamp, node time it came)

    def heard(self, stamp: float, arrival: float) -> None:
        if self._newest is None or stamp >= self._newest[0]:
            self._newest = (stamp, arrival)

    def now(self, node_now: float) -> float:
        if self._newest is None:
            return 0.0
        stamp, arrival = self._newest
        return stamp + max(0.0, node_now - arrival)


def plate_health(status: PlateStatus, lightest: tuple[str, float] | None, now: float, stale_s: float) -> tuple[int, str]:
    """(level, message) of one plate: stale with no reading for `stale_s`; a warning where
    its lightest product is under the smallest change it shows (a unit of it taken or put
    back settles back as a touch: weighed for whoever was in reach, never sure)."""
    if status.last_stamp is None:
        return STALE, "no readings yet"
    if now - status.last_stamp > stale_s:
        return STALE, f"no readings for {now - status.last_stamp:.0f} s"
    if lightest is not None and lightest[1] < status.smallest_change_g:
        name, grams = lightest
        return WARN, (f"its lightest product, {name} ({grams:g} g), is under the smallest change it shows "
                      f"({status.smallest_change_g:.1f} g): such a unit moved is weighed as a touch, never sure")
    return OK, f"shows changes from {status.smallest_change_g:.1f} g"
