"""The contract's store files: `store.yaml` (layout) and `catalog.yaml` (products).

Loading validates every field and names the culprit (file, entry, field) on bad input,
so a store engineer sees at once which line to fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml


class StoreFileError(ValueError):
    """A store or catalog file that does not follow the contract."""


@dataclass(frozen=True)
class Gate:
    id: str
    kind: str  # entry | exit | both
    center: np.ndarray  # (2,) floor point, map
    width: float
    normal: np.ndarray  # (2,) unit, into the store

    def accepts(self, kind: str) -> bool:
        return self.kind == "both" or self.kind == kind


@dataclass(frozen=True)
class Plate:
    id: str
    shelf_id: str
    center: np.ndarray  # (3,) middle of the top surface, map
    size: np.ndarray  # (2,) width along the shelf front, depth into the shelf
    front_normal: np.ndarray  # (2,) unit, shelf -> aisle
    capacity_g: float

    @property
    def along(self) -> np.ndarray:
        """Unit vector along the shelf front (the plate's width direction)."""
        n = self.front_normal
        return np.array([-n[1], n[0]])

    @property
    def front_center(self) -> np.ndarray:
        """Middle of the plate's front edge, at the plate's height (3,)."""
        xy = self.center[:2] + self.front_normal * (self.size[1] / 2.0)
        return np.array([xy[0], xy[1], self.center[2]])

    def footprint(self, margin: float = 0.0) -> np.ndarray:
        """The plate's four floor corners (4, 2), grown by `margin` metres."""
        half_w = self.size[0] / 2.0 + margin
        half_d = self.size[1] / 2.0 + margin
        c, a, n = self.center[:2], self.along, self.front_normal
        return np.array([c + sa * half_w * a + sn * half_d * n for sa, sn in ((-1, -1), (1, -1), (1, 1), (-1, 1))])

    def distance_to_front(self, points: np.ndarray) -> np.ndarray:
        """Horizontal distance from points (..., >=2) to the plate's front edge segment."""
        p = np.asarray(points, dtype=float)[..., :2] - self.front_center[:2]
        along = p @ self.along
        half = self.size[0] / 2.0
        clipped = np.clip(along, -half, half)
        closest = clipped[..., None] * self.along
        return np.linalg.norm(p - closest, axis=-1)


@dataclass(frozen=True)
class Camera:
    id: str
    kind: str  # depth | color
    frame_id: str
    image_topic: str
    info_topic: str
    translation: np.ndarray  # (3,) optical frame origin in map
    rotation: np.ndarray  # (4,) quaternion x, y, z, w (optical frame -> map)

    @property
    def rotation_matrix(self) -> np.ndarray:
        return quaternion_to_matrix(self.rotation)

    @property
    def transform(self) -> np.ndarray:
        """4x4 homogeneous transform from the optical frame to map."""
        t = np.eye(4)
        t[:3, :3] = self.rotation_matrix
        t[:3, 3] = self.translation
        return t


@dataclass(frozen=True)
class Store:
    store_id: str
    frame_id: str
    floor_min: np.ndarray
    floor_max: np.ndarray
    gates: tuple[Gate, ...]
    plates: tuple[Plate, ...]
    cameras: tuple[Camera, ...]
    path: Path | None = None
    warnings: tuple[str, ...] = ()  # entries skipped (e.g. a camera with no pose), for the caller to log

    @property
    def plates_by_id(self) -> dict[str, Plate]:
        return {p.id: p for p in self.plates}

    @property
    def gates_by_id(self) -> dict[str, Gate]:
        return {g.id: g for g in self.gates}

    @property
    def shelves(self) -> dict[str, list[Plate]]:
        out: dict[str, list[Plate]] = {}
        for p in self.plates:
            out.setdefault(p.shelf_id, []).append(p)
        return out

    def cameras_of_kind(self, kind: str) -> list[Camera]:
        return [c for c in self.cameras if c.kind == kind]


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price_cents: int
    weight_g: float
    weight_std_g: float
    plates: tuple[str, ...]
    image: Path | None = None


@dataclass(frozen=True)
class Catalog:
    currency: str
    products: tuple[Product, ...]
    path: Path | None = None
    by_sku: dict[str, Product] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        self.by_sku.update({p.sku: p for p in self.products})

    def stocked_on(self, plate_id: str) -> list[Product]:
        """Products the planogram puts on a plate (it can be wrong)."""
        return [p for p in self.products if plate_id in p.plates]


def quaternion_to_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrix of a unit quaternion (x, y, z, w)."""
    x, y, z, w = np.asarray(q, dtype=float) / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def matrix_to_quaternion(m: np.ndarray) -> np.ndarray:
    """Unit quaternion (x, y, z, w) of a rotation matrix."""
    m = np.asarray(m, dtype=float)
    tr = np.trace(m)
    if tr > 0:
        s = 2.0 * np.sqrt(tr + 1.0)
        q = [(m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, 0.25 * s]
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2])
        q = [0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s, (m[2, 1] - m[1, 2]) / s]
    elif m[1, 1] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2])
        q = [(m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s, (m[0, 2] - m[2, 0]) / s]
    else:
        s = 2.0 * np.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1])
        q = [(m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s, (m[1, 0] - m[0, 1]) / s]
    q = np.array(q)
    return q / np.linalg.norm(q)


class _Reader:
    """Reads fields of one YAML mapping and names the culprit on any error."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise StoreFileError(f"{where}: expected a mapping, got {type(data).__name__}")
        self.data, self.where = data, where

    def get(self, key: str, default: Any = ...) -> Any:
        if key not in self.data or self.data[key] is None:
            if default is ...:
                raise StoreFileError(f"{self.where}: missing field '{key}'")
            return default
        return self.data[key]

    def text(self, key: str, default: Any = ...) -> str:
        value = self.get(key, default)
        if not isinstance(value, (str, int)) or str(value) == "":
            raise StoreFileError(f"{self.where}: field '{key}' must be a non-empty string, got {value!r}")
        return str(value)

    def number(self, key: str, default: Any = ..., positive: bool = False) -> float:
        value = self.get(key, default)
        try:
            out = float(value)
        except (TypeError, ValueError):
            raise StoreFileError(f"{self.where}: field '{key}' must be a number, got {value!r}") from None
        if not np.isfinite(out) or (positive and out <= 0):
            raise StoreFileError(f"{self.where}: field '{key}' must be a {'positive ' if positive else ''}finite number, got {value!r}")
        return out

    def vector(self, key: str, n: int, unit: bool = False) -> np.ndarray:
        value = self.get(key)
        try:
            out = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            out = np.zeros(0)
        if out.shape != (n,) or not np.all(np.isfinite(out)):
            raise StoreFileError(f"{self.where}: field '{key}' must be a list of {n} numbers, got {value!r}")
        if unit:
            norm = np.linalg.norm(out)
            if norm < 1e-9:
                raise StoreFileError(f"{self.where}: field '{key}' must be a non-zero vector, got {value!r}")
            out = out / norm
        return out

    def items(self, key: str) -> list[Any]:
        value = self.get(key, [])
        if not isinstance(value, list):
            raise StoreFileError(f"{self.where}: field '{key}' must be a list, got {type(value).__name__}")
        return value


def _load_yaml(path: str | Path) -> Any:
    p = Path(path)
    if not p.is_file():
        raise StoreFileError(f"{p}: no such file")
    try:
        return yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        raise StoreFileError(f"{p}: not valid YAML: {exc}") from None


def load_store(path: str | Path) -> Store:
    """Reads and validates `store.yaml`."""
    path = Path(path)
    top = _Reader(_load_yaml(path), str(path))
    floor = _Reader(top.get("floor"), f"{path}: floor")
    gates, plates, cameras, warnings = [], [], [], []
    seen: set[str] = set()

    def unique(kind: str, ident: str, where: str) -> str:
        if ident in seen:
            raise StoreFileError(f"{where}: duplicate id '{ident}'")
        seen.add(ident)
        return ident

    for i, raw in enumerate(top.items("gates")):
        r = _Reader(raw, f"{path}: gates[{i}]")
        gid = unique("gate", r.text("id"), r.where)
        kind = r.text("kind")
        if kind not in ("entry", "exit", "both"):
            raise StoreFileError(f"{r.where} ({gid}): kind must be entry, exit or both, got {kind!r}")
        gates.append(Gate(gid, kind, r.vector("center", 2), r.number("width", positive=True), r.vector("normal", 2, unit=True)))
    for i, raw in enumerate(top.items("plates")):
        r = _Reader(raw, f"{path}: plates[{i}]")
        pid = unique("plate", r.text("id"), r.where)
        size = r.vector("size", 2)
        if np.any(size <= 0):
            raise StoreFileError(f"{r.where} ({pid}): size must be positive, got {size.tolist()}")
        plates.append(
            Plate(pid, r.text("shelf_id"), r.vector("center", 3), size, r.vector("front_normal", 2, unit=True), r.number("capacity_g", 1e9, positive=True))
        )
    for i, raw in enumerate(top.items("cameras")):
        r = _Reader(raw, f"{path}: cameras[{i}]")
        cid = unique("camera", r.text("id"), r.where)
        kind = r.text("kind")
        if kind not in ("depth", "color"):
            raise StoreFileError(f"{r.where} ({cid}): kind must be depth or color, got {kind!r}")
        if r.get("pose", None) is None:
            # One camera without a pose must not stop the store: skip it, say so.
            warnings.append(f"{r.where} ({cid}): camera has no pose; it is not used")
            continue
        pose = _Reader(r.get("pose"), f"{r.where} ({cid}): pose")
        cameras.append(
            Camera(
                cid,
                kind,
                r.text("frame_id", f"{cid}_optical_frame"),
                r.text("image_topic"),
                r.text("info_topic"),
                pose.vector("translation", 3),
                pose.vector("rotation", 4, unit=True),
            )
        )
    return Store(
        store_id=top.text("store_id"),
        frame_id=top.text("frame_id", "map"),
        floor_min=floor.vector("min", 2),
        floor_max=floor.vector("max", 2),
        gates=tuple(gates),
        plates=tuple(plates),
        cameras=tuple(cameras),
        path=path,
        warnings=tuple(warnings),
    )


def load_catalog(path: str | Path, store: Store | None = None) -> Catalog:
    """Reads and validates `catalog.yaml`; with a store, checks plate ids exist."""
    path = Path(path)
    top = _Reader(_load_yaml(path), str(path))
    known_plates = set(store.plates_by_id) if store else None
    products, seen = [], set()
    for i, raw in enumerate(top.items("products")):
        r = _Reader(raw, f"{path}: products[{i}]")
        sku = r.text("sku")
        if sku in seen:
            raise StoreFileError(f"{r.where}: duplicate sku '{sku}'")
        seen.add(sku)
        where = f"{r.where} ({sku})"
        price = r.get("price_cents")
        if not isinstance(price, int) or price < 0:
            raise StoreFileError(f"{where}: price_cents must be a non-negative integer, got {price!r}")
        plates = tuple(str(p) for p in r.items("plates"))
        if known_plates is not None:
            unknown = [p for p in plates if p not in known_plates]
            if unknown:
                raise StoreFileError(f"{where}: plates {unknown} are not in {store.path if store else 'the store'}")
        image = r.get("image", None)
        products.append(
            Product(
                sku=sku,
                name=str(r.get("name", sku)),
                price_cents=price,
                weight_g=r.number("weight_g", positive=True),
                weight_std_g=max(r.number("weight_std_g", 0.0), 0.0),
                plates=plates,
                image=(path.parent / image) if image else None,
            )
        )
    if not products:
        raise StoreFileError(f"{path}: the catalog has no products")
    return Catalog(currency=top.text("currency", "USD"), products=tuple(products), path=path)
