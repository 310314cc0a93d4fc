"""A ``cryptocfd gateway`` process for the benchmarks that measure it."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator

import httpx

# A load generator is one client address: lift the gateway's per-address limits for it.
ONE_ADDRESS_LOAD = {
    "CRYPTOCFD_RATE_PER_IP_PER_MIN": str(10**9),
    "CRYPTOCFD_CONNECTIONS_PER_IP": str(10**6),
    "CRYPTOCFD_WEBSOCKETS_PER_IP": str(10**6),
}


@contextlib.asynccontextmanager
async def running_gateway(
    env: dict[str, str],
    port: int,
    workers: int = 1,
    ready: str = "/readyz",
    started: list[subprocess.Popen[bytes]] | None = None,
) -> AsyncIterator[str]:
    """Start a gateway on ``port``, wait until ``ready`` answers 200, and yield its base URL;
    stop it at the end. The process is appended to ``started`` if given (to watch it)."""
    base = f"http://127.0.0.1:{port}"
    gateway = subprocess.Popen(  # noqa: S603 - our own command line
        [sys.executable, "-m", "cryptocfd.cli", "gateway", "--port", str(port),
         "--workers", str(workers)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    if started is not None:
        started.append(gateway)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=1) as client:
            for _ in range(300):
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(ready)).status_code == 200:
                        break
                if gateway.poll() is not None:
                    raise RuntimeError("the gateway exited before it was ready")
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError(f"the gateway's {ready} did not answer 200 in 30 s")
        yield base
    finally:
        gateway.terminate()
        gateway.wait(10)
