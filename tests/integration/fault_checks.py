"""What must hold after a fault, with the load paused: every acknowledged request is in the
engine's log exactly once with the outcome the client was told, every order the answers say is
held is in the engine's state (and nothing else is), every balance is its deposit plus the PnL
of the closes its trader was told of, ``cryptocfd reconcile`` finds no difference, no record of
an old leader follows a newer leader's, and the standby's state hash is the leader's.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections import Counter
from dataclasses import dataclass, field

import httpx

from cryptocfd.bus.messages import FIELD, Record, decode_record
from cryptocfd.bus.replies import entries
from cryptocfd.core.money import parse_scaled
from cryptocfd.trading.demo import DEMO_BALANCE_CENTS
from cryptocfd.trading.events import Accepted, OrderPlaced, PositionOpened
from tests.integration.fault_load import Json, Load, Trader
from tests.integration.fault_platform import METRICS_TOKEN, FaultPlatform
from tests.waiting import until


@dataclass
class Verdict:
    """What a check found: acknowledged but missing, applied twice, and anything else wrong."""

    lost: int = 0
    doubled: int = 0
    problems: list[str] = field(default_factory=list)

    def wrong(self, why: str) -> None:
        self.problems.append(why)


async def records_of(platform: FaultPlatform) -> list[Record]:
    """Every record in the log, in order."""
    async with platform.client() as redis:
        found: list[Record] = []
        after = "-"
        while page := entries(await redis.xrange(platform.streams.records, min=after, count=5000)):
            found += [decode_record(fields[FIELD]) for _id, fields in page]
            after = f"({page[-1][0].decode()}"
        return found


def check_log(records: list[Record], load: Load, verdict: Verdict) -> None:
    """Each acknowledged request applied once, with its answer's order; no order made twice;
    epochs never go back (an old leader, fenced, wrote nothing after a newer one)."""
    applied = [r for r in records if r.kind == "command" and r.applied and r.request_id]
    counts = Counter(r.request_id for r in applied)
    first = {r.request_id: r for r in applied}
    for ack in load.acks:
        seen = counts[ack.request_id]
        if seen == 0:
            verdict.lost += 1
            verdict.wrong(f"acknowledged but not in the log: {ack.op} {ack.request_id}")
        elif ack.op == "create":
            outcome = first[ack.request_id].outcome
            logged = outcome.events[0] if isinstance(outcome, Accepted) else outcome
            if getattr(logged, "order_id", None) != int(ack.answer["order_id"]):
                verdict.wrong(f"{ack.request_id}: answered {ack.answer}, logged {logged}")
    verdict.doubled += sum(n - 1 for n in counts.values() if n > 1)
    made = Counter(
        (type(event).__name__, event.order_id)
        for r in applied
        if isinstance(r.outcome, Accepted)
        for event in r.outcome.events
        if isinstance(event, PositionOpened | OrderPlaced)  # a filled entry has one of each
    )
    verdict.doubled += sum(n - 1 for n in made.values() if n > 1)
    epochs = [r.epoch or 0 for r in records]
    if any(later < earlier for earlier, later in itertools.pairwise(epochs)):
        verdict.wrong(f"a record of an older epoch follows a newer one: {sorted(set(epochs))}")


async def get(trader: Trader, path: str, params: dict[str, str] | None = None) -> Json:
    """GET until the platform answers 200 (it may still be recovering)."""
    for _ in range(200):
        try:
            answer = await trader.client.get(path, params=params)
            if answer.status_code == 200:
                result: Json = answer.json()
                return result
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"{path} never answered 200 for {trader.email}")


async def check_state(trader: Trader, verdict: Verdict) -> None:
    """The trader's orders and balance in the engine are what its answers say."""
    held = await get(trader, "/api/v1/trade/open")
    positions = {int(p["order_id"]): p for p in held["positions"]}
    pending = {int(p["order_id"]) for p in held["pending"]}
    verdict.lost += len(trader.positions.keys() - positions) + len(trader.pending - pending)
    verdict.doubled += len(positions.keys() - trader.positions) + len(pending - trader.pending)
    if positions.keys() != trader.positions.keys() or pending != trader.pending:
        verdict.wrong(f"{trader.email}: holds {sorted(positions)} {sorted(pending)}, told "
                      f"{sorted(trader.positions)} {sorted(trader.pending)}")  # fmt: skip
    for order_id, expected in trader.positions.items():
        there = positions.get(order_id)
        for exit_ in ("stop_loss", "take_profit"):
            if there is None or exit_ not in expected:
                continue
            if there[exit_] is None or parse_scaled(there[exit_], 2) != expected[exit_]:
                verdict.wrong(f"{order_id} {exit_}: {there[exit_]}, told {expected[exit_]}")
    balance = parse_scaled((await get(trader, "/api/v1/balance"))["balance"], 2)
    if balance != DEMO_BALANCE_CENTS + trader.realized:
        verdict.wrong(
            f"{trader.email}: balance {balance} != {DEMO_BALANCE_CENTS} + {trader.realized}"
        )


