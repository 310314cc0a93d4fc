"""Fixtures every kind of test shares: one real Redis for the run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.servers import some_redis


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis every test shares, each under its own prefix."""
    with some_redis(Path(tmp_path_factory.mktemp("redis"))) as url:
        yield url
