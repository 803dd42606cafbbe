from walkout_association.what import Option, WhatParams, read_weight


def test_single_unit_on_its_plate():
    opts = [Option("water", 520.0, 4.0, 1.0), Option("tea", 1065.0, 8.0, 0.01)]
    readings, _ = read_weight(518.0, 1.5, opts, WhatParams())
    assert readings[0].items == (("water", "", 1),)
    assert readings[0].probability > 0.99


def test_two_units_in_one_reach():
    opts = [Option("water", 520.0, 4.0, 1.0), Option("tea", 1065.0, 8.0, 0.01)]
    readings, _ = read_weight(1043.0, 1.5, opts, WhatParams())
    assert readings[0].items == (("water", "", 2),)
    assert readings[0].probability > 0.95


def test_near_equal_weights_stay_uncertain():
    opts = [Option("cola", 352.0, 3.0, 1.0), Option("lemon", 362.0, 3.0, 1.0)]
    readings, _ = read_weight(357.0, 1.5, opts, WhatParams())
    assert {r.items[0][0] for r in readings[:2]} == {"cola", "lemon"}
    assert 0.3 < readings[0].probability < 0.7
    # colour evidence settles it
    readings, _ = read_weight(357.0, 1.5, opts, WhatParams(), vision={"cola": 0.9, "lemon": 0.05})
    assert readings[0].items[0][0] == "cola" and readings[0].probability > 0.8


def test_unexplained_change_reads_as_nothing():
    opts = [Option("water", 520.0, 4.0, 1.0)]
    readings, _ = read_weight(240.0, 1.5, opts, WhatParams())
    assert readings[0].is_nothing or readings[0].probability < 0.5


def test_mixed_reach():
    opts = [Option("bar", 54.0, 1.5, 1.0), Option("rice", 2030.0, 12.0, 1.0)]
    readings, _ = read_weight(2084.0, 2.0, opts, WhatParams())
    assert set(readings[0].items) == {("bar", "", 1), ("rice", "", 1)}
