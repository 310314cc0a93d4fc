"""``/readyz`` and ``/metrics`` say which engine leads, its epoch, the standby's lag and the last
takeover, from the status hash the engines write."""

from __future__ import annotations

import re
import time

from tests.integration.gateway_harness import METRICS_TOKEN, Gateway


async def test_readyz_when_an_engine_leads_names_it_and_its_epoch_in_headers(
    gateway: Gateway,
) -> None:
    answer = await gateway.client.get("/readyz")

    assert answer.status_code == 200
    assert answer.headers["x-engine-leader"].startswith("engine-1@")
    assert answer.headers["x-engine-epoch"] == "1"
    took = int(answer.headers["x-engine-takeover-ms"])
    assert 0 < time.time() * 1000 - took < 120_000
    assert "x-engine-standby-lag" not in answer.headers  # no standby runs here


async def test_metrics_when_an_engine_leads_have_its_epoch_and_no_standby(
    gateway: Gateway,
) -> None:
    scrape = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    text = (await gateway.client.get("/metrics", headers=scrape)).text

    assert re.search(
        r'^cryptocfd_engine_leader\{engine="engine-1@[^"]+",epoch="1"\} 1\.0$', text, re.M
    )
    assert re.search(r"^cryptocfd_engine_epoch 1\.0$", text, re.M)
    assert re.search(r"^cryptocfd_engine_standby_lag_records -1\.0$", text, re.M)
    assert re.search(r"^cryptocfd_engine_last_takeover_timestamp_seconds 1\.\d+e\+09$", text, re.M)
