"""The ``cryptocfd`` command's engine benchmark and terminal simulation run end to end."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

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
    # Beside every figure, the calibration loop timed in the same process, and the figures in
    # its units: a rate divided by it, a duration multiplied by it.
    speed = figures["calibration_mloops_per_s"]
    assert speed > 0
    assert figures["commands_per_s_cal"] == pytest.approx(figures["commands_per_s"] / speed, 1e-2)
    assert figures["liquidation_burst_ms_cal"] == pytest.approx(
        figures["liquidation_burst_ms"] * 1e-3 * speed, 1e-2
    )
    assert "bytes_per_position_cal" not in figures
    assert "calibration" in "\n".join(out[:-1])


def test_bench_when_the_name_is_unknown_says_which_exist(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["bench", "nonesuch"])

    assert code == 2
    assert "engine" in capsys.readouterr().out


def test_bench_when_no_name_is_given_lists_each_benchmark_with_what_it_measures(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["bench"])

    out = capsys.readouterr().out
    assert code == 0
    for name in ("candles", "engine", "failover", "http", "recovery", "rpc", "ws"):
        assert re.search(rf"^  {name} +\w", out, re.MULTILINE), out
    assert "_common" not in out  # the shared pieces are not benchmarks


def test_simulate_when_run_briefly_trades_and_proves_money_conserved(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["simulate", "--seconds", "0.5", "--speed", "50", "--seed", "1"])

    out = capsys.readouterr().out
    assert code == 0
    assert "conserved" in out
    assert "NOT CONSERVED" not in out


@pytest.mark.parametrize("public_url", [None, "http://trade.example.com"])
def test_gateway_when_prod_has_no_https_public_url_exits_saying_so(public_url: str | None) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if k != "CRYPTOCFD_PUBLIC_URL"},
        "CRYPTOCFD_ENV": "prod",
        "CRYPTOCFD_SECRET_KEY": "k" * 40,
        "CRYPTOCFD_SNAPSHOT_KEY": "ab" * 32,
        "SMTP_HOST": "smtp.example.com",
    }
    if public_url is not None:
        env["CRYPTOCFD_PUBLIC_URL"] = public_url

    done = subprocess.run(
        [sys.executable, "-m", "cryptocfd.cli", "gateway", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 2
    assert "cryptocfd gateway: refusing to start in prod: CRYPTOCFD_PUBLIC_URL" in done.stderr
