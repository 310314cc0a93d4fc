"""The accounts with the largest exposure, from the open positions the journal keeps.

The risk console asks the engine for the house's totals (``trading.queries.GetRisk``, kept as
events apply) but reads the ranking of accounts here, from ``orders`` rows with status
``open``: ranking every account is a sort, which the database does and the engine should not.
The journal follows the engine within moments, so the ranking may trail the totals by as much.
"""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg
import msgspec

from cryptocfd.core.accounts import LIVE_ACCOUNT_BASE, AccountKind
from cryptocfd.core.money import Cents, PriceTicks, ValueDivisor

LARGEST = 10

# Per account and asset the quantities, then each valued at its asset's mark and floored to
# the cent, then summed per account: an account's gross notional is the sum over its assets
# of (long + short quantity) * mark // D, as the engine's figure per asset is.
_LARGEST = """
WITH per_asset AS (
    SELECT account_id, asset, sum(quantity) AS gross, count(*) AS positions
    FROM orders
    WHERE status = 'open' AND (account_id >= $1) = $2
    GROUP BY account_id, asset
), valued AS (
    SELECT p.account_id, floor(p.gross::numeric * m.mark / m.divisor) AS gross, p.positions
    FROM per_asset p
    JOIN unnest($3::text[], $4::bigint[], $5::numeric[]) AS m (asset, mark, divisor)
        USING (asset)
), ranked AS (
    SELECT account_id, sum(gross)::bigint AS gross, sum(positions)::bigint AS positions
    FROM valued
    GROUP BY account_id
    ORDER BY gross DESC, account_id
    LIMIT $6
)
SELECT r.account_id, r.gross, r.positions, u.email
FROM ranked r
LEFT JOIN users u
    ON u.id = CASE WHEN r.account_id >= $1 THEN r.account_id - $1 ELSE r.account_id END
ORDER BY r.gross DESC, r.account_id
"""


class AccountExposure(msgspec.Struct, frozen=True):
    """One account's open positions, valued at the marks: its gross notional in cents."""

    account_id: int
    email: str | None
    gross_notional: Cents
    positions: int


async def largest_accounts(
    pool: asyncpg.Pool,
    kind: AccountKind,
    marks: Mapping[str, tuple[PriceTicks, ValueDivisor]],
    limit: int = LARGEST,
) -> list[AccountExposure]:
    """The ``limit`` accounts of ``kind`` with the largest gross notional at ``marks`` (asset
    -> mark and value divisor; an asset without a mark counts nothing), largest first."""
    assets = sorted(marks)
    rows = await pool.fetch(
        _LARGEST,
        LIVE_ACCOUNT_BASE,
        kind is AccountKind.LIVE,
        assets,
        [marks[a][0] for a in assets],
        [marks[a][1] for a in assets],
        limit,
    )
    return [
        AccountExposure(
            int(row["account_id"]), row["email"], Cents(int(row["gross"])), int(row["positions"])
        )
        for row in rows
    ]
