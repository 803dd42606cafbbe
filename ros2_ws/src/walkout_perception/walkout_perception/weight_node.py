"""Weight node: /shelves/load_cells -> /perception/plate_events."""

from __future__ import annotations

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data

from walkout_common import msgconv
from walkout_common.params import declare
from walkout_common.ros import WarnOnce, run_node
from walkout_common.store import load_catalog, load_store
from walkout_common.types import PlateEvent
from walkout_msgs import msg as wm

from .weight import WeightEventDetector, WeightParams
from .weight_health import ShelfClock, lightest_products, plate_health

EVENTS_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)


class WeightNode(WarnOnce, Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("weight_node", **kwargs)
        store_file = self.declare_parameter("store_file", "").value
        catalog_file = self.declare_parameter("catalog_file", "").value  # optional: which plates can't show their lightest product
        period = float(self.declare_parameter("unsettled_period_s", 0.2).value)
        health_period = float(self.declare_parameter("diagnostics_period_s", 5.0).value)
        self.stale_s = float(self.declare_parameter("diagnostics_stale_s", 10.0).value)
        self.store = load_store(store_file)
        self.lightest = lightest_products(load_catalog(catalog_file, self.store) if catalog_file else None)
        self.shelf_clock = ShelfClock()
        self.core = WeightEventDetector(self.store, declare(self, WeightParams))
        self.pub = self.create_publisher(wm.PlateEvent, "/perception/plate_events", EVENTS_QOS)
        sensor = QoSProfile(depth=200, reliability=qos_profile_sensor_data.reliability, durability=qos_profile_sensor_data.durability)
        self.create_subscription(wm.LoadCellBatch, "/shelves/load_cells", self.on_batch, sensor)
        if period > 0:
            self.create_timer(period, self.publish_unsettled)
        self.diagnostics = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        if health_period > 0:
            self.create_timer(health_period, self.publish_health)
        self.get_logger().info(f"watching {len(self.store.plates)} plates on {len(self.store.shelves)} shelves")

    def on_batch(self, msg: wm.LoadCellBatch) -> None:
        try:
            batch = msgconv.load_cell_batch(msg)
        except msgconv.BadMessageError as exc:
            self.warn_once(f"skipped a bad message on /shelves/load_cells: {exc}")
            return
        try:
            events = self.core.add_batch(batch)
        except Exception as exc:  # a bug must not take the store's shelves down with it
            self.warn_once(f"weight core failed on a batch of shelf '{batch.shelf_id}' ({type(exc).__name__}: {exc}); skipped")
            return
        self.shelf_clock.heard(float(batch.sample_times()[-1]), self._clock_s())
        for reason in self.core.rejected:
            self.warn_once(f"skipped columns on /shelves/load_cells: {reason}")
        for ev in events:
            self.pub.publish(plate_event_msg(ev))
            if not ev.unchanged:
                self.get_logger().info(f"{ev.plate_id}: {ev.delta_g:+.1f} g (sd {ev.delta_std_g:.1f}) at {ev.end:.2f} s")
            elif ev.beyond_g > 0:  # settled back, but something lay on it for a moment
                self.get_logger().info(f"{ev.plate_id}: held {ev.beyond_g:+.0f} g for a moment, settled back at {ev.end:.2f} s")

    def publish_health(self) -> None:
        """Every plate's noise, step and smallest change on /diagnostics, stale with no
        readings, a warning where its lightest product is under that change."""
        out = DiagnosticArray()
        out.header.stamp = self.get_clock().now().to_msg()
        status = self.core.status()
        now = self.shelf_clock.now(self._clock_s())
        for st in status:
            level, message = plate_health(st, self.lightest.get(st.plate_id), now, self.stale_s)
            values = [] if st.last_stamp is None else [
                KeyValue(key="noise_g", value=f"{st.noise_g:.2f}"), KeyValue(key="step_g", value=f"{st.step_g:g}"),
                KeyValue(key="correlation", value=f"{st.correlation:.2f}"),
                KeyValue(key="smallest_change_g", value=f"{st.smallest_change_g:.1f}")]
            out.status.append(DiagnosticStatus(level=bytes([level]), name=f"weight_node: {st.plate_id}", message=message,
                                               hardware_id=st.plate_id, values=values))
        self.diagnostics.publish(out)

    def _clock_s(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def publish_unsettled(self) -> None:
        for ev in self.core.unsettled():
            self.pub.publish(plate_event_msg(ev))


def plate_event_msg(ev: PlateEvent) -> wm.PlateEvent:
    m = wm.PlateEvent(plate_id=ev.plate_id, shelf_id=ev.shelf_id, delta_g=float(ev.delta_g), delta_std_g=float(ev.delta_std_g), settled=ev.settled,
                     dip_g=float(ev.dip_g), beyond_g=float(ev.beyond_g), unchanged=ev.unchanged)
    msgconv.set_stamp(m.header.stamp, ev.end)
    m.header.frame_id = "map"
    msgconv.set_stamp(m.start, ev.start)
    msgconv.set_stamp(m.end, ev.end)
    return m


def main(args: list[str] | None = None) -> None:
    run_node(WeightNode, args)
