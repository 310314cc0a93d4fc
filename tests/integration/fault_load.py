"""A steady trading load over HTTP, as real clients make it, and a record of what it was told.

Each trader is one asyncio client with a connection pool of its own. It opens (at market, or a
limit entry far from the price, so it stays pending), modifies, closes (fully or half) and
cancels its own orders, one request at a time, each with a fresh ``Idempotency-Key``. A 5xx, a
429 or no answer at all (timeout, refused or cut connection) is retried with the same key, as a
careful client does, until the platform answers. Every attempt is counted with the time it
ended, and every 2xx is kept with the engine request id the key became, for the checks
(``fault_checks``) to find in the engine's log and state.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from cryptocfd.core.money import format_scaled, parse_scaled
from tests.integration.fault_platform import MIDS
from tests.integration.gateway_harness import newest_link, spend_link
from tests.waiting import until

TIMEOUT_S = 10.0  # above the gateway's 5 s wait for the engine: it answers 503 first
MAX_OPEN = 8  # positions and entries per trader; the margin of them all stays far below 10,000
Json = dict[str, Any]


@dataclass(frozen=True)
class Attempt:
    """One HTTP request the load made: when it ended, and its status (None: no answer)."""

    at: float
    status: int | None


@dataclass(frozen=True)
class Ack:
    """A 2xx the load was given: the operation, the engine's request id, the answer."""

    op: str
    request_id: str
    answer: Json
    at: float


@dataclass
class Trader:
    """One client: its sign-in, and what the answers it got say it holds."""

    email: str
    user_id: int
    client: httpx.AsyncClient
    rng: random.Random
    positions: dict[int, Json] = field(default_factory=dict)  # order id -> asset, side, exits
    pending: set[int] = field(default_factory=set)
    realized: int = 0  # cents: the PnL of every close it was told of
    closes: int = 0  # how many closes, whole or part, it was told of
    sent: int = 0

    def weights(self) -> dict[str, int]:
        """How likely each operation is next, given what it holds."""
        held = len(self.positions) + len(self.pending)
        return {
            "create": 40 if held < MAX_OPEN else 0,
            "close": 25 if self.positions else 0,
            "modify": 20 if self.positions else 0,
            "cancel": 15 if self.pending else 0,
        }


