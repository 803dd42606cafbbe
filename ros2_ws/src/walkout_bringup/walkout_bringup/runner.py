"""Runs the stack's nodes as processes where `ros2 launch` is not installed.

The same executables, parameter files and arguments as `launch/walkout.launch.py`,
one process per node, each with DDS kept on loopback and on this run's domain.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable
from pathlib import Path

from .pipeline import config_file
from .plan import STACK, NodeSpec


def executable(spec: NodeSpec) -> list[str]:
    """The installed console script of a node (lib/<package>/<executable>)."""
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        exe = Path(prefix) / "lib" / spec.package / spec.executable
        if exe.is_file():
            return [sys.executable, str(exe)]
    found = shutil.which(spec.executable)
    if found:
        return [found]
    raise FileNotFoundError(f"no executable {spec.package}/{spec.executable}: build the workspace (./walkout setup)")


def node_command(spec: NodeSpec, store: Path, catalog: Path, use_sim_time: bool, extra: dict[str, str] | None = None) -> list[str]:
    cmd = executable(spec) + ["--ros-args", "-r", f"__node:={spec.name}"]
    cfg = config_file(spec.package, spec.executable)
    if cfg is not None:
        cmd += ["--params-file", str(cfg)]
    params = {"store_file": str(store), "use_sim_time": "true" if use_sim_time else "false"}
    if spec.needs_catalog:
        params["catalog_file"] = str(catalog)
    params.update(extra or {})
    for k, v in params.items():
        cmd += ["-p", f"{k}:={v}"]
    return cmd


def ros_env() -> dict[str, str]:
    """This process's environment with DDS held on loopback (never multicast on the network)."""
    env = dict(os.environ)
    env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    env.setdefault("ROS_DOMAIN_ID", str(os.getpid() % 100 + 1))
    env["PYTHONUNBUFFERED"] = "1"
    return env


class ProcessGroup:
    """Child processes with prefixed output, stopped together."""

    def __init__(self, quiet: Iterable[str] = ()) -> None:
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.quiet = set(quiet)
        self.lines: list[str] = []

    def start(self, name: str, cmd: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        proc = subprocess.Popen(
            cmd, env=env or ros_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
        )
        self.procs.append((name, proc))
        threading.Thread(target=self._pump, args=(name, proc), daemon=True).start()
        return proc

    def _pump(self, name: str, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.lines.append(f"[{name}] {line.rstrip()}")
            if name not in self.quiet or "ERROR" in line or "Traceback" in line:
                print(f"[{name}] {line.rstrip()}", flush=True)

    def failed(self) -> list[str]:
        return [name for name, p in self.procs if p.poll() not in (None, 0)]

    def stop(self, timeout: float = 5.0) -> None:
        for _, p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGINT)
        for _, p in self.procs:
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def start_stack(group: ProcessGroup, store: Path, catalog: Path, use_sim_time: bool, db_file: Path | None = None) -> None:
    for spec in STACK:
        extra = {"db_file": str(db_file)} if (db_file and spec.executable == "checkout_node") else None
        group.start(spec.name, node_command(spec, store, catalog, use_sim_time, extra))
