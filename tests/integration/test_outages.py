"""What the gateway says while what it depends on is away or behind: ``/readyz`` degrades with
the reason, reads that need an absent server are 503 with ``Retry-After``, never a 500."""

from __future__ import annotations

import re

from cryptocfd.bus.messages import FIELD, Record, encode
from cryptocfd.bus.streams import JOURNAL_GROUP
from cryptocfd.gateway.routes.ops import JOURNAL_BEHIND_READY
from cryptocfd.trading.rejections import RejectCode, Rejection
from tests.integration.gateway_harness import METRICS_TOKEN, Gateway

SCRAPE = {"Authorization": f"Bearer {METRICS_TOKEN}"}


async def test_readyz_when_the_journal_falls_behind_the_log_is_503_saying_by_how_much(
    gateway: Gateway,
) -> None:
    records = gateway.streams.records
    await gateway.redis.xgroup_create(records, JOURNAL_GROUP, id="$", mkstream=True)
    keeping_up = await gateway.client.get("/readyz")
    refused = Rejection(RejectCode.UNKNOWN_ACCOUNT, "no such account")
    async with gateway.redis.pipeline(transaction=False) as pipe:
        for n in range(JOURNAL_BEHIND_READY + 1):  # what a stopped worker leaves unbooked
            pipe.xadd(
                records, {FIELD: encode(Record("command", f"r{n}", 0, refused, applied=False))}
            )
        await pipe.execute()

    behind = await gateway.client.get("/readyz")
    metrics = (await gateway.client.get("/metrics", headers=SCRAPE)).text

    assert keeping_up.status_code == 200
    assert "journal" not in keeping_up.json()["checks"]
    assert behind.status_code == 503
    assert behind.json()["checks"]["journal"] == (
        f"behind: {JOURNAL_BEHIND_READY + 1} records not yet booked"
    )
    assert behind.json()["checks"]["engine"] == "ok"
    pattern = rf'cryptocfd_consumer_behind{{group="journal",stream="{records}"}} (\S+)'
    found = re.search(pattern, metrics)
    assert found is not None, metrics
    assert float(found.group(1)) == JOURNAL_BEHIND_READY + 1