class Load:
    """Traders that run until ``stop``, paused by ``pause`` while the checks look."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.traders: list[Trader] = []
        self.attempts: list[Attempt] = []
        self.acks: list[Ack] = []
        self.refused: list[str] = []  # 4xx answers: none are expected from this load
        self.running = asyncio.Event()
        self.busy = 0
        self.stopping = False
        self.tasks: list[asyncio.Task[None]] = []
        self.marked = 0.0  # where a fault's window begins (a fault that pauses moves it)

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    async def sign_in(self, count: int, database_url: str, key: bytes) -> None:
        """Sign ``count`` traders in through their emailed links."""
        for n in range(count):
            client = httpx.AsyncClient(base_url=self.base_url, timeout=TIMEOUT_S)
            email = f"trader-{n}-{uuid.uuid4().hex[:6]}@example.com"
            answer = await client.post("/api/v1/auth/login", json={"email": email})
            assert answer.status_code == 202, answer.text
            tokens = await spend_link(client, await newest_link(database_url, email, key))
            assert tokens.status_code == 200, tokens.text
            client.headers["Authorization"] = f"Bearer {tokens.json()['access_token']}"
            user_id = int(tokens.json()["user"]["id"])
            self.traders.append(Trader(email, user_id, client, random.Random(n)))

    def start(self) -> None:
        """Start every trader."""
        self.running.set()
        self.tasks = [asyncio.create_task(self._trade(trader)) for trader in self.traders]

    async def pause(self, timeout_s: float = 120.0) -> None:
        """Let each trader finish its request (retries included), then hold them."""
        self.running.clear()
        await until(lambda: self.busy == 0, timeout_s, poll_s=0.02, why="the load to settle")

    def resume(self) -> None:
        self.running.set()

    async def stop(self) -> None:
        """Stop the traders and close their clients."""
        self.stopping = True
        self.running.set()
        await asyncio.gather(*self.tasks)
        for trader in self.traders:
            await trader.client.aclose()

    async def acks_after(self, count: int) -> None:
        """Wait until ``count`` more requests have been acknowledged."""
        wanted = len(self.acks) + count
        await until(lambda: len(self.acks) >= wanted, 120, poll_s=0.02, why="the load to run")

    async def _trade(self, trader: Trader) -> None:
        while not self.stopping:
            await self.running.wait()
            if self.stopping or not self.running.is_set():
                continue
            self.busy += 1
            try:
                await self._step(trader)
            finally:
                self.busy -= 1

    async def _step(self, trader: Trader) -> None:
        weights = trader.weights()
        op = trader.rng.choices(list(weights), list(weights.values()))[0]
        if op == "create":
            await self._create(trader)
        elif op == "close":
            order_id = trader.rng.choice(sorted(trader.positions))
            half = trader.rng.random() < 0.25
            body: Json = {"order_id": order_id, **({"fraction": "0.5"} if half else {})}
            answer = await self.send(trader, "close", body)
            if answer is not None:
                trader.realized += parse_scaled(answer["pnl"], 2)
                trader.closes += 1
                if parse_scaled(answer["remaining_quantity"], 8) == 0:
                    del trader.positions[order_id]
        elif op == "modify":
            await self._modify(trader)
        else:
            order_id = trader.rng.choice(sorted(trader.pending))
            if await self.send(trader, "cancel", {"order_id": order_id}) is not None:
                trader.pending.discard(order_id)

    async def _create(self, trader: Trader) -> None:
        rng = trader.rng
        asset, side = rng.choice(sorted(MIDS)), rng.choice(("long", "short"))
        body: Json = {
            "asset": asset,
            "side": side,
            "margin": format_scaled(rng.randint(1_000, 5_000), 2),
            "leverage": rng.randint(2, 10),
        }
        if rng.random() < 0.3:  # a limit entry the price never reaches
            far = MIDS[asset] // 2 if side == "long" else MIDS[asset] * 2
            body |= {"order_type": "limit", "price": format_scaled(far, 2)}
        answer = await self.send(trader, "create", body)
        if answer is None:
            return
        if answer["status"] == "open":
            trader.positions[int(answer["order_id"])] = {"asset": asset, "side": side}
        else:
            trader.pending.add(int(answer["order_id"]))

    async def _modify(self, trader: Trader) -> None:
        order_id = trader.rng.choice(sorted(trader.positions))
        held = trader.positions[order_id]
        mid, nudge = MIDS[held["asset"]], trader.rng.randint(0, 999)
        # Exits the swaying price never reaches; the stop inside the liquidation price (5%
        # away at the highest leverage the load uses).
        near, far = mid // 100 + nudge, mid // 10 + nudge
        stop, take = (mid - near, mid + far) if held["side"] == "long" else (mid + near, mid - far)
        body = {
            "order_id": order_id,
            "stop_loss": format_scaled(stop, 2),
            "take_profit": format_scaled(take, 2),
        }
        if await self.send(trader, "modify", body) is not None:
            held |= {"stop_loss": stop, "take_profit": take}

    async def send(self, trader: Trader, op: str, body: Json) -> Json | None:
        """POST ``body`` until the platform answers; the 2xx answer, or None after a 4xx (or
        when the load stops: a platform that never answers again must not hang the test)."""
        key = uuid.uuid4().hex
        headers = {"Idempotency-Key": key}
        delay = 0.05
        trader.sent += 1
        while not self.stopping:
            try:
                answer = await trader.client.post(f"/api/v1/trade/{op}", json=body, headers=headers)
                status: int | None = answer.status_code
            except httpx.TransportError:  # a timeout, or a gateway that is not there
                status = None
            self.attempts.append(Attempt(self.now(), status))
            if status is not None and status < 300:
                rid = f"u{trader.user_id}:{op}:{key}"
                result: Json = answer.json()
                self.acks.append(Ack(op, rid, result, self.now()))
                return result
            if status is not None and 400 <= status < 500 and status != 429:
                self.refused.append(f"{op} {body} -> {status} {answer.text}")
                return None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)
        return None


def window(load: Load, start: float, end: float) -> Json:
    """What the load saw between ``start`` and ``end``: requests, answers by class, and the
    longest time no trading request was acknowledged (from ``start`` on)."""
    seen = [a for a in load.attempts if start <= a.at < end]
    classes = Counter("none" if a.status is None else f"{a.status // 100}xx" for a in seen)
    ok_times = [start] + [a.at for a in seen if a.status is not None and a.status < 300]
    gaps = [later - earlier for earlier, later in itertools.pairwise(ok_times)]
    return {
        "requests": len(seen),
        "2xx": classes["2xx"],
        "4xx": classes["4xx"],
        "5xx": classes["5xx"],
        "500": sum(1 for a in seen if a.status == 500),
        "no_answer": classes["none"],
        "unavailable_s": round(max(gaps, default=end - start), 2),
    }
