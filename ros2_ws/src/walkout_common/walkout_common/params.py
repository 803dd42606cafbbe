"""One source of parameters for a core and its node.

Each core keeps its parameters in a dataclass with defaults. A node declares every
field as a ROS parameter (so `ros2 param` and launch files see them); the offline
replay reads the very same `config/*.yaml` files. Nothing here imports rclpy: the
node is passed in and used through its public methods.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

import yaml

P = TypeVar("P")


def from_dict(cls: type[P], values: dict[str, Any], where: str = "parameters") -> P:
    """Builds a params dataclass, checking names and types; unknown names are errors."""
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ValueError(f"{where}: unknown parameters {unknown} for {cls.__name__} (known: {sorted(fields)})")
    kwargs = {}
    for name, value in values.items():
        default = _default(fields[name])
        if isinstance(default, bool) and not isinstance(value, bool):
            raise ValueError(f"{where}: parameter '{name}' must be true or false, got {value!r}")
        if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(default, tuple) and default:
            value = _as_tuple(value, type(default[0]), f"{where}: parameter '{name}'")
        if default is not None and not isinstance(value, type(default)):
            raise ValueError(f"{where}: parameter '{name}' must be {type(default).__name__}, got {value!r}")
        kwargs[name] = value
    return cls(**kwargs)


def _as_tuple(value: Any, kind: type, what: str) -> tuple:
    """A list parameter (YAML list, or rclpy's list or array) as the tuple a params field holds."""
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValueError(f"{what} must be a list of {kind.__name__}, got {value!r}")
    items = [float(v) if kind is float and isinstance(v, int) and not isinstance(v, bool) else v for v in value]
    if not items or not all(isinstance(v, kind) and not (kind is not bool and isinstance(v, bool)) for v in items):
        raise ValueError(f"{what} must be a list of {kind.__name__}, got {value!r}")
    return tuple(items)


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return None


def node_section(path: str | Path, node_name: str) -> dict[str, Any]:
    """The ros__parameters of `node_name` (or of `/**`) in a ROS 2 parameter file."""
    data = yaml.safe_load(Path(path).read_text()) or {}
    out: dict[str, Any] = {}
    for key in ("/**", "**", node_name, f"/{node_name}"):
        section = data.get(key)
        if isinstance(section, dict):
            out.update(section.get("ros__parameters", {}) or {})
    return out


def from_yaml(cls: type[P], path: str | Path | None, node_name: str, overrides: dict[str, Any] | None = None) -> P:
    """Params of a core from a node's parameter file, as the live node would read them."""
    values = node_section(path, node_name) if path else {}
    values = {k: v for k, v in values.items() if k in {f.name for f in dataclasses.fields(cls)}}  # type: ignore[arg-type]
    values.update(overrides or {})
    return from_dict(cls, values, f"{path or 'defaults'} [{node_name}]")


def declare(node: Any, cls: type[P], skip: tuple[str, ...] = ()) -> P:
    """Declares every field of a params dataclass on a node and returns their values."""
    values = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in skip:
            continue
        default = _default(f)
        values[f.name] = node.declare_parameter(f.name, default).value
    return from_dict(cls, values, f"node {node.get_name()}")
