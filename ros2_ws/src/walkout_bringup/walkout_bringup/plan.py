"""The stack's nodes: one list that the launch files and the local runner both read."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NodeSpec:
    package: str
    executable: str
    name: str
    needs_catalog: bool = False

    @property
    def config(self) -> str:
        """The node's parameter file inside its package's share/config."""
        return f"{self.executable}.yaml"


STACK: tuple[NodeSpec, ...] = (
    NodeSpec("walkout_perception", "weight_node", "weight_node", needs_catalog=True),
    NodeSpec("walkout_perception", "depth_node", "depth_node"),
    NodeSpec("walkout_perception", "camera_node", "camera_node", needs_catalog=True),
    NodeSpec("walkout_tracking", "tracker_node", "tracker_node"),
    NodeSpec("walkout_association", "association_node", "association_node", needs_catalog=True),
    NodeSpec("walkout_checkout", "checkout_node", "checkout_node", needs_catalog=True),
)
