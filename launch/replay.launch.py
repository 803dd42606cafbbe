"""A rosbag2 bag through the live stack on the bag's own time (ros2 bag play --clock).

    ros2 launch walkout_bringup replay.launch.py bag:=/path/bag store_file:=... catalog_file:=...
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, ExecuteProcess, IncludeLaunchDescription, TimerAction
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration

from launch import LaunchDescription


def generate_launch_description():
    stack = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(os.path.join(get_package_share_directory("walkout_bringup"), "launch", "walkout.launch.py")),
        launch_arguments={
            "store_file": LaunchConfiguration("store_file"),
            "catalog_file": LaunchConfiguration("catalog_file"),
            "use_sim_time": "true",
            "db_file": LaunchConfiguration("db_file"),
            "rviz": LaunchConfiguration("rviz"),
        }.items(),
    )
    play = ExecuteProcess(cmd=["ros2", "bag", "play", LaunchConfiguration("bag"), "--clock", "100"], output="screen")
    return LaunchDescription([
        DeclareLaunchArgument("bag", description="rosbag2 directory (mcap or sqlite3)"),
        DeclareLaunchArgument("store_file"),
        DeclareLaunchArgument("catalog_file"),
        DeclareLaunchArgument("rviz", default_value="false"),
        DeclareLaunchArgument("db_file", default_value=""),
        stack,
        TimerAction(period=3.0, actions=[play]),  # let the nodes come up before the first message
    ])
