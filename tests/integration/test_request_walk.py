"""The walk of one ``POST /trade/create``: the project files it crosses, counted on a real request.

A profile hook records every call into a file under ``src/cryptocfd`` while one order is
created through the real gateway app against an engine served in-process (real Redis and
PostgreSQL), each call tagged with the asyncio task it ran in: the request's task is the
gateway's side, the engine's batch task the engine's. Start-up, sign-in and the tick before
are outside the walk.

A *return* is a file the walk enters again, called from another project file, after it had
entered it before: the walk going back into a room it had left. Calls within one file, a
coroutine resuming, and the framework calling the middleware for each ASGI message are not.

The bounds are today's figures, so the walk cannot quietly grow; docs/architecture.md
("One request, file by file") gives it file by file.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
import uuid
from collections import defaultdict
from pathlib import Path
from types import FrameType

import cryptocfd
from tests.integration.gateway_harness import Gateway

RESUMABLE = inspect.CO_COROUTINE | inspect.CO_GENERATOR | inspect.CO_ASYNC_GENERATOR
SOURCE = str(Path(cryptocfd.__file__).parent) + "/"
GATEWAY_FILES_AT_MOST = 18
GATEWAY_RETURNS_AT_MOST = 7
ENGINE_FILES_AT_MOST = 16


class Walk:
    """The project files entered, in order, per asyncio task."""

    def __init__(self) -> None:
        self.calls: dict[int, list[tuple[str, str]]] = defaultdict(list)
        self.started: set[FrameType] = set()

    def __call__(self, frame: FrameType, event: str, _arg: object) -> None:
        # A resumed coroutine fires "call" too; only its first run is a step of the walk.
        if event != "call" or frame in self.started:
            return
        callee = frame.f_code.co_filename
        if not callee.startswith(SOURCE):
            return
        if frame.f_code.co_flags & RESUMABLE:
            self.started.add(frame)  # kept alive for the walk, so no id is reused
        caller = frame.f_back.f_code.co_filename if frame.f_back is not None else ""
        try:
            task = id(asyncio.current_task())
        except RuntimeError:
            return
        self.calls[task].append((caller.removeprefix(SOURCE), callee.removeprefix(SOURCE)))


def files_of(calls: list[tuple[str, str]]) -> list[str]:
    """The files entered, each once, in the order first entered."""
    return list(dict.fromkeys(callee for _, callee in calls))


def returns_of(calls: list[tuple[str, str]]) -> list[str]:
    """The files entered again, from another project file, after the walk had entered them."""
    seen: set[str] = set()
    again: dict[str, None] = {}
    for caller, callee in calls:
        if callee in seen and caller != callee and not caller.startswith("/"):
            again[callee] = None
        seen.add(callee)
    return list(again)


async def test_create_order_walk_when_counted_stays_within_its_bounds(gateway: Gateway) -> None:
    headers = await gateway.sign_in(f"walker-{uuid.uuid4().hex[:8]}@example.com")
    await gateway.tick("BTC", 6_400_000, 6_401_000)
    order = {"asset": "BTC", "side": "long", "margin": "100.00", "leverage": 10}
    warm = await gateway.client.post("/api/v1/trade/create", headers=headers, json=order)
    assert warm.status_code == 200, warm.text  # first calls import and cache; not walked

    walk = Walk()
    sys.setprofile(walk)
    try:
        created = await gateway.client.post("/api/v1/trade/create", headers=headers, json=order)
    finally:
        sys.setprofile(None)
    assert created.status_code == 200, created.text

    request_task = max(
        walk.calls,
        key=lambda task: sum(
            callee.startswith("gateway/routes/") for _, callee in walk.calls[task]
        ),
    )
    engine_task = max(
        walk.calls,
        key=lambda task: sum(callee.startswith("trading/") for _, callee in walk.calls[task]),
    )
    gateway_side, engine_side = walk.calls[request_task], walk.calls[engine_task]
    print("\ngateway side:", *files_of(gateway_side), sep="\n  ")
    print("returns:", returns_of(gateway_side))
    print("engine side:", *files_of(engine_side), sep="\n  ")
    print("returns:", returns_of(engine_side))

    assert "gateway/routes/trade.py" in files_of(gateway_side)
    assert "trading/decide.py" in files_of(engine_side)
    assert len(files_of(gateway_side)) <= GATEWAY_FILES_AT_MOST
    assert len(returns_of(gateway_side)) <= GATEWAY_RETURNS_AT_MOST
    assert len(files_of(engine_side)) <= ENGINE_FILES_AT_MOST