async def check_history(trader: Trader, verdict: Verdict) -> None:
    """The journal booked each close the trader was told of once: as many rows in its closed
    history, their PnL summing to what the answers said (once the journal has caught up, which
    ``check_reconcile`` waits for first)."""
    rows: list[Json] = []
    params = {"limit": "500"}
    while True:
        page = await get(trader, "/api/v1/trade/closed", params)
        rows += page["items"]
        if not page["next_cursor"]:
            break
        params["cursor"] = page["next_cursor"]
    pnl = sum(parse_scaled(row["pnl"], 2) for row in rows)
    if (len(rows), pnl) != (trader.closes, trader.realized):
        verdict.lost += max(0, trader.closes - len(rows))
        verdict.doubled += max(0, len(rows) - trader.closes)
        verdict.wrong(f"{trader.email}: history has {len(rows)} closes, PnL {pnl}; told "
                      f"{trader.closes}, {trader.realized}")  # fmt: skip


async def check_backlog(platform: FaultPlatform, verdict: Verdict) -> None:
    """With the journal caught up, the gateway's own figures soon say the worker is behind by
    nothing (they come from Redis, and a restart once left them off for ever)."""
    said: list[tuple[str, str]] = []

    async def nothing_behind() -> bool:
        async with httpx.AsyncClient(base_url=platform.base_url, timeout=10) as client:
            scrape = {"Authorization": f"Bearer {METRICS_TOKEN}"}
            text = (await client.get("/metrics", headers=scrape)).text
        said[:] = re.findall(
            r'cryptocfd_consumer_behind\{group="(\w+)",stream="[^"]+"\} (\S+)', text
        )
        return bool(said) and all(float(count) == 0 for _group, count in said)

    try:
        await until(nothing_behind, 10, poll_s=0.1)
    except TimeoutError:
        verdict.wrong(f"/metrics says the worker is behind: {said}")


async def check_reconcile(platform: FaultPlatform, verdict: Verdict) -> None:
    """``cryptocfd reconcile`` (once the journal has booked the log) finds no difference."""
    done = await platform.reconcile()
    said = (done.stdout + done.stderr).decode(errors="replace")
    if done.returncode != 0 or "no differences" not in said:
        verdict.wrong(f"reconcile exited {done.returncode}: {said[-2000:]}")


async def check_standby(platform: FaultPlatform, verdict: Verdict) -> None:
    """Once the log stands still, the leader's newest snapshot is its state at the last record;
    the standby, caught up to that record, must hash the same."""

    async def both_at_the_end() -> tuple[str, str] | None:
        header, status = await platform.snapshot_at_the_end(), await platform.status()
        if header is None or status.get("standby_record") != header.last_record_id:
            return None
        standby_hash = status.get("standby_hash")
        return None if standby_hash is None else (header.state_hash, standby_hash)

    try:
        leader_hash, standby_hash = await until(both_at_the_end, 30, poll_s=0.1)
    except TimeoutError:
        verdict.wrong("the standby and the leader's snapshot never met at the log's end")
        return
    if leader_hash != standby_hash:
        verdict.wrong(f"standby hash {standby_hash} != leader's {leader_hash}")


async def check_everything(platform: FaultPlatform, load: Load) -> Verdict:
    """Every check, with the load paused and the ticks held (so the log stands still)."""
    verdict = Verdict()
    platform.ticking.clear()
    try:
        check_log(await records_of(platform), load, verdict)
        for trader in load.traders:
            await check_state(trader, verdict)
        await check_standby(platform, verdict)
        await check_reconcile(platform, verdict)
        await check_backlog(platform, verdict)
        for trader in load.traders:
            await check_history(trader, verdict)
    finally:
        platform.ticking.set()
    return verdict
