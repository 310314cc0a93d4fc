"""What the live-account tests share: a signed-in trader, and their live account opened in
the engine as the KYC route opens it (balance 0, request id ``open-live-<user>``)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from cryptocfd.core.accounts import AccountKind, account_id_of
from cryptocfd.core.money import Cents
from cryptocfd.trading.commands import Deposit, OpenAccount
from cryptocfd.trading.events import Accepted
from tests.integration.engine_clients import engine_client
from tests.integration.gateway_harness import Gateway


@dataclass(frozen=True)
class Trader:
    """A signed-in user: their id and the headers their requests carry."""

    user_id: int
    headers: dict[str, str]


async def signed_in_trader(gateway: Gateway) -> Trader:
    """A new user, signed in by their emailed link."""
    headers = await gateway.sign_in(f"trader-{uuid.uuid4().hex[:10]}@example.com")
    me = await gateway.client.get("/api/v1/auth/me", headers=headers)
    assert me.status_code == 200, me.text
    return Trader(int(me.json()["id"]), headers)


async def open_live(gateway: Gateway, user_id: int, cents: int = 0) -> int:
    """Open ``user_id``'s live account in the engine, as the KYC route does in the real flow
    (balance 0, request id ``open-live-<user>``), then deposit ``cents`` into it; its id."""
    account_id = account_id_of(user_id, AccountKind.LIVE)
    now = time.time_ns() // 1_000_000
    async with engine_client(gateway.settings.redis_url, gateway.streams) as client:
        opened = await client.send(OpenAccount(f"open-live-{user_id}", now, account_id, Cents(0)))
        assert isinstance(opened, Accepted), opened
        if cents:
            paid = await client.send(
                Deposit(f"test-deposit-{user_id}", now, account_id, Cents(cents))
            )
            assert isinstance(paid, Accepted), paid
    return account_id
