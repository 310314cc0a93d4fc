"""Candles in PostgreSQL: one-minute rows written with COPY, rollups kept current, queries.

Times are unix seconds (``time_s``, bigint: a candle's start), as the API speaks them; prices are
bigint ticks at the asset's ``price_decimals``.

Writing: a batch is COPYed straight into ``candles_1m``. A batch holding a minute that is already
stored (a re-sent batch, a backfill over live history) fails that COPY on the primary key; it is
then merged instead, through a temporary table and ``ON CONFLICT DO UPDATE``, the newer row
winning, so nothing is ever counted twice. Without TimescaleDB, the same transaction then
recomputes the rollup buckets the batch touched, each from the next finer table
(1m → 5m → 15m → 30m → 1h → 4h → 1d → 1w; every bucket is a whole number of the finer ones).
Writers of the same asset are serialised by an advisory lock, so two batches landing in the same
bucket cannot each recompute it without the other's minutes.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime

import asyncpg

from cryptocfd.core.assets import DEFAULT_ASSETS
from cryptocfd.market.candles import (
    BUCKET_ORIGIN_S,
    DEFAULT_LIMIT,
    INTERVALS,
    MAX_TIME_S,
    Candle,
    CandleRow,
    validate_candle_query,
)
from cryptocfd.store.database import Connection
from cryptocfd.store.locks import CANDLES_LOCK

COLUMNS = ("asset", "time_s", "open", "high", "low", "close", "volume", "trades")
# Each rollup after the one-minute table, with the finer table it is recomputed from.
ROLLUPS = (
    ("5m", "1m"),
    ("15m", "5m"),
    ("30m", "15m"),
    ("1h", "30m"),
    ("4h", "1h"),
    ("1d", "4h"),
    ("1w", "1d"),
)

Range = tuple[str, int, int]  # asset, first and last minute touched (unix seconds)
Row = tuple[str, int, int, int, int, int, int, int]  # a candles_1m row, in COLUMNS order


def _bucket_sql(width: int, column: str) -> str:
    # Floor to the bucket, the remainder taken positive so times before the origin work too.
    return f"({column} - (({column} - {BUCKET_ORIGIN_S}) % {width} + {width}) % {width})"


def _recompute_sql(interval: str, source: str) -> str:
    width = INTERVALS[interval]
    # Table names and widths come from INTERVALS, never from a request.
    return f"""
        INSERT INTO candles_{interval} AS t ({", ".join(COLUMNS)})
        SELECT s.asset, {_bucket_sql(width, "s.time_s")} AS b,
               (array_agg(s.open ORDER BY s.time_s))[1], max(s.high), min(s.low),
               (array_agg(s.close ORDER BY s.time_s DESC))[1],
               sum(s.volume)::bigint, sum(s.trades)::bigint
        FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS r (asset, lo, hi)
        JOIN candles_{source} AS s ON s.asset = r.asset
            AND s.time_s >= {_bucket_sql(width, "r.lo")}
            AND s.time_s < {_bucket_sql(width, "r.hi")} + {width}
        GROUP BY s.asset, b
        ON CONFLICT (asset, time_s) DO UPDATE SET
            open = excluded.open, high = excluded.high, low = excluded.low,
            close = excluded.close, volume = excluded.volume, trades = excluded.trades
        WHERE (t.open, t.high, t.low, t.close, t.volume, t.trades)
            IS DISTINCT FROM (excluded.open, excluded.high, excluded.low, excluded.close,
                              excluded.volume, excluded.trades)
    """  # noqa: S608


RECOMPUTE = {interval: _recompute_sql(interval, source) for interval, source in ROLLUPS}


def _select_sql(interval: str, order: str) -> str:
    # The table name comes from INTERVALS, never from a request.
    return f"""
        SELECT time_s, open, high, low, close, volume::bigint, trades::bigint
        FROM candles_{interval}
        WHERE asset = $1 AND time_s >= $2 AND time_s <= $3
        ORDER BY time_s {order} LIMIT $4
    """  # noqa: S608


SELECT = {
    (interval, order == "DESC"): _select_sql(interval, order)
    for interval in INTERVALS
    for order in ("ASC", "DESC")
}

MERGE = """
    INSERT INTO candles_1m (asset, time_s, open, high, low, close, volume, trades)
    SELECT asset, time_s, open, high, low, close, volume, trades FROM candles_incoming
    ON CONFLICT (asset, time_s) DO UPDATE SET
        open = excluded.open, high = excluded.high, low = excluded.low,
        close = excluded.close, volume = excluded.volume, trades = excluded.trades
