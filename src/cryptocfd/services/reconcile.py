"""``cryptocfd reconcile``: the engine's balances against the ledger's, to the cent.

1. Note the newest record, page through every balance the engine holds, note the newest record
   again. If a record in between moved money the figures may straddle it: try again.
2. Wait until the journal has booked that newest record (it books in order), or give up and say
   how far behind it is.
3. Sum the ledger up to that record, compare each account's balance and used margin and the
   house's balance, and list every event whose lines do not sum to zero.

Demo and live books are reported apart (``Book``): each kind's accounts, differences and the
ledger's house cash against them (``store.ledger``), never one total of both. The engine keeps
one house balance, so that one is compared with the two house accounts together.

Exit status: 0 no differences, 1 differences, 2 could not compare (engine or journal behind).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import msgspec
from redis.asyncio import Redis

from cryptocfd.bus.backlog import undelivered
from cryptocfd.bus.client import EngineClient, EngineUnavailable
from cryptocfd.bus.messages import FIELD, decode_record
from cryptocfd.bus.replies import entries
from cryptocfd.bus.streams import JOURNAL_GROUP, Streams
from cryptocfd.core.accounts import AccountKind, kind_of
from cryptocfd.core.money import Cents, format_cents
from cryptocfd.settings import Settings
from cryptocfd.store.database import create_pool
from cryptocfd.store.ledger import (
    HOUSE_ACCOUNTS,
    cash_account,
    house_account,
    ledger_sums,
    margin_account,
    stream_id,
    unbalanced_events,
    withdrawal_account,
)
from cryptocfd.trading.events import (
    Accepted,
    MarginCalled,
    PositionModified,
    QuoteUpdated,
    TickHeld,
)
from cryptocfd.trading.queries import GetBalances
from cryptocfd.trading.views import BalanceRow

PAGE = 1000
TRIES = 5
MONEYLESS = (QuoteUpdated, TickHeld, PositionModified, MarginCalled)


class CannotReconcile(Exception):  # noqa: N818 - it is a refusal, not a failure
    """The comparison could not be made now (the engine kept moving, the journal is behind)."""


class Difference(msgspec.Struct, frozen=True):
    """One figure on which the engine and the ledger disagree (cents; ``None``: no such)."""

    what: str
    engine: Cents | None
    ledger: Cents | None


class Book(msgspec.Struct, frozen=True):
    """One kind's accounts, demo or live, as reconciled: how many, where the engine and the
    ledger differ, and the ledger's house cash against them."""

    kind: AccountKind
    accounts: int
    differences: tuple[Difference, ...]
    house: Cents


class Report(msgspec.Struct, frozen=True):
    """What reconciling found, as of record ``through``: the demo book, the live book, the
    house balance the engine keeps for both, and the unbalanced events."""

    through: str | None
    books: tuple[Book, ...]
    house: tuple[Difference, ...]  # the engine's one house balance against both house accounts
    unbalanced: tuple[tuple[str, int, Cents], ...]  # (record id, event index, sum of its lines)

    @property
    def accounts(self) -> int:
        """How many accounts were compared, of both kinds."""
        return sum(book.accounts for book in self.books)

    @property
    def differences(self) -> tuple[Difference, ...]:
        """Every difference, of either book and the house."""
        return (*(d for book in self.books for d in book.differences), *self.house)

    @property
    def clean(self) -> bool:
        """Whether there is nothing to report."""
        return not self.differences and not self.unbalanced


async def _newest_record(redis: Redis, streams: Streams) -> str | None:
    newest = entries(await redis.xrevrange(streams.records, count=1))
    return newest[0][0].decode() if newest else None


async def _all_balances(client: EngineClient) -> tuple[list[BalanceRow], Cents]:
    rows: list[BalanceRow] = []
    run = uuid.uuid4().hex
    after, house = 0, Cents(0)
    while True:
        page = await client.balances(GetBalances(f"reconcile-{run}-{len(rows)}", after, PAGE))
        rows.extend(page.rows)
        house = page.house_balance
        if len(page.rows) < PAGE:
            return rows, house
        after = page.rows[-1].account_id


async def _money_moved(redis: Redis, streams: Streams, since: str | None, until: str) -> bool:
    start = "-" if since is None else f"({since}"
    for _id, fields in entries(await redis.xrange(streams.records, min=start, max=until)):
        record = decode_record(fields[FIELD])
        outcome = record.outcome
        events = outcome.events if record.applied and isinstance(outcome, Accepted) else ()
        if any(not isinstance(e, MONEYLESS) for e in events):
            return True
    return False


async def settled_balances(
    redis: Redis, streams: Streams, client: EngineClient
) -> tuple[list[BalanceRow], Cents, str | None]:
    """Every balance and the house's, consistent as of the returned record id."""
    for _ in range(TRIES):
        before = await _newest_record(redis, streams)
        rows, house = await _all_balances(client)
        after = await _newest_record(redis, streams)
        if after is None or after == before:
            return rows, house, after
        if not await _money_moved(redis, streams, before, after):
            return rows, house, after
    raise CannotReconcile(f"money kept moving while the balances were read ({TRIES} tries)")


