"""The walk of one ``POST /trade/create``: the project files it crosses, counted on a real request.

A profile hook records every call into a file under ``src/cryptocfd`` while one order is
created through the real gateway app against an engine served in-process (real Redis and
PostgreSQL), each call tagged with the asyncio task it ran in. The gateway's side is all the
request's task does, from the edge of the app to the answer. The engine's side is the batch
that carried the command, from the service's one call into it (``batch.serve_batch``: read,
apply, write) to its return; what the engine's loop does between batches (the lease's renewal
check, the snapshot cadence) runs whether or not a request came, and is not on the walk.
Start-up, sign-in and the tick before are outside it too.

A *room* is a file that holds a stage of the walk: one that calls on into another project
file. A *return* is a room the walk enters again, called from another project file, after it
had entered it before: the walk going back into a room it had left. A file that calls no other
(``core``'s money and clock, the rate windows' arithmetic) is a tool the stages use, not a
room, and a second use of it is not a return; every file entered is still counted. Calls within
one file, a coroutine resuming, and the framework calling the middleware for each ASGI message
are not returns either, nor the engine's rules in ``trading`` calling each other: the walk goes
to the engine and back, and what the engine does inside is its own (pure, and tested as rules
in ``tests/unit/trading``).

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
GATEWAY_FILES_AT_MOST = 17  # 14 + choosing the account (issue 14): docs/architecture.md
ENGINE_FILES_AT_MOST = 12  # 10 + the house's risk sums and the account's kind (issue 14)
RULES = "trading/"
BATCH_FILE, BATCH_ENTRY = SOURCE + "services/engine/batch.py", "serve_batch"


class Walk:
    """The project files entered, in order, per asyncio task."""

    def __init__(self) -> None:
        self.calls: dict[int, list[tuple[str, str]]] = defaultdict(list)
        self.batches: list[list[tuple[str, str]]] = []  # the engine's, one list a batch
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
        step = (caller.removeprefix(SOURCE), callee.removeprefix(SOURCE))
        self.calls[task].append(step)
        if is_batch_entry(frame):
            self.batches.append([])  # the loop's next batch: a walk of its own
        if self.batches and in_batch(frame):
            self.batches[-1].append(step)


def is_batch_entry(frame: FrameType) -> bool:
    """Whether ``frame`` is the engine's one call into a batch."""
    return frame.f_code.co_name == BATCH_ENTRY and frame.f_code.co_filename == BATCH_FILE


def in_batch(frame: FrameType | None) -> bool:
    """Whether ``frame`` runs inside the engine's batch (a resumed coroutine's ``f_back`` is
    its awaiter's frame again, so the chain leads back to the batch's entry)."""
    while frame is not None:
        if is_batch_entry(frame):
            return True
        frame = frame.f_back
    return False


def files_of(calls: list[tuple[str, str]]) -> list[str]:
    """The files entered, each once, in the order first entered."""
    return list(dict.fromkeys(callee for _, callee in calls))


def steps_of(calls: list[tuple[str, str]]) -> list[str]:
    """Each move from one file into another, in order, a repeated move shown once."""
    steps: list[str] = []
    for caller, callee in calls:
        step = f"{caller.rsplit('site-packages/', 1)[-1]} -> {callee}"
        if caller != callee and (not steps or steps[-1] != step):
            steps.append(step)
    return steps


def returns_of(calls: list[tuple[str, str]]) -> list[str]:
    """The rooms entered again, from another project file, after the walk had entered them."""
    rooms = {caller for caller, callee in calls if caller != callee}  # files that call onward
    seen: set[str] = set()
    again: dict[str, None] = {}
    for caller, callee in calls:
        repeated = callee in seen and caller != callee and not caller.startswith("/")
        within_rules = caller.startswith(RULES) and callee.startswith(RULES)
        if repeated and callee in rooms and not within_rules:
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
    gateway_side = walk.calls[request_task]
    engine_side = next(b for b in walk.batches if ("trading/engine.py", "trading/decide.py") in b)
    print("\ngateway side:", *files_of(gateway_side), sep="\n  ")
    print("returns:", returns_of(gateway_side))
    print("steps:", *steps_of(gateway_side), *steps_of(engine_side), sep="\n  ")
    print("engine side:", *files_of(engine_side), sep="\n  ")
    print("returns:", returns_of(engine_side))
    engine_task = max(
        walk.calls, key=lambda t: ("trading/engine.py", "trading/decide.py") in walk.calls[t]
    )
    print("engine task, loop included:", *files_of(walk.calls[engine_task]), sep="\n  ")

    assert "gateway/routes/trade.py" in files_of(gateway_side)
    assert "trading/decide.py" in files_of(engine_side)
    assert len(files_of(gateway_side)) <= GATEWAY_FILES_AT_MOST
    assert len(files_of(engine_side)) <= ENGINE_FILES_AT_MOST
    assert returns_of(gateway_side) == []
    assert returns_of(engine_side) == []
