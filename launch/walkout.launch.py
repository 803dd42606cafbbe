"""The Walkout stack: one process per node, parameters from each package's config/*.yaml,
static transforms map -> every camera's optical frame from store.yaml.

    ros2 launch walkout_bringup walkout.launch.py store_file:=/path/store.yaml catalog_file:=/path/catalog.yaml
"""

import os

import yaml
from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription
from walkout_bringup.plan import STACK


def camera_transforms(context):
    """tf2 static transforms of every camera pose in the store file."""
    store_file = LaunchConfiguration("store_file").perform(context)
    with open(store_file) as f:
        store = yaml.safe_load(f)
    actions = []
    for cam in store.get("cameras", []):
        pose = cam.get("pose")
        if not pose:
            continue  # the nodes log cameras without a pose
        t, q = pose["translation"], pose["rotation"]
        actions.append(
            Node(
                package="tf2_ros",
                executable="static_transform_publisher",
                name=f"tf_{cam['id']}",
                arguments=["--x", str(t[0]), "--y", str(t[1]), "--z", str(t[2]), "--qx", str(q[0]), "--qy", str(q[1]),
                           "--qz", str(q[2]), "--qw", str(q[3]), "--frame-id", store.get("frame_id", "map"),
                           "--child-frame-id", cam.get("frame_id", f"{cam['id']}_optical_frame")],
            )
        )
    return actions


def stack_nodes(context):
    common = {
        "store_file": LaunchConfiguration("store_file").perform(context),
        "use_sim_time": LaunchConfiguration("use_sim_time").perform(context).lower() == "true",
    }
    catalog = LaunchConfiguration("catalog_file").perform(context)
    db_file = LaunchConfiguration("db_file").perform(context)
    nodes = []
    for spec in STACK:
        params = [os.path.join(get_package_share_directory(spec.package), "config", spec.config), dict(common)]
        if spec.needs_catalog:
            params[1]["catalog_file"] = catalog
        if spec.executable == "checkout_node" and db_file:
            params[1]["db_file"] = db_file
        nodes.append(Node(package=spec.package, executable=spec.executable, name=spec.name, parameters=params, output="screen"))
    nodes.append(Node(package="walkout_bringup", executable="markers_node", name="markers_node",
                      parameters=[{"store_file": common["store_file"], "use_sim_time": common["use_sim_time"]}]))
    return nodes


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument("store_file", description="store.yaml of the store"),
        DeclareLaunchArgument("catalog_file", description="catalog.yaml of the store"),
        DeclareLaunchArgument("use_sim_time", default_value="false", description="true when replaying a bag with --clock"),
        DeclareLaunchArgument("db_file", default_value="", description="SQLite file of the checkout bridge ('' = in memory)"),
        DeclareLaunchArgument("rviz", default_value="false", description="true to open RViz2 with rviz/walkout.rviz"),
        OpaqueFunction(function=camera_transforms),
        OpaqueFunction(function=stack_nodes),
        Node(package="rviz2", executable="rviz2", name="rviz2", condition=IfCondition(LaunchConfiguration("rviz")),
             arguments=["-d", os.path.join(get_package_share_directory("walkout_bringup"), "rviz", "walkout.rviz")],
             parameters=[{"use_sim_time": LaunchConfiguration("use_sim_time")}]),
    ])