async def journal_lag(redis: Redis, streams: Streams) -> str:
    """How far the journal group is behind, in words."""
    groups: list[dict[Any, Any]] = await redis.xinfo_groups(streams.records)
    for group in groups:
        name = group.get("name", group.get(b"name"))
        if name in {JOURNAL_GROUP, JOURNAL_GROUP.encode()}:
            pending = group.get("pending", group.get(b"pending"))
            lag = await undelivered(redis, streams.records, group)  # not Redis's: bus.backlog
            return f"{pending} records delivered but not booked, {lag} not yet delivered"
    return "there is no journal group: is a worker running?"


async def wait_until_booked(
    pool: asyncpg.Pool, redis: Redis, streams: Streams, record_id: str, wait_s: float
) -> None:
    """Return once the journal has booked ``record_id``; raise ``CannotReconcile`` if it has
    not within ``wait_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    query = "SELECT 1 FROM journal_records WHERE record_id = $1"
    while await pool.fetchval(query, record_id) is None:
        if loop.time() > deadline:
            lag = await journal_lag(redis, streams)
            raise CannotReconcile(f"the journal has not booked up to {record_id}: {lag}")
        await asyncio.sleep(0.05)


def compare(rows: list[BalanceRow], sums: dict[str, Cents], kind: AccountKind) -> Book:
    """The book of ``kind``: every figure of its accounts on which the engine's balances and
    the ledger's sums differ (``rows`` and ``sums`` may hold both kinds)."""
    differences = []
    expected: dict[str, tuple[str, Cents]] = {}
    ours = [row for row in rows if kind_of(row.account_id) is kind]
    for row in ours:
        expected[cash_account(row.account_id)] = (f"account {row.account_id} balance", row.balance)
        expected[margin_account(row.account_id)] = (
            f"account {row.account_id} used margin",
            row.used_margin,
        )
        expected[withdrawal_account(row.account_id)] = (
            f"account {row.account_id} withdrawals held",
            row.withdrawals_held,
        )
    for account, (what, engine) in expected.items():
        ledger = sums.get(account, Cents(0))
        if ledger != engine:
            differences.append(Difference(what, engine, ledger))
    for account, ledger in sorted(sums.items()):
        traced = account.endswith((":cash", ":margin", ":withdrawal_held"))
        if account in expected or not traced or ledger == 0:
            continue
        owner = _trader_account(account)
        if owner is not None and kind_of(owner) is kind:
            differences.append(Difference(f"ledger account {account}", None, ledger))
    house = sums.get(house_account(kind), Cents(0))
    return Book(kind, len(ours), tuple(differences), house)


def compare_house(house: Cents, sums: dict[str, Cents]) -> tuple[Difference, ...]:
    """The engine's house balance against the house accounts of both kinds together."""
    ledger = Cents(sum(sums.get(account, 0) for account in HOUSE_ACCOUNTS))
    return () if ledger == house else (Difference("house balance", house, ledger),)


def _trader_account(ledger_account: str) -> int | None:
    """The engine account of ``account:{id}:…``; ``None`` for a house or funding account."""
    prefix, _, rest = ledger_account.partition(":")
    number = rest.partition(":")[0]
    return int(number) if prefix == "account" and number.isdigit() else None


async def reconcile(
    redis: Redis, streams: Streams, pool: asyncpg.Pool, client: EngineClient, wait_s: float = 30.0
) -> Report:
    """Compare the engine's balances with the ledger (see the module's docstring)."""
    rows, house, through = await settled_balances(redis, streams, client)
    if through is not None:
        await wait_until_booked(pool, redis, streams, through, wait_s)
    sums = await ledger_sums(pool, None if through is None else stream_id(through))
    books = tuple(compare(rows, sums, kind) for kind in AccountKind)
    unbalanced = await unbalanced_events(pool)
    return Report(through, books, compare_house(house, sums), tuple(unbalanced))


def render(report: Report) -> list[str]:
    """The report as lines of text: each book on its own, then the house and the events."""
    lines = []
    for book in report.books:
        found = len(book.differences)
        verdict = "matches the engine" if not found else f"{found} figures differ"
        lines.append(
            f"{book.kind} book: {book.accounts} accounts, house cash {_cents(book.house)}, "
            f"{verdict}"
        )
        lines += [f"  {_difference(d)}" for d in book.differences]
    lines += [_difference(d) for d in report.house]
    lines += [
        f"event {seq} of record {record_id}: its ledger lines sum to {_cents(total)}, not 0"
        for record_id, seq, total in report.unbalanced
    ]
    if report.clean:
        lines.append(
            f"no differences ({report.accounts} accounts, through record {report.through})"
        )
    return lines


def _difference(d: Difference) -> str:
    return f"{d.what}: engine {_cents(d.engine)}, ledger {_cents(d.ledger)}"


def _cents(amount: Cents | None) -> str:
    return "none" if amount is None else format_cents(amount)


async def run_reconcile(settings: Settings, wait_s: float = 30.0) -> int:
    """Reconcile, print the result, and return the exit status."""
    redis = Redis.from_url(settings.redis_url)
    pool = await create_pool(settings.database_url, min_size=1, max_size=2)
    client = EngineClient(redis, Streams(settings.redis_prefix))
    await client.start()
    try:
        report = await reconcile(redis, Streams(settings.redis_prefix), pool, client, wait_s)
    except (CannotReconcile, EngineUnavailable) as exc:
        print(f"cannot reconcile: {exc}", flush=True)
        return 2
    finally:
        await client.close()
        await pool.close()
        await redis.aclose()
    for line in render(report):
        print(line, flush=True)
    return 0 if report.clean else 1
