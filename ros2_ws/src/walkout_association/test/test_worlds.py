"""A basket's final counts over its events jointly (worlds.py)."""

import pytest

from walkout_association.worlds import EMPTY, LOST, World, given_baskets, joint_changes, probability_as_recorded, worlds

FREE = "?"


def test_independent_events_multiply():
    final = worlds([[(0.9, {"a": 1}), (0.1, {})], [(0.8, {"b": 1}), (0.2, {})]], FREE)
    assert probability_as_recorded(final, {"a": 1, "b": 1}, None, FREE) == pytest.approx(0.72)
    assert probability_as_recorded(final, {"a": 1, "b": 1}, "a", FREE) == pytest.approx(0.9)
    assert sum(final.values()) == pytest.approx(1.0)


def test_a_twin_taken_and_put_back_nets_out_in_every_world():
    # plain (0.55) or peach (0.35) yoghurt taken, or a third twin (0.1); then one put back,
    # read as each of them: a world can only give back what it took
    take = [(0.55, {"plain": 1}), (0.35, {"peach": 1}), (0.10, {"other": 1})]
    back = [(0.70, {"plain": -1}), (0.25, {"peach": -1}), (0.05, {"other": -1})]
    final = worlds([take, back], FREE)
    # (one event at a time, the product of the recorded readings was 0.55 * 0.70)
    assert probability_as_recorded(final, {}, None, FREE) == pytest.approx(1.0)


def test_a_return_that_world_cannot_make_gives_way_to_the_others():
    take = [(0.9, {"a": 1}), (0.1, {})]
    back = [(0.95, {"a": -1}), (0.05, {})]  # put back, or nothing of this basket's
    final = worlds([take, back], FREE)
    # in the world without the take, the return is impossible: that world keeps nothing
    assert final[World()] == pytest.approx(0.9 * 0.95 + 0.1)
    assert final[World({("a", 1)})] == pytest.approx(0.9 * 0.05)


def test_readings_not_kept_are_never_the_recorded_basket():
    final = worlds([[(0.6, {"a": 1}), (0.3, {})]], FREE)  # 0.1 of the mass was not kept
    assert final[LOST] == pytest.approx(0.1)
    assert probability_as_recorded(final, {"a": 1}, None, FREE) == pytest.approx(0.6)
    assert probability_as_recorded(final, {"a": 1}, "a", FREE) == pytest.approx(0.6)


def test_an_unexplained_return_may_go_below_zero():
    final = worlds([[(1.0, {FREE: -1})]], FREE)
    assert probability_as_recorded(final, {FREE: -1}, None, FREE) == pytest.approx(1.0)


def test_a_basket_decided_by_a_reviewer_settles_the_other_shoppers_of_its_events():
    # two units gone at one plate: "one each" (0.5), "both by A" (0.3), "both by B" (0.15),
    # and 5 % read as nothing listed (LOST); A's basket was reviewed: one unit
    ev = joint_changes([(0.5, {"A": {"w": 1}, "B": {"w": 1}}), (0.3, {"A": {"w": 2}}), (0.15, {"B": {"w": 2}})], ["A", "B"])
    own_b = [(0.5, {"w": 1}), (0.3, {}), (0.15, {"w": 2})]
    a_sure = joint_changes([(1.0, {"A": {"x": 1}, "C": {"y": 1}})], ["A", "B"])  # A took an x alone; C is not asked about
    final = worlds([a_sure, ev], FREE)
    got = given_baskets(final, "B", {"A": {"w": 1, "x": 1}}, FREE)
    assert got == pytest.approx({World({("w", 1)}): 0.95, LOST: 0.05})  # LOST keeps its mass: the decision says nothing of it
    assert probability_as_recorded(worlds([own_b], FREE), {"w": 1}, None, FREE) == pytest.approx(0.5)  # before the review
    assert given_baskets(final, "B", {"A": {"x": 1}}, FREE) == pytest.approx({World({("w", 2)}): 0.95, LOST: 0.05})
    assert given_baskets(final, "B", {"A": {"w": 3, "x": 1}}, FREE) == {}  # no world agrees: nothing is settled


def test_a_decision_that_may_be_wrong_leaves_the_other_worlds_that_much():
    # The same take; A's reviewer errs 2 % of the time. Deciding A "one unit" leaves B's
    # other worlds 2 % of what the decision did not exclude, shared as they were (0.3 : 0.15),
    # whichever reading the association thought likeliest; LOST keeps its mass.
    ev = joint_changes([(0.5, {"A": {"w": 1}, "B": {"w": 1}}), (0.3, {"A": {"w": 2}}), (0.15, {"B": {"w": 2}})], ["A", "B"])
    final = worlds([ev], FREE)
    got = given_baskets(final, "B", {"A": {"w": 1}}, FREE, error=0.02)
    assert got == pytest.approx({World({("w", 1)}): 0.95 * 0.98, EMPTY: 0.95 * 0.02 * 2 / 3, World({("w", 2)}): 0.95 * 0.02 / 3, LOST: 0.05})
    # a decision for the unlikeliest reading is trusted as much: the reviewer saw what the model did not
    got = given_baskets(final, "B", {"A": {}}, FREE, error=0.02)
    assert got[World({("w", 2)})] == pytest.approx(0.95 * 0.98)
    # where every world agrees there is nothing to doubt; where none does, nothing is settled
    assert given_baskets(worlds([joint_changes([(1.0, {"A": {"w": 1}})], ["A", "B"])], FREE), "B", {"A": {"w": 1}}, FREE, error=0.02) == {EMPTY: 1.0}
    assert given_baskets(final, "B", {"A": {"w": 3}}, FREE, error=0.02) == {}
    # two decisions (A's and C's) are right together 0.98 ** 2 of the time; of the worlds
    # they exclude (0.70), "both by A, then B took one at C's plate" (0.15) gives B one too
    both = worlds([ev, joint_changes([(0.5, {"C": {"w": 1}}), (0.5, {"B": {"w": 1}})], ["B", "C"])], FREE)
    got = given_baskets(both, "B", {"A": {"w": 1}, "C": {"w": 1}}, FREE, error=0.02)
    assert got[World({("w", 1)})] == pytest.approx(0.95 * (0.98**2 + (1 - 0.98**2) * 0.15 / 0.70))
