"""A top-down plot of one scenario's tracking: the true paths against the tracks.

True paths are grey, each track a colour of its own (ids are random, so colours say only
which points are one track); shelves are drawn from the store's plates, the gates as
lines. A swap shows as a colour jumping from one grey path to another.
"""

from __future__ import annotations

import numpy as np

from walkout_common.store import Store

from .track_metrics import TrackLog, paths


def plot_tracks(store: Store, truth: TrackLog, predicted: TrackLog, path: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Polygon

    lo, hi = store.floor_min, store.floor_max
    fig, ax = plt.subplots(figsize=(7, 7 * (hi[1] - lo[1] + 1) / (hi[0] - lo[0] + 1)))
    for plate in store.plates:
        ax.add_patch(Polygon(plate.footprint(), closed=True, facecolor="#d9cdb8", edgecolor="#8a7a60", lw=0.5))
    for gate in store.gates:
        along = np.array([gate.normal[1], -gate.normal[0]]) * gate.width / 2
        a, b = gate.center - along, gate.center + along
        ax.plot([a[0], b[0]], [a[1], b[1]], color="black", lw=3)
        ax.annotate(gate.id, gate.center, textcoords="offset points", xytext=(4, 4), fontsize=7)
    for p in paths(truth).values():
        ax.plot(p[:, 1], p[:, 2], color="grey", lw=4, alpha=0.35, solid_capstyle="round")
    cmap = plt.get_cmap("tab20")
    for i, p in enumerate(paths(predicted).values()):
        ax.plot(p[:, 1], p[:, 2], ".", color=cmap(i % 20), ms=2)
    ax.set_xlim(lo[0] - 0.5, hi[0] + 0.5)
    ax.set_ylim(lo[1] - 0.5, hi[1] + 0.5)
    ax.set_aspect("equal")
    ax.set_xlabel("x (m, map)")
    ax.set_ylabel("y (m, map)")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
