"""``cryptocfd bench soak`` run short and small end to end: engine, gateway, worker, orders
over HTTP and websocket clients, sampled; the JSON line and the plot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cryptocfd.cli import main


@pytest.mark.slow
def test_bench_soak_when_run_short_reports_every_figure_and_writes_the_plot(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    redis_url: str,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    plot = tmp_path / "soak.png"
    args = ["--minutes", "0.3", "--rate", "20", "--clients", "20", "--users", "8"]

    code = main(["bench", "soak", *args, "--snapshot-every-s", "3", "--plot", str(plot)])

    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    figures = json.loads(out[-1])
    assert figures["errors"] == 0
    assert figures["samples"] >= 3  # a short run is still cut into several samples
    assert 15 < figures["orders_per_s"] <= 21  # the open loop held its rate
    assert 0 < figures["p50_ms"] <= figures["p99_ms"] <= figures["max_ms"]
    assert figures["rss_min_mb"] > 0  # every process was found and read
    assert figures["redis_used_max_mb"] > figures["redis_prefix_max_mb"] > 0
    assert 0 <= figures["journal_lag_p99_ms"] < 10_000  # the worker journals as it goes
    assert figures["snapshots"] >= 1 and figures["snapshot_pause_max_ms"] > 0
    assert figures["ws_prices"] > 0 and figures["ws_orders"] > 0  # both channels delivered
    assert plot.read_bytes().startswith(b"\x89PNG")
