"""A cheap websocket client for the benchmarks: many of them share this process's loop."""

from __future__ import annotations

import asyncio
import json
import time
from typing import cast

import msgspec
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri


class _Quote(msgspec.Struct):
    asset: str = ""
    ts: int = 0  # an order event has none


class _Message(msgspec.Struct):
    channel: str | None = None
    data: _Quote | None = None


_decode = msgspec.json.Decoder(_Message).decode
SUBSCRIBE_PRICES = json.dumps({"op": "subscribe", "channels": ["prices"]})


class Client(asyncio.Protocol):
    """One websocket client, read from asyncio's callback: no task per connection and none per
    message, so the load generator, which shares the two cores with the gateway, stays cheap.

    The ``websockets`` sans-I/O protocol does the opening handshake, the ``hello`` and every
    frame the client sends. Once subscribed, the quotes are read by ``_read_frames``: a server's
    frames are unmasked and these are small and whole, so a header and a slice are all a quote
    costs, a fraction of the general parser's work. Arrival is stamped when the bytes reach
    this process, before they are parsed."""

    def __init__(self, url: str, latencies: list[float], hello: list[str]) -> None:
        self.ws = ClientProtocol(parse_uri(url))
        self.latencies = latencies
        self.hello = hello  # sent once the handshake is done: sign-in, subscriptions
        self.orders = 0  # frames of the ``orders`` channel seen
        self.subscribed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.pending = b""  # the start of a frame split across reads
        self.closing = False  # we asked to close: an end after this is not a drop
        self.dropped = False  # the connection ended before we closed it

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.ws.send_request(self.ws.connect())
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        del exc  # a drop is a drop, whatever ended it
        self.dropped = not self.closing

    def data_received(self, data: bytes) -> None:
        arrived = time.time() * 1000
        if self.subscribed.done():
            self._read_frames(self.pending + data if self.pending else data, arrived)
            return
        self.ws.receive_data(data)
        for event in self.ws.events_received():
            if isinstance(event, Response):
                for message in self.hello:
                    self.ws.send_text(message.encode())
            elif isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                self._message(bytes(event.data), arrived)
        self._flush()

    def _read_frames(self, data: bytes, arrived: float) -> None:
        at, end = 0, len(data)
        while end - at >= 2:
            head, size = data[at], data[at + 1]
            start = at + 2
            if size == 126:
                if end - at < 4:
                    break
                size, start = int.from_bytes(data[at + 2 : at + 4]), at + 4
            elif size > 126:
                raise ValueError("the gateway sent a masked or huge frame")
            if end < start + size:
                break
            if not head & 0x80:
                raise ValueError("the gateway fragmented a message")
            opcode = Opcode(head & 0x0F)
            payload = data[start : start + size]
            at = start + size
            if opcode is Opcode.TEXT:
                self._message(payload, arrived)
            elif opcode is Opcode.PING:
                self.ws.send_pong(payload)
                self._flush()
        self.pending = data[at:]

    def _message(self, raw: bytes, arrived: float) -> None:
        message = _decode(raw)
        if message.channel is None:
            if not self.subscribed.done():
                self.subscribed.set_result(None)  # the first reply to ``hello``
        elif message.channel == "orders":
            self.orders += 1
        elif message.data is not None and message.data.asset == "BTC":
            self.latencies.append(arrived - message.data.ts)

    def _flush(self) -> None:
        assert self.transport is not None
        for chunk in self.ws.data_to_send():
            if chunk:
                self.transport.write(chunk)
            else:  # the protocol asks for the end of the stream after a close
                self.transport.close()

    def close(self) -> None:
        """Send a close frame and end the connection."""
        self.closing = True
        self.ws.send_close()
        self._flush()
        assert self.transport is not None
        self.transport.close()
