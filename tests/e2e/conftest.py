"""Fixtures for the browser tests: the platform as real processes, and Debian's Chromium."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import Browser, sync_playwright

from tests.e2e.platform import whole_platform
from tests.integration.platform_process import Platform
from tests.integration.postgres import fresh_database
from tests.integration.servers import free_port
from tests.integration.smtp_inbox import Inbox

CHROMIUM = Path(os.environ.get("CRYPTOCFD_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).parent / "artifacts"
DIST = Path(__file__).resolve().parents[2] / "web" / "dist"
HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every browser test is slow: the whole platform as processes, and a real Chromium."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="module")
def mail() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server for the module, and what it received."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@contextlib.contextmanager
def platform_on(
    database_url: str, redis_url: str, smtp_port: int, state_dir: Path
) -> Iterator[Platform]:
    """Engine, gateway, worker and feed on ``database_url`` and a key prefix of their own."""
    assert (DIST / "index.html").is_file(), "web/dist is missing: run make setup"
    prefix = f"e2e:{uuid.uuid4().hex[:12]}:"
    with whole_platform(redis_url, database_url, prefix, state_dir, smtp_port) as running:
        yield running


@pytest.fixture(scope="module")
def platform(
    redis_url: str, mail: tuple[Inbox, int], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """Engine, gateway, worker and feed on a database and key prefix of their own."""
    _inbox, port = mail
    state_dir = tmp_path_factory.mktemp("platform")
    with (
        fresh_database() as database_url,
        platform_on(database_url, redis_url, port, state_dir) as running,
    ):
        yield running


@pytest.fixture(scope="module")
def browser(platform: Platform) -> Iterator[Browser]:  # noqa: ARG001 - started after it
    """Debian's Chromium, driven by Playwright (no downloaded browsers).

    Sync Playwright runs an event loop while it lives, and the platform's set-up and tear-down
    use ``asyncio.run``: so the browser starts after the platform and stops before it.
    """
    assert CHROMIUM.is_file(), f"no {CHROMIUM}: apt-get install chromium"
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
