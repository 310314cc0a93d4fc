"""The ``cryptocfd`` command's engine benchmark and terminal simulation run end to end."""

from __future__ import annotations

import json

import pytest

from cryptocfd.cli import main


def test_bench_engine_when_run_small_prints_a_summary_then_one_json_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["--runs", "1", "--positions", "3000", "--commands", "3000", "--burst", "300"]
    code = main(["bench", "engine", *args, "--ticks", "3000"])

    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    assert "commands_per_s" in "\n".join(out[:-1])  # the readable table
    figures = json.loads(out[-1])
    for name in ("commands_per_s", "ticks_per_s", "liquidation_burst_ms", "bytes_per_position"):
        assert figures[name] > 0
    assert figures["runs"] == 1


def test_bench_when_the_name_is_unknown_says_which_exist(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["bench", "nonesuch"])

    assert code == 2
    assert "engine" in capsys.readouterr().out


def test_simulate_when_run_briefly_trades_and_proves_money_conserved(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["simulate", "--seconds", "0.5", "--speed", "50", "--seed", "1"])

    out = capsys.readouterr().out
    assert code == 0
    assert "conserved" in out
    assert "NOT CONSERVED" not in out
