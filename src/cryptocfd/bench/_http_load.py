"""A small HTTP/1.1 keep-alive load generator on asyncio streams.

General clients (httpx) spend more CPU per request than the gateway does answering it, and
on a two-core machine the load generator shares the cores with what it measures.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class Connection:
    """One keep-alive connection; one request at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        """Connect."""
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        """Send one request; return its status and body."""
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        body = await self.reader.readexactly(length) if length else b""
        return status, body

    def close(self) -> None:
        """Close the socket."""
        self.writer.close()


def build(method: str, path: str, host: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    """A raw HTTP/1.1 request."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body or method == "POST":
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def closed_loop(
    connections: list[Connection], next_request: Callable[[int], bytes], seconds: float
) -> tuple[int, dict[int, int]]:
    """Every connection sends back-to-back for ``seconds``; return 200s and all statuses."""
    statuses: dict[int, int] = {}
    deadline = time.perf_counter() + seconds
    counter = 0

    async def drive(connection: Connection) -> None:
        nonlocal counter
        while time.perf_counter() < deadline:
            counter += 1
            status, _ = await connection.request(next_request(counter))
            statuses[status] = statuses.get(status, 0) + 1

    await asyncio.gather(*(drive(c) for c in connections))
    return statuses.get(200, 0), statuses


async def open_loop(
    connections: list[Connection],
    next_request: Callable[[int], bytes],
    rate: int,
    seconds: float,
    answered: Callable[[int, int, bytes, float], None] | None = None,
) -> tuple[list[float], dict[int, int]]:
    """Send at a constant ``rate`` for ``seconds``. Latency runs from each request's scheduled
    time, so a stall counts against every request it delayed (no coordinated omission).
    ``answered(n, status, body, latency_ms)`` hears each answer, if given."""
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for connection in connections:
        idle.put_nowait(connection)
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def one(n: int, scheduled: float, raw: bytes) -> None:
        connection = await idle.get()
        try:
            status, body = await connection.request(raw)
        finally:
            idle.put_nowait(connection)
        latency = (time.perf_counter() - scheduled) * 1000
        latencies.append(latency)
        statuses[status] = statuses.get(status, 0) + 1
        if answered is not None:
            answered(n, status, body, latency)

    tasks = []
    began = time.perf_counter()
    for n in range(int(rate * seconds)):
        scheduled = began + n / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(n, scheduled, next_request(n))))
    await asyncio.gather(*tasks)
    return latencies, statuses
