"""Helpers for tests that run nodes over real rclpy topics (never sleep-and-hope)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def spin_until(executor: Any, condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Spins the executor until `condition()` holds or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        executor.spin_once(timeout_sec=0.05)
    return condition()


def wait_matched(executor: Any, endpoints: list[Any], timeout: float = 10.0) -> None:
    """Waits until every publisher has a subscriber and every subscription a publisher."""

    def matched() -> bool:
        for e in endpoints:
            count = e.get_subscription_count() if hasattr(e, "get_subscription_count") else e.get_publisher_count()
            if count == 0:
                return False
        return True

    if not spin_until(executor, matched, timeout):
        names = [getattr(e, "topic_name", "?") for e in endpoints]
        raise TimeoutError(f"DDS discovery did not match {names} within {timeout} s")
