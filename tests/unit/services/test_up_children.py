"""Which processes ``cryptocfd up`` supervises: ``--engines N`` engines, then the rest."""

from __future__ import annotations

from cryptocfd.services.up import PROCESSES, children


def test_children_by_default_are_a_leader_and_a_standby_engine_then_the_rest() -> None:
    names = [child.name for child in children(PROCESSES, 2)]

    assert names == ["engine", "engine2", "gateway", "worker", "feed"]


def test_children_with_one_engine_or_three_run_that_many() -> None:
    one = children(PROCESSES, 1)
    three = children(PROCESSES, 3)

    assert [c.name for c in one] == ["engine", "gateway", "worker", "feed"]
    assert [c.name for c in three][:3] == ["engine", "engine2", "engine3"]
    assert {c.argv[-1] for c in three[:3]} == {"engine"}  # each runs `cryptocfd engine`
