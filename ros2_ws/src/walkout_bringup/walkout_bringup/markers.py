"""What RViz2 shows, as plain marker specs: plates, gates, tracks, reaches, baskets.

No rclpy here: markers_node.py turns these into visualization_msgs/MarkerArray.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from walkout_common.store import Store
from walkout_common.types import TrackSnapshot

CUBE, SPHERE, LINE_LIST, TEXT = 1, 2, 5, 9  # visualization_msgs/Marker types


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


def plate_markers(store: Store, active: dict[str, float], now: float, glow_s: float = 3.0) -> list[MarkerSpec]:
    """Plates as thin boxes; a plate glows red (take) or green (return) after an event."""
    out = []
    for i, p in enumerate(store.plates):
        delta = active.get(p.id)
        color = (0.6, 0.6, 0.6, 0.8)
        if delta is not None:
            color = (0.9, 0.2, 0.2, 1.0) if delta < 0 else (0.2, 0.8, 0.3, 1.0)
        yaw = float(np.arctan2(p.along[1], p.along[0]))
        out.append(MarkerSpec("plates", i, CUBE, tuple(p.center), yaw, (float(p.size[0]), float(p.size[1]), 0.02), color))
    return out


def gate_markers(store: Store) -> list[MarkerSpec]:
    out = []
    for i, g in enumerate(store.gates):
        along = np.array([-g.normal[1], g.normal[0]]) * g.width / 2
        a, b = g.center - along, g.center + along
        color = {"entry": (0.2, 0.8, 0.2, 1.0), "exit": (0.9, 0.4, 0.1, 1.0)}.get(g.kind, (0.2, 0.5, 0.9, 1.0))
        out.append(MarkerSpec("gates", i, LINE_LIST, scale=(0.05, 0.0, 0.0), color=color, points=[(a[0], a[1], 0.01), (b[0], b[1], 0.01)]))
        out.append(MarkerSpec("gate_labels", i, TEXT, (g.center[0], g.center[1], 0.3), scale=(0.0, 0.0, 0.15), text=g.id))
    return out


def track_markers(snaps: list[TrackSnapshot], totals: dict[str, int], currency: str = "") -> list[MarkerSpec]:
    """A sphere per head, a line per reaching arm, and the session's running total."""
    out = []
    for i, s in enumerate(snaps):
        bound = bool(s.session_token)
        color = (0.1, 0.5, 1.0, 1.0) if bound else (0.7, 0.7, 0.7, 0.8)
        x, y, z = (float(v) for v in s.position)
        out.append(MarkerSpec("heads", i, SPHERE, (x, y, z - 0.1), scale=(0.22, 0.22, 0.22), color=color))
        label = s.session_token or "unbound"
        if s.session_token in totals:
            label += f"  {totals[s.session_token] / 100:.2f} {currency}".rstrip()
        out.append(MarkerSpec("labels", i, TEXT, (x, y, z + 0.25), scale=(0.0, 0.0, 0.14), text=label))
        if s.hands:
            pts = []
            for h in s.hands:
                pts += [(x, y, z - 0.3), (float(h[0]), float(h[1]), float(h[2]))]
            out.append(MarkerSpec("reaches", i, LINE_LIST, scale=(0.03, 0.0, 0.0), color=(1.0, 0.8, 0.1, 1.0), points=pts))
    return out
