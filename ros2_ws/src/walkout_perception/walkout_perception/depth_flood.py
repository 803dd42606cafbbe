"""Marker-controlled flooding of a top-down height map: which person each cell belongs to.

The water level drops from the heads down in small steps; at each level every cell above
it that touches a region joins that region (grown cell by cell, so a cell goes to the
region it is connected to, not simply to the nearest head). So a shoulder joins its own
head before the lower saddle to a neighbour is reached, and an arm joins the body it
leaves from as the level sinks along it.

scipy.ndimage.watershed_ift is not this: its path cost is the largest step between
neighbouring cells, so a low head floods a taller neighbour's shoulders through their
gentle slopes (a 0.3 m drop from a head to its own shoulders costs more).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

EIGHT = np.ones((3, 3), dtype=bool)


def flood(height: np.ndarray, markers: np.ndarray, mask: np.ndarray, step_m: float) -> np.ndarray:
    """Labels (int32, 0 = none) of every mask cell connected to a marker (> 0).

    height: the height map; markers: seed labels inside mask; mask: the cells that may be
    labelled. A connected blob with one marker is that marker's entirely; blobs with
    several are flooded level by level, every `step_m` metres of height.
    """
    labels = np.where(mask, markers, 0).astype(np.int32)
    blobs, _ = ndimage.label(mask, structure=EIGHT)
    for b, sl in enumerate(ndimage.find_objects(blobs), start=1):
        if sl is None:
            continue
        blob = blobs[sl] == b
        lab = labels[sl]  # a view: writes land in labels
        ids = np.unique(lab[blob])
        ids = ids[ids > 0]
        if len(ids) <= 1:
            if len(ids):
                lab[blob] = ids[0]
            continue
        h = np.where(blob, height[sl], -np.inf)
        top, bottom = float(h[blob].max()), float(h[blob].min())
        for level in [*np.arange(top - step_m, bottom, -step_m), -np.inf]:
            wet = blob & (h >= level)
            while True:
                free = wet & (lab == 0)
                if not free.any():
                    break
                grown = ndimage.grey_dilation(lab, footprint=EIGHT)
                new = free & (grown > 0)
                if not new.any():
                    break
                lab[new] = grown[new]
    return labels
