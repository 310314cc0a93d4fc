"""The engine and a gateway as real processes on a free port, for tests that need a server."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from cryptocfd.settings import load_settings
from cryptocfd.store.keyfiles import server_key
from tests.integration.engine_process import EngineProcess
from tests.integration.servers import free_port
from tests.waiting import eventually, tail


@dataclass
class Platform:
    """A running engine and gateway."""

    base_url: str
    prefix: str
    state_dir: Path
    server_key: bytes  # seals the outbox: what a test opens an unsent email with
    engine: EngineProcess  # a test may stop and start it to meet the gateway without it


@contextlib.contextmanager
def running_platform(
    redis_url: str, database_url: str, prefix: str, state_dir: Path, **env: str
) -> Iterator[Platform]:
    """Start ``cryptocfd engine`` and ``cryptocfd gateway``; stop both at the end."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    environment = {
        **os.environ,
        "REDIS_URL": redis_url,
        "DATABASE_URL": database_url,
        "CRYPTOCFD_REDIS_PREFIX": prefix,
        "CRYPTOCFD_STATE_DIR": str(state_dir),
        "CRYPTOCFD_PUBLIC_URL": base_url,
        "CRYPTOCFD_ENV": "dev",
        **env,
    }
    engine = EngineProcess(redis_url, prefix, state_dir, secrets.token_hex(32), **env)
    engine.start()
    try:
        with gateway_process(environment, port, state_dir / "gateway.log"):
            key = server_key(load_settings(environment))
            yield Platform(base_url, prefix, state_dir, key, engine)
    finally:
        engine.stop()


@contextlib.contextmanager
def another_gateway(
    platform: Platform, redis_url: str, database_url: str, **env: str
) -> Iterator[str]:
    """One more ``cryptocfd gateway`` of ``platform``, started now; its base URL."""
    port = free_port()
    environment = {
        **os.environ,
        "REDIS_URL": redis_url,
        "DATABASE_URL": database_url,
        "CRYPTOCFD_REDIS_PREFIX": platform.prefix,
        "CRYPTOCFD_STATE_DIR": str(platform.state_dir),
        "CRYPTOCFD_PUBLIC_URL": platform.base_url,
        "CRYPTOCFD_ENV": "dev",
        **env,
    }
    with gateway_process(environment, port, platform.state_dir / f"gateway-{port}.log"):
        yield f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def gateway_process(environment: dict[str, str], port: int, log: Path) -> Iterator[None]:
    """``cryptocfd gateway`` on ``port``, healthy; stopped at the end."""
    base_url = f"http://127.0.0.1:{port}"
    with open(log, "ab") as out:
        gateway = subprocess.Popen(  # noqa: S603 - our own command line
            [sys.executable, "-m", "cryptocfd.cli", "gateway", "--port", str(port)],
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )

    def healthy() -> bool:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return True
        if gateway.poll() is not None:
            raise RuntimeError(f"the gateway exited:\n{tail(log)}")
        return False

    try:
        eventually(healthy, 20, poll_s=0.05, why=lambda: f"the gateway to start:\n{tail(log)}")
        yield
    finally:
        gateway.terminate()
        gateway.wait(10)
