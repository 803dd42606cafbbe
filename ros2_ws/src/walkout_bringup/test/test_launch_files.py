"""`launch` is not on PyPI: check the launch files by reading them. Every package,
executable, config file and RViz file they name must exist in the tree."""

import ast
import re
from pathlib import Path

import yaml

from walkout_bringup.plan import STACK

ROOT = Path(__file__).resolve().parents[4]
SRC = ROOT / "ros2_ws" / "src"
LAUNCH = sorted((ROOT / "launch").glob("*.launch.py"))


def console_scripts(package: str) -> set[str]:
    text = (SRC / package / "setup.py").read_text()
    return set(re.findall(r'"(\w+) = [\w.]+:main"', text))


def named(tree: ast.AST) -> list[tuple[str, str]]:
    """(package, executable) of every Node(...) with literal arguments."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Node":
            kw = {k.arg: k.value for k in node.keywords}
            if isinstance(kw.get("package"), ast.Constant) and isinstance(kw.get("executable"), ast.Constant):
                out.append((kw["package"].value, kw["executable"].value))
    return out


def test_launch_files_parse_and_name_real_things():
    assert {p.name for p in LAUNCH} >= {"walkout.launch.py", "replay.launch.py", "sim.launch.py"}
    for path in LAUNCH:
        tree = ast.parse(path.read_text(), filename=str(path))
        assert any(isinstance(n, ast.FunctionDef) and n.name == "generate_launch_description" for n in tree.body), path
        for package, exe in named(tree):
            if package in ("tf2_ros", "rviz2"):
                continue  # from a full ROS 2 install
            assert (SRC / package / "package.xml").is_file(), (path.name, package)
            assert exe in console_scripts(package), (path.name, package, exe)
        for ref in re.findall(r'get_package_share_directory\("(\w+)"\), "(\w+)", "([\w.]+)"', path.read_text()):
            package, folder, name = ref
            local = SRC / package / folder / name
            assert local.exists() or (ROOT / folder / name).exists(), (path.name, ref)


def test_every_stack_node_has_its_executable_and_config():
    for spec in STACK:
        assert spec.executable in console_scripts(spec.package), spec
        cfg = SRC / spec.package / "config" / spec.config
        data = yaml.safe_load(cfg.read_text())
        assert "ros__parameters" in data["/**"], cfg
        assert f'exec_depend>{spec.package}<' in (SRC / "walkout_bringup" / "package.xml").read_text()
    assert "markers_node" in console_scripts("walkout_bringup")


def test_rviz_config_shows_the_markers_in_map():
    rviz = yaml.safe_load((ROOT / "rviz" / "walkout.rviz").read_text())
    vm = rviz["Visualization Manager"]
    assert vm["Global Options"]["Fixed Frame"] == "map"
    topics = [d.get("Topic", {}).get("Value") for d in vm["Displays"]]
    assert "/walkout/markers" in topics