"""


async def rollups_are_tables(conn: Connection) -> bool:
    """True without TimescaleDB: the rollups are tables this module keeps current."""
    kind = await conn.fetchval("SELECT relkind FROM pg_class WHERE oid = 'candles_5m'::regclass")
    return bool(kind in {b"r", "r"})


async def has_candles(pool: asyncpg.Pool) -> bool:
    """True when any one-minute candle is stored."""
    return bool(await pool.fetchval("SELECT EXISTS (SELECT 1 FROM candles_1m)"))


async def write_candles(
    pool: asyncpg.Pool, candles: Sequence[Candle], *, rollups: bool = True
) -> int:
    """Store closed one-minute candles; return how many rows were written.

    With ``rollups`` false (bulk loads), the rollups are left for ``refresh_aggregates``: the
    touched ranges are noted in ``candles_rollup_pending`` for it.
    """
    if not candles:
        return 0
    records: list[Row] = [
        (c.asset, c.time_s, c.open, c.high, c.low, c.close, c.volume, c.trades) for c in candles
    ]
    ranges = _ranges(candles)
    async with pool.acquire() as conn, conn.transaction():
        await _lock_assets(conn, [asset for asset, _lo, _hi in ranges])
        await conn.execute("SELECT candles_1m_ensure_partitions($1::bigint[])", _months(ranges))
        await _copy_or_merge(conn, records)
        if await rollups_are_tables(conn):
            if rollups:
                await _recompute(conn, ranges)
            else:
                await conn.executemany(
                    "INSERT INTO candles_rollup_pending (asset, lo, hi) VALUES ($1, $2, $3)",
                    ranges,
                )
    return len(records)


def _ranges(candles: Sequence[Candle]) -> list[Range]:
    bounds: dict[str, list[int]] = {}
    for c in candles:
        span = bounds.get(c.asset)
        if span is None:
            bounds[c.asset] = [c.time_s, c.time_s]
        elif c.time_s < span[0]:
            span[0] = c.time_s
        elif c.time_s > span[1]:
            span[1] = c.time_s
    return [(asset, lo, hi) for asset, (lo, hi) in sorted(bounds.items())]


def _months(ranges: Sequence[Range]) -> list[int]:
    """A time in every calendar month (UTC) from the earliest to the latest minute written."""
    first = datetime.fromtimestamp(min(lo for _a, lo, _h in ranges), UTC)
    last = datetime.fromtimestamp(max(hi for _a, _l, hi in ranges), UTC)
    months = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(int(datetime(year, month, 1, tzinfo=UTC).timestamp()))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


async def _lock_assets(conn: Connection, assets: Sequence[str]) -> None:
    # Sorted, so two writers of overlapping asset sets take the locks in the same order.
    await conn.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext(a)) FROM unnest($2::text[]) AS a ORDER BY a",
        CANDLES_LOCK,
        sorted(set(assets)),
    )


async def _copy_or_merge(conn: Connection, records: list[Row]) -> None:
    try:
        async with conn.transaction():  # a savepoint: a failed COPY leaves the batch's lock
            await conn.copy_records_to_table("candles_1m", records=records, columns=COLUMNS)
    except asyncpg.UniqueViolationError:
        # Some minutes are stored already: merge, the last row of a minute in the batch winning.
        latest = {(r[0], r[1]): r for r in records}
        await conn.execute(
            "CREATE TEMPORARY TABLE candles_incoming "
            "(LIKE candles_1m INCLUDING DEFAULTS) ON COMMIT DROP"
        )
        await conn.copy_records_to_table(
            "candles_incoming", records=list(latest.values()), columns=COLUMNS
        )
        await conn.execute(MERGE)
        await conn.execute("DROP TABLE candles_incoming")


async def _recompute(conn: Connection, ranges: Sequence[Range]) -> None:
    assets = [asset for asset, _lo, _hi in ranges]
    los = [lo for _asset, lo, _hi in ranges]
    his = [hi for _asset, _lo, hi in ranges]
    for interval, _source in ROLLUPS:
        await conn.execute(RECOMPUTE[interval], assets, los, his)


async def refresh_aggregates(pool: asyncpg.Pool, *, full: bool = False) -> int:
    """Bring every rollup current; return how many assets' ranges were recomputed.

    Without TimescaleDB, the rollups are already current for batches written with their rollups;
    this folds in the ranges that bulk loads deferred, or with ``full`` recomputes every bucket
    from ``candles_1m``. With TimescaleDB, it refreshes each continuous aggregate (which tracks
    what changed by itself).
    """
    async with pool.acquire() as conn:
        if not await rollups_are_tables(conn):
            for interval, _source in ROLLUPS:
                # A procedure that cannot run inside a transaction block: none is open here.
                await conn.execute(
                    f"CALL refresh_continuous_aggregate('candles_{interval}', NULL, NULL)"
                )
            return len(ROLLUPS)
        async with conn.transaction():
            pending = await conn.fetch(
                "WITH done AS (DELETE FROM candles_rollup_pending RETURNING asset, lo, hi) "
                "SELECT asset, min(lo) AS lo, max(hi) AS hi FROM done GROUP BY asset"
            )
            if full:
                pending = await conn.fetch(
                    "SELECT asset, min(time_s) AS lo, max(time_s) AS hi FROM candles_1m "
                    "GROUP BY asset"
                )
            ranges = sorted((row["asset"], row["lo"], row["hi"]) for row in pending)
            await _lock_assets(conn, [asset for asset, _lo, _hi in ranges])
            await _recompute(conn, ranges)
    return len(ranges)


async def query_candles(
    pool: asyncpg.Pool,
    asset: str,
    interval: str,
    start_s: int | None = None,
    end_s: int | None = None,
    limit: int = DEFAULT_LIMIT,
    *,
    assets: Collection[str] | None = None,
) -> list[CandleRow]:
    """``asset``'s stored candles of ``interval`` starting in ``[start_s, end_s]``, oldest first.

    With ``start_s``, the first ``limit`` from it; without, the newest ``limit`` up to ``end_s``.
    ``assets`` are the known symbols (the default assets when None). Raise ``CandleQueryError``
    (a ``ValueError`` with a stable ``code``) for an unknown asset or interval, a bad range or a
    limit outside 1..5000. The open candle is not stored: merge it with ``merge_open_candle``.
    """
    known = assets if assets is not None else [a.symbol for a in DEFAULT_ASSETS]
    query = validate_candle_query(asset, interval, start_s, end_s, limit, known)
    newest_first = query.start_s is None
    sql = SELECT[query.interval, newest_first]
    start = 0 if query.start_s is None else query.start_s
    end = MAX_TIME_S if query.end_s is None else query.end_s
    rows = await pool.fetch(sql, query.asset, start, end, query.limit)
    candles = [CandleRow(*row) for row in rows]
    if newest_first:
        candles.reverse()
    return candles


PRICES_AT = """
    SELECT a.asset,
           coalesce(before.time_s + 60, first.time_s) AS time_s,
           coalesce(before.close, first.open) AS price
    FROM unnest($1::text[]) AS a (asset)
    LEFT JOIN LATERAL (
        SELECT time_s, close FROM candles_1m
        WHERE asset = a.asset AND time_s <= $2::bigint - 60
        ORDER BY time_s DESC LIMIT 1
    ) AS before ON true
    LEFT JOIN LATERAL (
        SELECT time_s, open FROM candles_1m WHERE asset = a.asset ORDER BY time_s LIMIT 1
    ) AS first ON true
    WHERE first.time_s IS NOT NULL
"""


async def prices_at(
    pool: asyncpg.Pool, assets: Collection[str], at_s: int
) -> dict[str, tuple[int, int]]:
    """Per asset, the stored bid at ``at_s`` and the time it stood: ``(time_s, price)``.

    That is the close of the last minute over by ``at_s`` (stamped with the minute's end); when
    the history begins later, its first price (the oldest minute's open, at its start). Assets
    with no stored minute are absent.
    """
    rows = await pool.fetch(PRICES_AT, sorted(assets), at_s)
    return {row["asset"]: (row["time_s"], row["price"]) for row in rows}
