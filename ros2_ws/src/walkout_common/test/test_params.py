from dataclasses import dataclass

import pytest

from walkout_common.params import from_dict, from_yaml


@dataclass
class P:
    rate: float = 1.0
    count: int = 3
    name: str = "x"
    on: bool = True
    heights: tuple[float, ...] = (1.5, 1.9)


def test_from_dict_checks_names_and_types():
    assert from_dict(P, {"rate": 2}).rate == 2.0
    with pytest.raises(ValueError, match="unknown parameters \\['ratee'\\]"):
        from_dict(P, {"ratee": 2})
    with pytest.raises(ValueError, match="'on' must be true or false"):
        from_dict(P, {"on": 1})
    with pytest.raises(ValueError, match="'count' must be int"):
        from_dict(P, {"count": "three"})


def test_from_yaml_reads_ros_parameter_files(tmp_path):
    f = tmp_path / "n.yaml"
    f.write_text("/**:\n  ros__parameters:\n    rate: 5.0\n    store_file: s.yaml\nmy_node:\n  ros__parameters:\n    count: 7\n")
    p = from_yaml(P, f, "my_node", {"name": "y"})
    assert (p.rate, p.count, p.name) == (5.0, 7, "y")


def test_list_parameters_become_tuples_of_their_kind():
    import array

    assert from_dict(P, {"heights": [1.6, 2]}).heights == (1.6, 2.0)
    assert from_dict(P, {"heights": array.array("d", [1.7])}).heights == (1.7,)  # as rclpy hands a double array
    with pytest.raises(ValueError, match="'heights' must be a list of float"):
        from_dict(P, {"heights": 1.6})
    with pytest.raises(ValueError, match="'heights' must be a list of float"):
        from_dict(P, {"heights": ["tall"]})
    with pytest.raises(ValueError, match="'heights' must be a list of float"):
        from_dict(P, {"heights": []})
