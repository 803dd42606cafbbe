"""People from one overhead depth camera: head points and reaching-arm tips in map.

depth image + CameraInfo + the camera's pose (store.yaml) -> point cloud in map (open3d)
-> floor and shelves removed (floor height, plate footprints from store.yaml) -> a
top-down height map -> heads as its local maxima above a person's minimum height ->
each person's region by flooding from the heads (watershed) (so touching shoulders split, and an
arm belongs to the body it is connected to) -> head top, height, and arm tips: the
region's points stretched farthest from the head.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import open3d as o3d
from scipy import ndimage

from walkout_common.store import Camera, Store
from walkout_common.types import DetectionFrame, PersonDetection

from .depth_arms import ArmFit, arm_fits, contacts, owners
from .depth_background import BackgroundParams, DepthBackground
from .depth_flood import flood
from .depth_head import HeadCentre
from .depth_shelves import shelf_map

log = logging.getLogger("walkout.depth")


@dataclass
class DepthParams:
    floor_margin_m: float = 0.3  # points below this height are floor (and feet)
    shelf_margin_m: float = 0.03  # plate footprints grown by this much are shelf
    gondola_gap_m: float = 0.5  # plates on one front line this close are one gondola (the gap is shelf too)
    cell_m: float = 0.04  # height-map resolution
    min_head_m: float = 1.25  # lowest head top of a person (contract: 1.45 m tall, minus noise)
    head_separation_m: float = 0.26  # heads can be 0.35 m apart
    head_peak_window_m: float = 0.18  # a head's top is the highest point this wide around it (a neighbour's shoulder may be higher just beyond)
    body_min_m: float = 0.6  # a person's region in the height map is above this
    shoulder_drop_m: float = 0.12  # a peak this much lower right beside a head is a shoulder
    head_band_m: float = 0.06  # the head top is the mean of its points this close below its highest
    head_radius_m: float = 0.15  # the head's points lie this close to its peak
    # A head seen at a slant shows its near side: its top band is moved back by the offset
    # of a sphere this big (adult heads: 0.155 m broad, 0.195 m long), away from the camera
    # (depth_head.py). 0: off.
    head_sphere_m: float = 0.09
    min_area_m2: float = 0.03  # smaller regions are noise
    person_min_area_m2: float = 0.07  # a smaller region beside a body is one of its limbs,
    # unless its top is a head's dome, round, not an arm's strip: in a jam (heads 0.35 m
    # apart) a short shopper's shoulders go to a taller neighbour's region, and its own
    # is small. The cells within head_cap_m of its peak must spread this much (sd) across
    # their narrowest axis. Rendered jams of 0.36-0.40 m: squeezed heads 0.041-0.053 m;
    # hands and forearms raised up to head height 0.017-0.035 m, a few more (inf: every
    # small region is a limb).
    head_cap_m: float = 0.08
    head_cap_min_sd_m: float = 0.04
    head_dome_apart_m: float = 0.33  # ... and stands this far from the peak of the region it would join (heads: 0.35 m)
    shelf_head_clearance_m: float = 0.15  # no head peaks this close to a shelf: an arm does
    # nor, for this camera, closer than this many depth-noise sd along its view ray, seen
    # from the side: noise pushes the points of products on a shelf seen at a slant out
    # into the aisle at head height (1.5 % of 5 m: 0.2 m), where they pile up as a "head"
    shelf_noise_sigmas: float = 3.5
    border_px: float = 3.0  # tops this close to the image border are cut-off people
    arm_min_reach_m: float = 0.35  # arm tips farther than this from the head count
    arm_max_reach_m: float = 1.1
    arm_touch_min_reach_m: float = 0.2  # nearer than this to the head is the shoulder
    shelf_touch_m: float = 0.08
    below_shoulder_m: float = 0.45
    low_arm_min_reach_m: float = 0.26
    arm_min_cells: int = 3
    max_range_m: float = 8.0
    # Images wider than this are read at every n-th pixel (row and column), n the smallest
    # whole number that brings them to this width or less: the height map's 4 cm cells and
    # the arm test need no more (0: every pixel). The fitting suite's first 63 sessions
    # recorded at 640x480: read whole, 27 approved and right and F1 0.966 at 0.6x real
    # time; at 320 wide 32, 0.983, 2.3x; at 160 wide 26, 0.937, 3.6x (160x120 cameras: 27).
    work_width_px: int = 320
    flood_step_m: float = 0.03  # water-level step when splitting touching people
    # Hands at shelves (depth_arms.py): foreground blobs touching a shelf front, each given
    # to whoever's arm the camera does not see through.
    contact_zone_m: float = 0.25  # foreground this near a shelf front may be a hand there
    contact_touch_m: float = 0.2  # and come this close to it (a hand touching a shelf looks like the shelf: its wrist is seen)
    contact_min_points: int = 3
    contact_min_reach_m: float = 0.25  # nearer the head, a body touching a shelf (walking close by) is no hand
    arm_shoulder_frac: float = 0.82  # shoulder joints at this fraction of the height,
    arm_shoulder_half_m: float = 0.17  # this far either side of the head
    arm_skip_m: float = 0.15  # the first part of an arm lies over its own shoulder: not tested
    arm_end_skip_m: float = 0.06  # nor the hand itself
    arm_step_m: float = 0.03
    arm_window_px: int = 1  # an arm sample reads the median of a (2r+1)^2 window
    arm_radius_m: float = 0.06  # the arm's near surface is up to this much before its axis
    arm_sight_tol_m: float = 0.05  # depth agreement of an arm sample,
    arm_sight_noise_frac: float = 0.01  # plus depth noise of the window's median (1.5 % of range a pixel)
    arm_seen_p: float = 0.9  # P(a sample of a real arm is seen at its depth, not through)
    arm_chance_p: float = 0.3  # P(a sample of an arm that is not there finds a surface anyway)
    arm_samples_per_look: float = 3.0  # neighbouring samples are not independent
    arm_min_seen: int = 3
    arm_max_contradicted: float = 0.5  # a blob whose best arm is seen through more is no hand
    arm_owner_ratio: float = 4.0  # arms this nearly as likely as the best own the hand too
    # Someone this camera cannot report (head out of its view) may own a hand it sees: the
    # best arm from such a place (heads of these heights, this far from the hand) competes
    # with the people in view, and those it beats by arm_owner_ratio do not get the hand.
    unseen_heights_m: tuple[float, ...] = (1.55, 1.95)
    unseen_reach_m: tuple[float, ...] = (0.35, 0.6, 0.85)
    unseen_bearings: int = 12
    # The learned background (depth_background.py): static things the store files don't
    # describe (slanted shelf faces, products sticking out) are no people and no hands.
    background_learn_s: float = 1.5  # a depth held this long with nobody near is background (0 = off)
    background_protect_m: float = 0.5  # pixels this near a detected head never learn (nor bodies and hands)


class DepthPerceiver:
    def __init__(self, store: Store, camera: Camera, params: DepthParams | None = None) -> None:
        self.store, self.camera = store, camera
        self.params = params or DepthParams()
        self.intrinsic: o3d.camera.PinholeCameraIntrinsic | None = None
        self.size: tuple[int, int] | None = None  # the camera's image (width, height)
        self.stride = 1  # every stride-th pixel is read (work_width_px)
        self.extrinsic = np.linalg.inv(camera.transform)  # map -> optical frame
        self._shelves = shelf_map(store.plates, self.params.shelf_margin_m, self.params.shelf_head_clearance_m, self.params.gondola_gap_m)
        self._warned_distortion = False
        self.background: DepthBackground | None = None
        self._body = np.zeros(0, dtype=bool)  # the last frame's points that belong to someone
        self._head_centre = HeadCentre(camera.translation, self.params.head_sphere_m, self.params.head_band_m)

    def _new_background(self, shape: tuple[int, int]) -> DepthBackground | None:
        p = self.params
        if p.background_learn_s <= 0:
            return None
        return DepthBackground(shape, BackgroundParams(learn_s=p.background_learn_s, protect_m=p.background_protect_m))

    @property
    def ready(self) -> bool:
        return self.intrinsic is not None

    def set_camera_info(self, k: np.ndarray, width: int, height: int, d: np.ndarray | None = None) -> None:
        k = np.asarray(k, dtype=float).reshape(3, 3)
        if width <= 0 or height <= 0 or k[0, 0] <= 0 or k[1, 1] <= 0:
            raise ValueError(f"camera {self.camera.id}: CameraInfo has no usable intrinsics (k={k.ravel().tolist()}, {width}x{height})")
        if d is not None and np.any(np.abs(np.asarray(d)) > 1e-9) and not self._warned_distortion:
            self._warned_distortion = True
            log.warning("camera %s: non-zero distortion coefficients are ignored", self.camera.id)
        width, height = int(width), int(height)
        cap = self.params.work_width_px
        stride = max(1, math.ceil(width / cap)) if cap > 0 else 1
        read_w, read_h = -(-width // stride), -(-height // stride)  # the image as read: every stride-th pixel
        if self.size != (width, height) or self.stride != stride:
            self.background = self._new_background((read_h, read_w))
        self.size, self.stride = (width, height), stride
        # pixel (u, v) of the strided image is (stride u, stride v) of the camera's
        self.intrinsic = o3d.camera.PinholeCameraIntrinsic(read_w, read_h, k[0, 0] / stride, k[1, 1] / stride, k[0, 2] / stride, k[1, 2] / stride)

    def points(self, depth_m: np.ndarray, organized: bool = False) -> np.ndarray:
        """(n, 3) points in map of every valid pixel; `organized`: one per pixel, row-major,
        NaN where there is no reading."""
        if self.intrinsic is None or self.size is None:
            raise ValueError(f"camera {self.camera.id}: depth image before its CameraInfo")
        if depth_m.shape != (self.intrinsic.height, self.intrinsic.width):
            raise ValueError(f"camera {self.camera.id}: depth image is {depth_m.shape[1]}x{depth_m.shape[0]}, "
                             f"CameraInfo says {self.intrinsic.width}x{self.intrinsic.height}")
        d = np.nan_to_num(depth_m.astype(np.float32), nan=0.0)
        pcd = o3d.geometry.PointCloud.create_from_depth_image(
            o3d.geometry.Image(d), self.intrinsic, self.extrinsic, depth_scale=1.0, depth_trunc=self.params.max_range_m,
            project_valid_depth_only=not organized,
        )
        return np.asarray(pcd.points)

    def foreground(self, pts: np.ndarray) -> np.ndarray:
        """Points that are neither floor nor shelf."""
        return pts[self._foreground_mask(pts)]

    def _foreground_mask(self, pts: np.ndarray) -> np.ndarray:
        keep = pts[:, 2] > self.params.floor_margin_m
        keep[keep] = ~self._shelves.in_shelf(pts[keep, :2])
        return keep

    def process(self, stamp: float, depth_m: np.ndarray) -> DetectionFrame:
        depth_m = self._strided(depth_m)
        cloud = self.points(depth_m, organized=True)
        depth = np.nan_to_num(np.asarray(depth_m, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        seen = np.isfinite(cloud[:, 0])
        if self.background is not None:
            seen &= self.background.foreground(depth).ravel()
        pix = np.flatnonzero(seen)
        keep = self._foreground_mask(cloud[pix])
        pix, pts = pix[keep], cloud[pix[keep]]
        people = self.people(pts)
        hands = self._hands_at_shelves(pts, depth, people)
        if self.background is not None:
            # people's bodies and the hands given to them are never learned, nor anything by a head
            protect = self._near_heads(cloud, people)
            protect[pix[self._body | hands]] = True
            self.background.update(stamp, depth, protect.reshape(depth.shape))
        return DetectionFrame(stamp, self.camera.id, people)

    def _strided(self, depth_m: np.ndarray) -> np.ndarray:
        """The camera's image read at every `stride`-th pixel (checked against its CameraInfo)."""
        if self.size is None:
            raise ValueError(f"camera {self.camera.id}: depth image before its CameraInfo")
        if depth_m.shape != (self.size[1], self.size[0]):
            raise ValueError(f"camera {self.camera.id}: depth image is {depth_m.shape[1]}x{depth_m.shape[0]}, CameraInfo says {self.size[0]}x{self.size[1]}")
        return depth_m[:: self.stride, :: self.stride] if self.stride > 1 else depth_m

    def _near_heads(self, cloud: np.ndarray, people: list[PersonDetection]) -> np.ndarray:
        """bool per pixel: its point lies within `background_protect_m` of a detected head."""
        near = np.zeros(len(cloud), dtype=bool)
        r2 = self.params.background_protect_m**2
        for d in people:
            with np.errstate(invalid="ignore"):
                near |= ((cloud[:, 0] - d.head[0]) ** 2 + (cloud[:, 1] - d.head[1]) ** 2) < r2
        return near

    def _project(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pixel coordinates (u, v) and optical-axis depth of map points."""
        assert self.intrinsic is not None
        pc = pts @ self.extrinsic[:3, :3].T + self.extrinsic[:3, 3]
        k = self.intrinsic.intrinsic_matrix
        z = pc[:, 2]
        safe = np.where(z > 1e-6, z, 1.0)
        return k[0, 0] * pc[:, 0] / safe + k[0, 2], k[1, 1] * pc[:, 1] / safe + k[1, 2], z

    def _hands_at_shelves(self, pts: np.ndarray, depth: np.ndarray, people: list[PersonDetection]) -> np.ndarray:
        """Replaces each person's arm tips at shelves by the hands found there apart from
        the bodies (depth_arms.py), given to whoever's arm the camera does not see through.
        Returns which points are hands given to someone."""
        p = self.params
        given = np.zeros(len(pts), dtype=bool)
        far = [[h for h in d.hands if float(self._shelf_distance(h[None, :2])[0]) >= p.contact_zone_m] for d in people]
        if len(pts) and people:
            heads = np.array([d.head for d in people])
            heights = np.array([d.height_m for d in people])
            for c in contacts(pts, self._shelf_distance(pts[:, :2]), p.contact_zone_m, p.contact_touch_m, p.cell_m, p.contact_min_points):
                reach = np.linalg.norm(heads[:, :2] - c.tip[:2], axis=1)
                cands = np.flatnonzero((reach >= p.contact_min_reach_m) & (reach <= p.arm_max_reach_m) & self._from_aisle(heads[:, :2], c.tip))
                if not len(cands):
                    continue
                fits = arm_fits(heads[cands], heights[cands], c.tip, depth, self._project, p)
                # someone this camera cannot report competes too: it takes the hand from those it beats
                unseen = self._unseen_arm(c.tip, depth)
                for k in owners(fits + ([unseen] if unseen else []), p):
                    if k == len(cands):
                        continue
                    far[cands[k]].append(c.tip)
                    given[c.members] = True
        for d, hands in zip(people, far, strict=True):
            d.hands = hands
        return given

    def _unseen_arm(self, tip: np.ndarray, depth: np.ndarray) -> ArmFit | None:
        """The best arm to the hand at `tip` from where this camera could not report a
        person (head out of its view or cut by its border), among heads of a few heights
        and distances; None if every such arm is seen through as much as it is seen."""
        p = self.params
        bearings = np.linspace(0.0, 2 * np.pi, p.unseen_bearings, endpoint=False)
        ring = np.stack([np.cos(bearings), np.sin(bearings)], axis=1)
        xy = (tip[:2] + np.asarray(p.unseen_reach_m)[:, None, None] * ring[None]).reshape(-1, 2)
        xy = xy[self._from_aisle(xy, tip)]
        heads = np.array([[*q, h] for h in p.unseen_heights_m for q in xy]).reshape(-1, 3)
        heads = heads[~self._shelves.near_shelf(heads[:, :2]) & self._outside_view(heads)]
        fits = [f for f in arm_fits(heads, heads[:, 2], tip, depth, self._project, p) if f.supported > f.contradicted]
        return max(fits, key=lambda f: f.log_ratio(p)) if fits else None

    def _from_aisle(self, xy: np.ndarray, tip: np.ndarray) -> np.ndarray:
        """bool per head place (n, 2): an arm from there reaches `tip` from the aisle, its near
        part crossing no plate (an arm through a shelf would find the shelf's surfaces all along)."""
        along = np.linspace(0.0, 0.6, 7)
        near_part = xy[:, None] + along[None, :, None] * (tip[:2] - xy)[:, None]
        return (self._shelf_distance(near_part.reshape(-1, 2)).reshape(len(xy), len(along)) > 0).all(axis=1)

    def people(self, pts: np.ndarray) -> list[PersonDetection]:
        p = self.params
        self._body = np.zeros(len(pts), dtype=bool)
        if len(pts) < 10:
            return []
        origin = pts[:, :2].min(axis=0) - 2 * p.cell_m
        idx = np.floor((pts[:, :2] - origin) / p.cell_m).astype(int)
        shape = tuple(idx.max(axis=0) + 3)
        flat = np.ravel_multi_index((idx[:, 0], idx[:, 1]), shape)
        hmap = np.zeros(int(np.prod(shape)))
        np.maximum.at(hmap, flat, pts[:, 2])
        hmap = hmap.reshape(shape)
        # Holes inside a person (missing pixels) would split regions: close them.
        filled = ndimage.grey_closing(hmap, size=(3, 3))
        body = filled > p.body_min_m
        size = max(int(round(p.head_peak_window_m / p.cell_m)), 3) | 1
        peaks = (filled == ndimage.maximum_filter(filled, size=size)) & (filled >= p.min_head_m)
        labels, n = ndimage.label(peaks)
        if n == 0:
            return []
        markers = np.zeros(shape, dtype=np.int32)
        centres = ndimage.center_of_mass(peaks, labels, range(1, n + 1))
        order = sorted(range(n), key=lambda i: -filled[tuple(np.round(centres[i]).astype(int))])
        kept: list[np.ndarray] = []
        for i in order:
            c = np.array(centres[i])
            if all(np.linalg.norm(c - k) * p.cell_m >= p.head_separation_m for k in kept):
                kept.append(c)
                markers[tuple(np.round(c).astype(int))] = len(kept)
        # Watershed on the inverted height map: each head floods downhill into its body.
        # Flood from the heads down: each head takes its shoulders before the saddle to a neighbour.
        regions = flood(filled, markers, body, p.flood_step_m)
        regions = self._merge_limbs(regions, len(kept), filled, origin)
        cell_of_pt = regions[idx[:, 0], idx[:, 1]]
        out: list[PersonDetection] = []
        bodies: list[int] = []  # region labels of people, whole or cut by the border (not shelf clutter)
        for k in range(1, len(kept) + 1):
            mine = pts[cell_of_pt == k]
            if len(mine) < 5 or (regions == k).sum() * p.cell_m**2 < p.min_area_m2:
                continue
            # The head is at this region's own marker (not at a raised arm that peaks higher).
            marker_xy = origin + (kept[k - 1] + 0.5) * p.cell_m
            near = mine[np.linalg.norm(mine[:, :2] - marker_xy, axis=1) < p.head_radius_m]
            if len(near) < 3:
                near = mine
            top = near[:, 2].max()
            head_pts = near[near[:, 2] >= top - p.head_band_m]
            head = np.array([head_pts[:, 0].mean(), head_pts[:, 1].mean(), float(np.median(head_pts[:, 2]))])
            if self._near_shelf(head[:2]) or self._shelf_noise(head):
                continue
            bodies.append(k)
            if self._at_border(head):
                continue
            head = self._head_centre(head)  # the filters above judge what was seen; the person is this
            out.append(PersonDetection(head=head, height_m=float(head[2]), hands=self._arm_tips(mine, head), num_points=len(mine)))
        self._body = np.isin(cell_of_pt, bodies)
        # A shoulder or a raised arm beside a higher head is part of that person.
        return [
            d for d in out
            if not any(
                o is not d and np.linalg.norm(o.head[:2] - d.head[:2]) < p.head_separation_m + 0.05 and o.height_m - d.height_m > p.shoulder_drop_m
                for o in out
            )
        ]

    def _merge_limbs(self, regions: np.ndarray, n: int, hmap: np.ndarray, origin: np.ndarray) -> np.ndarray:
        """A region too small for a body (a raised arm's own peak, or a head whose body
        was flooded from a raised arm) joins the neighbouring region it touches most,
        under the label of the higher peak; an isolated one is a (small)
        person, unless it peaks at a shelf front: then it is stray shelf-edge noise."""
        p = self.params
        min_cells = p.person_min_area_m2 / p.cell_m**2
        areas = ndimage.sum_labels(np.ones_like(regions), regions, range(n + 1))
        peaks = ndimage.maximum(hmap, regions, range(n + 1))
        where = ndimage.maximum_position(hmap, regions, range(n + 1))
        # An arm reaching into a shelf peaks at the shelf front, where no head can be.
        at_shelf = [k > 0 and self._near_shelf(origin + (np.array(where[k]) + 0.5) * p.cell_m) for k in range(n + 1)]
        for k in sorted(range(1, n + 1), key=lambda k: areas[k]):
            if (areas[k] >= min_cells and not at_shelf[k]) or areas[k] == 0:
                continue
            mask = regions == k
            ring = ndimage.binary_dilation(mask, iterations=1) & ~mask
            neighbours = regions[ring]
            neighbours = neighbours[(neighbours > 0) & (neighbours != k)]
            if len(neighbours):
                best = int(np.bincount(neighbours).argmax())
                apart = float(np.linalg.norm(np.subtract(where[k], where[best]))) * p.cell_m
                if not at_shelf[k] and apart >= p.head_dome_apart_m and self._head_dome(mask, hmap, peaks[k]):
                    continue  # a squeezed head, not a limb
                # one body: keep the label of the higher peak (the head), whichever is small
                keep, drop = (best, k) if (peaks[best] >= peaks[k] or at_shelf[k]) and not at_shelf[best] else (k, best)
                regions[regions == drop] = keep
                areas[keep] = areas[best] + areas[k]
                areas[drop] = 0
                continue
            if at_shelf[k]:  # stray shelf-edge points on their own
                regions[mask] = 0
        return regions

    def _head_dome(self, mask: np.ndarray, hmap: np.ndarray, peak: float) -> bool:
        """Is the top of this region (its cells within head_cap_m of its peak, joined to
        the peak) a head's round dome rather than a limb's narrow strip?"""
        p = self.params
        cap, _ = ndimage.label(mask & (hmap >= peak - p.head_cap_m))
        at = np.unravel_index(np.argmax(np.where(mask, hmap, -np.inf)), hmap.shape)
        cells = np.argwhere(cap == cap[at])
        return len(cells) >= 4 and float(np.sqrt(max(np.linalg.eigvalsh(np.cov(cells.T))[0], 0.0))) * p.cell_m >= p.head_cap_min_sd_m

    def _near_shelf(self, xy: np.ndarray) -> bool:
        return bool(self._shelves.near_shelf(np.asarray(xy, dtype=float)[None, :2])[0])

    def _shelf_noise(self, head: np.ndarray) -> bool:
        """Could this head be a shelf's points pushed out by depth noise? A point moved
        k sd along this camera's ray moves k * noise * (its horizontal distance from the
        camera) across the floor."""
        noise = self.background.noise_frac if self.background is not None else BackgroundParams.noise_frac
        reach = self.params.shelf_noise_sigmas * noise * float(np.linalg.norm(head[:2] - self.camera.translation[:2]))
        return reach > self.params.shelf_head_clearance_m and float(self._shelf_distance(head[None, :2])[0]) < reach

    def _at_border(self, point: np.ndarray) -> bool:
        """A person cut by the image border shows a false top: leave them to another camera."""
        return bool(self._outside_view(np.asarray(point, dtype=float)[None, :3])[0])

    def _outside_view(self, points: np.ndarray) -> np.ndarray:
        """bool per map point (n, 3): behind the camera, out of its image or within
        `border_px` of the image border."""
        assert self.intrinsic is not None
        u, v, z = self._project(points)  # pixels of the image as read (strided)
        b, w, h = self.params.border_px, self.intrinsic.width, self.intrinsic.height
        return (z <= 0) | ~((b <= u) & (u <= w - 1 - b) & (b <= v) & (v <= h - 1 - b))

    def _shelf_distance(self, xy: np.ndarray) -> np.ndarray:
        """Horizontal distance of points to the nearest plate footprint."""
        return self._shelves.distance_to(xy)

    def _arm_tips(self, pts: np.ndarray, head: np.ndarray) -> list[np.ndarray]:
        p = self.params
        rel = pts[:, :2] - head[:2]
        dist = np.linalg.norm(rel, axis=1)
        below = pts[:, 2] < head[2] - 0.1
        # An arm is seen up to the shelf front: whatever of a person touches a shelf is a
        # hand there, even when the person stands close and the arm looks short.
        touching = below & (dist > p.arm_touch_min_reach_m) & (self._shelf_distance(pts[:, :2]) < p.shelf_touch_m)
        # Below the shoulders the body is narrow: anything sticking out there is an arm.
        low = (pts[:, 2] < head[2] - p.below_shoulder_m) & (dist > p.low_arm_min_reach_m)
        # An arm reaching up to a high shelf may rise above the head: far points count at any height.
        arm = ((dist > p.arm_min_reach_m) | touching | low) & (dist < p.arm_max_reach_m)
        if arm.sum() < p.arm_min_cells:
            return []
        tips = []
        cand = pts[arm]
        cd, ang = dist[arm], np.arctan2(rel[arm, 1], rel[arm, 0])
        for _ in range(2):
            if len(cand) < p.arm_min_cells:
                break
            i = int(np.argmax(cd))
            # the tip: the farthest few points, averaged against noise
            near = (np.abs(np.angle(np.exp(1j * (ang - ang[i])))) < 0.35) & (cd > cd[i] - 0.06)
            tips.append(cand[near].mean(axis=0))
            other = np.abs(np.angle(np.exp(1j * (ang - ang[i])))) > np.radians(60)
            cand, cd, ang = cand[other], cd[other], ang[other]
        return tips
