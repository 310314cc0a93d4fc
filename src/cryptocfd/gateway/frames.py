"""Websocket frames built once and written to many connections.

A quote goes to every ``prices`` subscriber as the same bytes. Through ASGI each connection
would frame it again (uvicorn, then ``websockets``) behind two layers of send wrappers; at
10 ticks a second to 1,000 clients that framing is most of the gateway's work after the
``send`` system call itself. So the gateway runs uvicorn's sans-I/O websocket protocol with
one addition: an ASGI scope extension, ``cryptocfd.websocket.frame``, whose ``write`` takes a
frame serialized once (``text_frame``) and writes it to this connection's transport.

``write`` refuses (returns ``False``) whenever the frame could not go straight out: the
handshake is not finished, a close was sent, or the transport asked us to stop writing because
the client does not read. The caller then keeps the message conflated for the connection's own
sender, which waits on ASGI's ``send`` as before, so a slow client never holds up the others.
Server frames are never masked and a frame without the compression bit is valid on a connection
that negotiated permessage-deflate, so the same bytes suit every connection.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Request

EXTENSION = "cryptocfd.websocket.frame"

WriteFrame = Callable[[bytes], bool]


def text_frame(payload: bytes) -> bytes:
    """A whole, unmasked text frame carrying ``payload`` (UTF-8 JSON)."""
    return Frame(Opcode.TEXT, payload).serialize(mask=False)


def frame_writer(scope: Mapping[str, Any]) -> WriteFrame | None:
    """The connection's ``write`` when its server offers the extension, else ``None``."""
    extension = scope.get("extensions", {}).get(EXTENSION)
    return None if extension is None else extension["write"]


class FrameWritingProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O websocket protocol, offering ``write`` for pre-built frames."""

    def handle_connect(self, event: Request) -> None:
        """Accept as uvicorn does, with the extension in the connection's scope."""
        super().handle_connect(event)
        if self.handshake_initiated and not self.close_sent:
            self.scope["extensions"][EXTENSION] = {"write": self.write_frame}

    def write_frame(self, frame: bytes) -> bool:
        """Write ``frame`` now if the connection can take it; ``False`` if not."""
        # uvicorn flushes the protocol's own output (pings, pongs, closes) as it makes it, so a
        # whole frame written here never lands inside another one.
        if (
            not self.handshake_complete
            or self.close_sent
            or not self.writable.is_set()
            or self.transport.is_closing()
        ):
            return False
        self.transport.write(frame)
        return True
