"""``cryptocfd reconcile``: silent when the ledger matches the engine, loud when it does not,
and honest when the journal has not caught up."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis.asyncio import Redis

from cryptocfd.bus.streams import Streams
from cryptocfd.services.journaling import Journaler
from cryptocfd.services.reconcile import run_reconcile
from cryptocfd.settings import Settings
from tests.integration.engine_harness import engine_and_client, store_in
from tests.integration.journal_world import (
    TRADER,
    caught_up,
    newest_record,
    own_pool,
    running_journaler,
    trade_session,
)


def _settings(redis_url: str, streams: Streams, database_url: str) -> Settings:
    return Settings(redis_url=redis_url, redis_prefix=streams.prefix, database_url=database_url)


async def test_reconcile_when_a_ledger_line_is_corrupted_reports_it_and_exits_non_zero(
    redis_client: Redis,
    streams: Streams,
    redis_url: str,
    own_database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = _settings(redis_url, streams, own_database_url)
    async with (
        engine_and_client(redis_client, streams, store_in(tmp_path)) as (service, client),
        own_pool(own_database_url) as pool,
        running_journaler(redis_client, streams, pool),
    ):
        await trade_session(redis_client, streams, service, client)
        await caught_up(pool, redis_client, streams)
        clean = await run_reconcile(settings, wait_s=5)
        clean_output = capsys.readouterr().out
        await pool.execute(
            "INSERT INTO ledger_entries (record_id, seq, line, ledger_account, amount, event, ts)"
            " VALUES ($1, 99, 0, $2, 123, 'Tampered', 0)",
            await newest_record(redis_client, streams),
            f"account:{TRADER}:cash",
        )
        corrupted = await run_reconcile(settings, wait_s=5)
        corrupted_output = capsys.readouterr().out

    assert clean == 0
    assert "no differences" in clean_output
    assert corrupted == 1
    assert f"account {TRADER} balance: engine " in corrupted_output
    assert "sum to 1.23, not 0" in corrupted_output
    assert "no differences" not in corrupted_output


async def test_reconcile_when_the_journal_is_behind_reports_the_lag_and_exits_2(
    redis_client: Redis,
    streams: Streams,
    redis_url: str,
    own_database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = _settings(redis_url, streams, own_database_url)
    async with (
        engine_and_client(redis_client, streams, store_in(tmp_path)) as (service, client),
        own_pool(own_database_url) as pool,
    ):
        await Journaler(redis_client, streams, pool).ensure_group()  # but no worker runs
        await trade_session(redis_client, streams, service, client)
        total = await redis_client.xlen(streams.records)
        status = await run_reconcile(settings, wait_s=0.2)
        output = capsys.readouterr().out

    assert status == 2
    assert "cannot reconcile: the journal has not booked up to" in output
    assert f"0 records delivered but not booked, {total} not yet delivered" in output
