"""``{"op": "resume", "since": n}``: the ``orders`` frames a client missed, or ``RESYNC``.

A client that lost its socket sends, on a new one (any gateway), the ``seq`` of the last
``orders`` frame it has. ``resume`` subscribes the socket to ``orders`` and sends, in order,
every frame numbered after ``since``, then ``{"type": "resumed", "since", "seq"}``; from there
the frames go on live. When that cannot be done whole, it answers ``{"type": "resync"}`` (code
``RESYNC``) and the client reloads by REST: the events fell out of this gateway's window
(``order_window``), the gateway started after them, ``since`` is ahead of every event the
account had, or the socket has already sent newer frames than the missing ones (a client
resumes before it subscribes, so that cannot happen to it).

Most resumes are answered from the window alone. When it holds nothing of the account, or less
than the client has, the engine says how many order events the account had (its portfolio's
``seq``). Its answer may be ahead of the record stream this gateway follows (the events are on
their way): the socket then takes them live as they come, for up to ``RESUME_WAIT_S``, and
answers ``resumed`` once it has them all, or ``RESYNC`` if they do not come or come with a gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

from cryptocfd.bus.client import EngineUnavailable
from cryptocfd.gateway.live import Subscriber
from cryptocfd.gateway.live_schemas import ResumedFrame, encode_frame
from cryptocfd.gateway.resources import Resources
from cryptocfd.trading.queries import GetPortfolio
from cryptocfd.trading.rejections import Rejection

RESUME_WAIT_S = 1.0  # how long a resume waits for events the engine counted to arrive here


async def engine_seq(resources: Resources, account_id: int) -> int | None:
    """How many order events the engine's account has had (``None``: no such account yet)."""
    query = GetPortfolio(f"q:{uuid.uuid4().hex}", account_id, orders=False)
    view = await resources.engine.portfolio(query)
    return None if isinstance(view, Rejection) else view.account.seq


def _resumed(subscriber: Subscriber, since: int) -> None:
    subscriber.resuming = False
    seq = subscriber.orders_seq
    subscriber.push_event(encode_frame(ResumedFrame(since, since if seq is None else seq)))


async def resume(resources: Resources, subscriber: Subscriber, since: int) -> None:
    """Subscribe ``subscriber`` (signed in) to ``orders`` from after ``since``; what it is
    sent (frames, then ``resumed`` or ``resync``) goes to its queue."""
    hub, account_id = resources.live, subscriber.account_id
    assert account_id is not None
    sent, started = subscriber.orders_seq, subscriber.orders_from
    if "orders" in subscriber.channels and sent != started:
        assert sent is not None and started is not None  # a frame was sent since it started
        if since < started:
            subscriber.resync("this socket sent newer order events already: resume first")
        elif since <= sent:
            _resumed(subscriber, since)  # it has sent every frame after since already
        else:
            await _catch_up(resources, subscriber, since)
        return
    hub.subscribe(subscriber, ["orders"])
    held = hub.window.newest(account_id)
    if held is not None and since <= held:
        _replay(resources, subscriber, since)
        return
    subscriber.start_orders(since)
    await _catch_up(resources, subscriber, since)


def _replay(resources: Resources, subscriber: Subscriber, since: int) -> None:
    """Send the window's frames after ``since``, or ``RESYNC`` if it lacks some."""
    hub, account_id = resources.live, subscriber.account_id
    assert account_id is not None
    found = hub.window.after(account_id, since)
    if found is None:
        subscriber.start_orders(hub.window.newest(account_id))
        subscriber.resync(f"order events after {since} are no longer kept here")
        return
    subscriber.start_orders(since)
    for seq, event in found:
        message = hub.order_frame(event, seq)
        if message is not None:
            subscriber.push_order(seq, message)
    _resumed(subscriber, since)


async def _catch_up(resources: Resources, subscriber: Subscriber, since: int) -> None:
    """The client has every event up to ``since``, which this gateway has not seen: ask the
    engine how many there are, and wait for the rest to come live."""
    assert subscriber.account_id is not None
    subscriber.orders_seq = max(subscriber.orders_seq or 0, since)
    subscriber.resuming = True
    try:
        counted = await engine_seq(resources, subscriber.account_id) or 0
    except EngineUnavailable:
        subscriber.resync("the engine did not answer: the order events cannot be counted")
        return
    if not subscriber.resuming:
        return  # a gap answered it meanwhile
    if counted < since:
        subscriber.resync(f"the account has had {counted} order events, not {since}")
        return
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(RESUME_WAIT_S):
            while subscriber.resuming and (subscriber.orders_seq or 0) < counted:
                subscriber.orders_moved.clear()
                await subscriber.orders_moved.wait()
    if not subscriber.resuming:
        return
    if (subscriber.orders_seq or 0) < counted:
        subscriber.resync(f"order events after {since} are not kept here")
        return
    _resumed(subscriber, since)
