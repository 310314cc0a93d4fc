"""``cryptocfd backfill`` and ``cryptocfd bench candles`` run end to end on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import pytest

from cryptocfd.cli import main
from cryptocfd.core.assets import DEFAULT_ASSETS
from cryptocfd.store.database import asyncpg_dsn
from tests.integration.postgres import fresh_database


async def _count(url: str, sql: str) -> int:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        count = await conn.fetchval(sql)
    finally:
        await conn.close()
    assert isinstance(count, int)
    return count


def test_backfill_command_when_run_for_a_day_writes_it_and_brings_rollups_current(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with fresh_database() as url:
        monkeypatch.setenv("DATABASE_URL", url)

        code = main(["backfill", "--days", "1"])

        assert code == 0
        assert asyncio.run(_count(url, "SELECT count(*) FROM candles_1m")) == 1440 * len(
            DEFAULT_ASSETS
        )
        assert asyncio.run(_count(url, "SELECT count(*) FROM candles_rollup_pending")) == 0
        assert asyncio.run(_count(url, "SELECT count(*) FROM candles_1d")) >= len(DEFAULT_ASSETS)
    assert "8,640 one-minute candles" in capsys.readouterr().out


def test_backfill_command_when_days_is_not_positive_refuses() -> None:
    assert main(["backfill", "--days", "0"]) == 2


def test_bench_candles_when_run_small_prints_a_summary_then_one_json_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["--runs", "1", "--rows", "6000", "--ingest-rows", "6000", "--queries", "5"]

    code = main(["bench", "candles", *args])

    assert code == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["ingest_rows_per_s"] > 0
    assert last["query_p50_ms"] > 0
