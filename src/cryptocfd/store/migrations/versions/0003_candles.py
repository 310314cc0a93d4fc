"""Candles: one-minute rows and their rollups, in TimescaleDB where it can be created.

The relations are the same in both modes: ``candles_1m`` and the rollups ``candles_5m``,
``candles_15m``, ``candles_30m``, ``candles_1h``, ``candles_4h``, ``candles_1d`` and ``candles_1w``,
each with ``(asset, time_s, open, high, low, close, volume, trades)``: prices are bigint ticks at
the asset's ``price_decimals``, ``time_s`` the unix second the candle starts (bigint: what the API
speaks, and COPY sends it without building a datetime per row). Buckets count from Monday
2000-01-03 00:00 UTC (TimescaleDB's own default origin), so weeks start on Mondays.

- With TimescaleDB: ``candles_1m`` is a hypertable and each rollup a real-time continuous
  aggregate over it, refreshed by a policy every minute.
- Without: ``candles_1m`` is range-partitioned by month (partitions are made on demand by
  ``candles_1m_ensure_partitions``) and each rollup is a plain table that ``store.candles`` keeps
  current after every batch, recomputing only the buckets the batch touched.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = """
    asset text NOT NULL,
    time_s bigint NOT NULL,
    open bigint NOT NULL,
    high bigint NOT NULL,
    low bigint NOT NULL,
    close bigint NOT NULL,
    volume bigint NOT NULL,
    trades bigint NOT NULL,
    PRIMARY KEY (asset, time_s)
"""
# Each rollup, its width, and (without TimescaleDB) the finer table it is recomputed from.
ROLLUPS = (
    ("5m", 300, "1m"),
    ("15m", 900, "5m"),
    ("30m", 1_800, "15m"),
    ("1h", 3_600, "30m"),
    ("4h", 14_400, "1h"),
    ("1d", 86_400, "4h"),
    ("1w", 604_800, "1d"),
)
# Buckets count from Monday 2000-01-03 00:00 UTC; as an offset from the unix epoch, per width.
ORIGIN_S = 946_857_600
MINUTE_S = 60
# One chunk (TimescaleDB) per week of one-minute rows.
CHUNK_S = 604_800

TRY_TIMESCALE = """
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
        BEGIN
            CREATE EXTENSION IF NOT EXISTS timescaledb;
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE 'timescaledb is installed but cannot be created: %', SQLERRM;
        END;
    END IF;
END
$$
"""

# Creates the monthly partitions holding ``months`` that are missing; the lock makes two writers
# creating the same month wait for each other instead of failing.
ENSURE_PARTITIONS = """
CREATE FUNCTION candles_1m_ensure_partitions(times bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    t bigint;
    first_day timestamp;
    name text;
BEGIN
    FOREACH t IN ARRAY times LOOP
        first_day := date_trunc('month', to_timestamp(t) AT TIME ZONE 'UTC');
        name := 'candles_1m_' || to_char(first_day, 'YYYY_MM');
        IF to_regclass(name) IS NULL THEN
            PERFORM pg_advisory_xact_lock(hashtext('candles_1m partitions'));
            IF to_regclass(name) IS NULL THEN
                EXECUTE format(
                    'CREATE TABLE %I PARTITION OF candles_1m FOR VALUES FROM (%L) TO (%L)',
                    name,
                    extract(epoch FROM first_day AT TIME ZONE 'UTC')::bigint,
                    extract(epoch FROM (first_day + interval '1 month') AT TIME ZONE 'UTC')::bigint
                );
            END IF;
        END IF;
    END LOOP;
END
$$
"""

# TimescaleDB makes chunks by itself: nothing to create.
ENSURE_NOTHING = """
CREATE FUNCTION candles_1m_ensure_partitions(times bigint[]) RETURNS void
LANGUAGE sql AS $$ SELECT $$
"""


def _timescale_available() -> bool:
    op.execute(TRY_TIMESCALE)
    found = op.get_bind().execute(
        text("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')")
    )
    return bool(found.scalar())


def _upgrade_timescale() -> None:
    op.execute(f"CREATE TABLE candles_1m ({COLUMNS})")
    op.execute(
        f"SELECT create_hypertable('candles_1m', 'time_s', chunk_time_interval => {CHUNK_S})"
    )
    # Integer time needs a "now" for the refresh policies' offsets.
    op.execute(
        "CREATE FUNCTION candles_now_s() RETURNS bigint LANGUAGE sql STABLE AS "
        "$$ SELECT extract(epoch FROM now())::bigint $$"
    )
    op.execute("SELECT set_integer_now_func('candles_1m', 'candles_now_s')")
    op.execute(ENSURE_NOTHING)
    for interval, width, _source in ROLLUPS:
        bucket = f"time_bucket({width}::bigint, time_s, {ORIGIN_S % width}::bigint)"
        op.execute(
            f"""
            CREATE MATERIALIZED VIEW candles_{interval}
            WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
            SELECT asset,
                   {bucket} AS time_s,
                   first(open, time_s) AS open,
                   max(high) AS high,
                   min(low) AS low,
                   last(close, time_s) AS close,
                   sum(volume) AS volume,
                   sum(trades) AS trades
            FROM candles_1m
            GROUP BY asset, {bucket}
            WITH NO DATA
            """  # noqa: S608 - names and widths are the constants above
        )
        # The refresh window must span at least two buckets; the newest minute is still open.
        op.execute(
            f"""
            SELECT add_continuous_aggregate_policy('candles_{interval}',
                start_offset => {4 * width}::bigint,
                end_offset => {MINUTE_S}::bigint,
                schedule_interval => interval '1 minute')
            """
        )


def _upgrade_native() -> None:
    op.execute(f"CREATE TABLE candles_1m ({COLUMNS}) PARTITION BY RANGE (time_s)")
    op.execute(ENSURE_PARTITIONS)
    for interval, _width, _source in ROLLUPS:
        op.execute(f"CREATE TABLE candles_{interval} ({COLUMNS})")


def upgrade() -> None:
    """Create the candle relations in whichever mode the server allows."""
    if _timescale_available():
        _upgrade_timescale()
    else:
        _upgrade_native()
    # One-minute ranges written with their rollups deferred; ``refresh_aggregates`` folds them in.
    op.execute(
        "CREATE TABLE candles_rollup_pending "
        "(asset text NOT NULL, lo bigint NOT NULL, hi bigint NOT NULL)"
    )


def downgrade() -> None:
    """Drop the candle relations, whichever mode made them."""
    kind = op.get_bind().execute(text("SELECT relkind FROM pg_class WHERE relname = 'candles_5m'"))
    is_view = kind.scalar() == "v"
    for interval, _width, _source in reversed(ROLLUPS):
        op.execute(f"DROP {'MATERIALIZED VIEW' if is_view else 'TABLE'} candles_{interval}")
    op.execute("DROP TABLE candles_rollup_pending")
    op.execute("DROP TABLE candles_1m")
    op.execute("DROP FUNCTION candles_1m_ensure_partitions(bigint[])")
    op.execute("DROP FUNCTION IF EXISTS candles_now_s()")
