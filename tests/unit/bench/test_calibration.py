"""The calibration loop beside every bench: a positive speed, and figures put in its units the
way their names say (rates divided by it, durations multiplied, the rest left alone)."""

from __future__ import annotations

import pytest

from cryptocfd.bench._calibration import calibrated, mloops_per_s


def test_mloops_per_s_when_timed_is_a_positive_speed() -> None:
    assert mloops_per_s(rounds=1) > 0


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("commands_per_s", 70_000.0, 35_000.0),  # commands per million loops, at 2 M loops/s
        ("liquidation_burst_ms", 12.0, 0.024),  # 12 ms is 24,000 loops: 0.024 M
        ("create_p99_us", 500.0, 0.001),
        ("takeover_s", 1.5, 3.0),
        ("bytes_per_position", 400.0, None),  # no speed moves a size
        ("runs", 3.0, None),
    ],
)
def test_calibrated_when_given_a_figure_uses_the_unit_its_name_says(
    name: str, value: float, expected: float | None
) -> None:
    got = calibrated(name, value, mloops=2.0)

    assert got == (None if expected is None else pytest.approx(expected))
