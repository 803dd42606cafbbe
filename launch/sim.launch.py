"""The simulator publishing a store live, with the whole stack on its /clock.

    ros2 launch walkout_bringup sim.launch.py store_file:=... catalog_file:=... shoppers:=4
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription


def generate_launch_description():
    stack = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(os.path.join(get_package_share_directory("walkout_bringup"), "launch", "walkout.launch.py")),
        launch_arguments={"store_file": LaunchConfiguration("store_file"), "catalog_file": LaunchConfiguration("catalog_file"),
                          "use_sim_time": "true", "rviz": LaunchConfiguration("rviz")}.items(),
    )
    sim = Node(
        package="walkout_sim",
        executable="sim_node",
        name="sim_node",
        parameters=[
            os.path.join(get_package_share_directory("walkout_sim"), "config", "sim_node.yaml"),
            {"store_file": LaunchConfiguration("store_file"), "catalog_file": LaunchConfiguration("catalog_file"),
             "shoppers": LaunchConfiguration("shoppers"), "seed": LaunchConfiguration("seed")},
        ],
        output="screen",
    )
    return LaunchDescription([
        DeclareLaunchArgument("store_file"),
        DeclareLaunchArgument("catalog_file"),
        DeclareLaunchArgument("rviz", default_value="false"),
        DeclareLaunchArgument("shoppers", default_value="4"),
        DeclareLaunchArgument("seed", default_value="7"),
        stack,
        sim,
    ])
