"""The API explorer at ``/docs`` in a real browser, against the whole platform as real processes.

It renders the gateway's OpenAPI 3.1 document with every route group, a public call answers
from the page, and a signed-in user authorizes with a bearer token, or rides the browser's
session cookie, to call private routes; the page loads nothing from another origin.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.conftest import ARTIFACTS
from tests.integration.gateway_harness import token_of
from tests.integration.platform_process import Platform
from tests.integration.smtp_inbox import Inbox

WAIT_MS = 30_000  # generous: a loaded 2-core machine runs five processes and a browser


def emailed_link(platform: Platform, inbox: Inbox, email: str) -> str:
    """Ask for a sign-in link for ``email`` and return it as the real SMTP server got it."""
    httpx.post(f"{platform.base_url}/api/v1/auth/login", json={"email": email}).raise_for_status()
    return inbox.wait_for_link(email)


def access_token(platform: Platform, inbox: Inbox, email: str) -> str:
    """A signed-in user's access token, by the emailed link (the one step to adapt when the
    sign-in flow changes)."""
    link = emailed_link(platform, inbox, email)
    answer = httpx.post(
        f"{platform.base_url}/api/v1/auth/verify",
        json={"token": token_of(link)},
        headers={"Accept": "application/json"},
    )
    answer.raise_for_status()
    token: str = answer.json()["access_token"]
    return token


def operation(page: Page, tag: str, operation_id: str) -> Locator:
    """An operation's block in the explorer, opened."""
    block = page.locator(f"#operations-{tag}-{operation_id}")
    block.locator(".opblock-summary-control").click()
    expect(block.locator(".opblock-body")).to_be_visible(timeout=WAIT_MS)
    return block


def answered_200(page: Page, tag: str, operation_id: str, artifact: str) -> Locator:
    """Open an operation, press Execute, expect a 200 and screenshot it; return the answer."""
    block = operation(page, tag, operation_id)
    block.locator("button.execute").click()
    response = block.locator(".live-responses-table .response")
    expect(response.locator(".response-col_status")).to_have_text("200", timeout=WAIT_MS)
    response.scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / artifact)
    return response.locator(".response-col_description")


def open_explorer(page: Page, platform: Platform) -> None:
    page.goto(platform.base_url + "/docs")
    expect(page.locator("h3.opblock-tag").first).to_be_visible(timeout=WAIT_MS)


def test_explorer_when_opened_shows_every_route_group_and_calls_the_api_live(
    browser: Browser, platform: Platform, mail: tuple[Inbox, int]
) -> None:
    inbox, _port = mail
    document = httpx.get(f"{platform.base_url}/openapi.json").json()
    tags = {
        tag
        for item in document["paths"].values()
        for op in item.values()
        if isinstance(op, dict)
        for tag in op.get("tags", ["default"])
    }
    ids = {
        op["operationId"]: op
        for item in document["paths"].values()
        for op in item.values()
        if isinstance(op, dict)
    }
    assets = [a["symbol"] for a in httpx.get(f"{platform.base_url}/api/v1/supportedAssets").json()]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    origins: set[str] = set()
    page.on("request", lambda r: origins.add(urlsplit(r.url).netloc))

    open_explorer(page, platform)
    shown = page.locator("h3.opblock-tag").evaluate_all(
        "tags => tags.map(t => t.getAttribute('data-tag'))"
    )
    listed = answered_200(
        page, "market", "ApiV1SupportedassetsSupportedAssets", "explorer-public.png"
    )
    for symbol in assets:
        expect(listed).to_contain_text(f'"{symbol}"')

    token = access_token(platform, inbox, "explorer-bearer@example.com")
    page.locator("button.authorize").first.click()
    dialog = page.locator(".modal-ux")
    form = dialog.locator("form").filter(has_text="bearer (http, Bearer)")
    form.get_by_label("auth-bearer-value").fill(token)
    form.get_by_role("button", name="Apply credentials").click()
    expect(dialog.get_by_text("Authorized")).to_be_visible(timeout=WAIT_MS)
    dialog.locator("button.btn-done").first.click()
    balance = answered_200(page, "account", "ApiV1BalanceGetBalance", "explorer-balance.png")
    expect(balance).to_contain_text('"balance": "10000.00"')
    context.close()

    assert "ApiV1BalanceGetBalance" in ids
    assert ids["ApiV1BalanceGetBalance"]["security"]  # a private route, not a public one
    assert len(tags) >= 5
    assert sorted(shown) == sorted(tags)
    assert origins == {urlsplit(platform.base_url).netloc}  # nothing from another origin
    assert not problems, problems


def test_explorer_when_the_browser_is_signed_in_writes_with_its_session_and_csrf_token(
    browser: Browser, platform: Platform, mail: tuple[Inbox, int]
) -> None:
    inbox, _port = mail
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(emailed_link(platform, inbox, "explorer-session@example.com"))
    page.get_by_role("button", name="Sign in", exact=True).click()  # the session's cookies
    expect(page.get_by_role("button", name="Buy", exact=True)).to_be_visible(timeout=WAIT_MS)

    open_explorer(page, platform)
    me = answered_200(page, "auth", "ApiV1AuthMeMe", "explorer-me.png")
    expect(me).to_contain_text("explorer-session@example.com")
    # A write: without the X-CSRF-Token header the cookie alone would get a 403.
    refresh = answered_200(
        page, "market", "ApiV1CandlesRefreshRefreshCandles", "explorer-write.png"
    )
    expect(refresh).to_contain_text("refreshed_ranges")
    context.close()
