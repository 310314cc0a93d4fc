"""The dashboard's demo/live switch in a real browser, against the whole platform as real
processes: the badge always says which account is shown, live is offered once it is open,
and switching shows that account's balance."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

from playwright.sync_api import Browser, expect

from cryptocfd.bus.streams import Streams
from cryptocfd.core.accounts import AccountKind, account_id_of
from cryptocfd.core.money import Cents
from cryptocfd.trading.commands import OpenAccount
from cryptocfd.trading.engine import Outcome
from cryptocfd.trading.events import Accepted
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_dashboard import WAIT_MS, api_json, sign_in
from tests.integration.engine_clients import engine_client
from tests.integration.platform_process import Platform
from tests.integration.smtp_inbox import Inbox


async def _open_live(redis_url: str, platform: Platform, user_id: int) -> Outcome:
    # In the real flow the KYC route opens the live account, exactly so: balance 0, this id.
    async with engine_client(redis_url, Streams(platform.prefix)) as client:
        account_id = account_id_of(user_id, AccountKind.LIVE)
        now = time.time_ns() // 1_000_000
        return await client.send(OpenAccount(f"open-live-{user_id}", now, account_id, Cents(0)))


def open_live(redis_url: str, platform: Platform, user_id: int) -> Outcome:
    """Open ``user_id``'s live account through the engine (from a thread of its own: the
    browser's driver holds this one's event loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _open_live(redis_url, platform, user_id)).result()


def test_trader_when_switching_to_live_and_back_sees_each_accounts_badge_and_balance(
    browser: Browser, platform: Platform, mail: tuple[Inbox, int], redis_url: str
) -> None:
    inbox, _port = mail
    context = browser.new_context(
        base_url=platform.base_url, viewport={"width": 1440, "height": 900}
    )
    page = context.new_page()
    sign_in(page, platform, inbox, "e2e-live@example.com")
    badge = page.get_by_role("status", name="Active account")
    live = page.get_by_role("button", name="Live", exact=True)
    demo = page.get_by_role("button", name="Demo", exact=True)
    balance = page.locator("[data-stat='balance']")
    expect(badge).to_have_text("DEMO", timeout=WAIT_MS)
    expect(live).to_be_disabled()
    expect(balance).to_have_text("10,000.00", timeout=WAIT_MS)

    user_id = int(api_json(page, "GET", "/api/v1/auth/me")["id"])
    assert isinstance(open_live(redis_url, platform, user_id), Accepted)
    page.reload()
    expect(live).to_be_enabled(timeout=WAIT_MS)
    live.click()
    expect(badge).to_have_text("LIVE", timeout=WAIT_MS)
    expect(balance).to_have_text("0.00", timeout=WAIT_MS)
    expect(page.get_by_role("button", name="Reset demo")).to_be_hidden()
    page.screenshot(path=ARTIFACTS / "account-live.png")
    assert api_json(page, "GET", "/api/v1/account")["active"] == "live"

    demo.click()
    expect(badge).to_have_text("DEMO", timeout=WAIT_MS)
    expect(balance).to_have_text("10,000.00", timeout=WAIT_MS)
    page.screenshot(path=ARTIFACTS / "account-demo.png")
    context.close()
