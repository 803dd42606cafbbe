"""The bits every Walkout node shares. Only nodes import this module (it uses rclpy);
the cores in walkout_common never do."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class WarnOnce:
    """Mixin for a Node: log each distinct bad-input reason once, then stay quiet."""

    def warn_once(self, reason: str) -> None:
        seen: set[str] = self.__dict__.setdefault("_warned_reasons", set())
        if reason not in seen:
            seen.add(reason)
            self.get_logger().warning(reason)  # type: ignore[attr-defined]


def run_node(factory: Callable[[], Any], args: list[str] | None = None, after_start: Callable[[Any], None] | None = None) -> None:
    """rclpy.init, build the node, spin until Ctrl-C, clean up."""
    import rclpy

    rclpy.init(args=args)
    node = factory()
    try:
        if after_start is not None:
            after_start(node)
        else:
            rclpy.spin(node)
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


def basket_lines_msg(lines: list) -> list:
    """walkout_msgs/BasketLine[] of core basket lines (baskets and receipts share them)."""
    from walkout_msgs.msg import BasketLine

    return [BasketLine(sku=ln.sku, name=ln.name, quantity=int(ln.quantity), unit_price_cents=int(ln.unit_price_cents),
                       probability=float(ln.probability)) for ln in lines]


def basket_msg(basket: Any, frame_id: str = "map") -> Any:
    """walkout_msgs/Basket of a core Basket."""
    from walkout_msgs.msg import Basket

    from .msgconv import set_stamp

    m = Basket(session_token=basket.session_token, currency=basket.currency, confidence=float(basket.confidence), open=basket.open,
               total_cents=int(basket.total_cents), review_reasons=list(basket.review_reasons))
    set_stamp(m.header.stamp, basket.stamp)
    m.header.frame_id = frame_id
    m.lines = basket_lines_msg(basket.lines)
    m.maybe = basket_lines_msg(basket.maybe)
    return m
