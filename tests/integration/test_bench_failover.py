"""``cryptocfd bench failover`` run small end to end: two real engines on a seeded snapshot, a
load, the leader killed, the standby serving."""

from __future__ import annotations

import json

import pytest

from cryptocfd.cli import main


def test_bench_failover_when_run_small_reports_a_takeover_and_the_standby_lag(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, redis_url: str
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    args = ["--accounts", "50", "--positions", "500", "--rate", "200", "--seconds", "2"]

    code = main(["bench", "failover", *args, "--ttl-ms", "1000"])

    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    assert "400 accepted, rejected none" in "\n".join(out), out  # every load command applied
    figures = json.loads(out[-1])
    assert 0 < figures["takeover_ms"] < 10_000  # a 1 s lease lapses and is taken in seconds
    assert 0 < figures["standby_ready_ms"] <= figures["takeover_ms"]
    assert 0 <= figures["lease_left_ms"] <= 1_000  # what the dead leader's lease had left
    assert 0 <= figures["standby_lag_records"] <= figures["standby_lag_max"]
    assert figures["leader_rss_mb"] > 0 and figures["standby_rss_mb"] > 0
    assert figures["runs"] == 1
