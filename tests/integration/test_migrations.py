"""The schema: every migration applies, undoes and re-applies cleanly."""

from __future__ import annotations

import asyncio

import asyncpg

from cryptocfd.store.database import asyncpg_dsn
from cryptocfd.store.migrate import downgrade, upgrade
from tests.integration.postgres import fresh_database

TABLES = {
    "users",
    "login_tokens",
    "sessions",
    "refresh_tokens",
    "mobile_pins",
    "email_outbox",
    "journal_records",
    "orders",
    "closed_trades",
    "ledger_entries",
    "candles_1m",
    "candles_5m",
    "candles_15m",
    "candles_30m",
    "candles_1h",
    "candles_4h",
    "candles_1d",
    "candles_1w",
}


async def _tables(url: str) -> set[str]:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    finally:
        await connection.close()
    return {row["tablename"] for row in rows} - {"alembic_version"}


def test_migrate_when_run_down_and_up_again_leaves_every_table() -> None:
    with fresh_database() as url:
        assert asyncio.run(_tables(url)) >= TABLES
        downgrade(url)
        assert asyncio.run(_tables(url)) == set()
        upgrade(url)
        assert asyncio.run(_tables(url)) >= TABLES
