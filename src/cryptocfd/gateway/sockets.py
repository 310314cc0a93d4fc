"""Limits at the socket: what one connection may cost before the app sees a request.

uvicorn's httptools protocol bounds none of this itself: a connection that never finishes its
headers stays open, headers of any size are buffered, a body is read whole before the app can
refuse it, and one address may open any number of connections. The gateway's protocols add:

- headers: at most ``max_header_bytes`` as sent (431) and ``MAX_HEADERS`` of them (431),
  complete within ``header_timeout_s`` of the
  connection opening or the request's first byte (408, and the connection closes);
- bodies: a ``Content-Length`` over ``body.body_limit`` (``MAX_BODY_BYTES``; more on the
  routes that take files) is refused with 413 as soon as the
  headers are in, before a byte of the body is read; a chunked body is cut off at that size;
  a body must arrive within ``body_timeout_s`` of its headers (408);
- websocket messages: over ``WS_MAX_MESSAGE_BYTES`` (after decompression) close the socket
  with 1009 instead of being buffered whole (uvicorn's own default is 16 MiB);
- connections: at most ``connections_per_ip`` HTTP connections and ``websockets_per_ip``
  websockets from one client address (429). An upgraded connection counts as a websocket only.
  A client address is ``perip.client_key``'s (an IPv6 address's /64). A trusted proxy
  (``CRYPTOCFD_TRUSTED_PROXIES``) carries many clients on its connections, so its connections
  are not capped; its websockets count against the client its X-Forwarded-For names.

Every refusal is the API's error body and closes the connection. The counts are per gateway
process: with ``--workers N`` one address may hold up to N times as many.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# The very rule uvicorn's ProxyHeadersMiddleware applies to scope["client"], so a websocket is
# counted against the client the app sees.
from uvicorn.middleware.proxy_headers import _TrustedHosts
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from cryptocfd.gateway.body import body_limit
from cryptocfd.gateway.edge import NO_FRAMING
from cryptocfd.gateway.errors import error_json
from cryptocfd.gateway.frames import FrameWritingProtocol
from cryptocfd.gateway.perip import client_key
from cryptocfd.settings import Settings

WS_MAX_MESSAGE_BYTES = 65_536  # the route answers messages over 4 KiB itself (ws.py)
LINGER_S = 1.0  # how long a refused connection's late bytes are read and dropped
MAX_HEADERS = 100  # each costs the app a tuple and a lookup or two: more is a 431
# What the parser leaves out of the header bytes it hands over, counted back so headers are
# measured as sent: the request line's method, spaces, version and CRLF (a method of up to 7
# letters) and each header's ": " and CRLF.
REQUEST_LINE_EXTRA = len(b"OPTIONS  HTTP/1.1\r\n")
HEADER_EXTRA = len(b": \r\n")


@dataclass(frozen=True)
class SocketLimits:
    """The limits of one gateway process (from settings; the defaults are the settings')."""

    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    max_header_bytes: int = 16_384
    connections_per_ip: int = 128
    websockets_per_ip: int = 32
    trusted_proxies: tuple[str, ...] = ()

    @classmethod
    def of(cls, settings: Settings) -> SocketLimits:
        """The limits ``settings`` name."""
        return cls(
            header_timeout_s=settings.header_timeout_s,
            body_timeout_s=settings.body_timeout_s,
            max_header_bytes=settings.max_header_bytes,
            connections_per_ip=settings.connections_per_ip,
            websockets_per_ip=settings.websockets_per_ip,
            trusted_proxies=settings.trusted_proxy_list,
        )


class PerAddress:
    """How many connections each client address holds open in this process."""

    def __init__(self) -> None:
        self._open: dict[str, int] = {}

    def take(self, address: str, cap: int) -> bool:
        """Count one more for ``address``, unless it already holds ``cap``."""
        held = self._open.get(address, 0)
        if held >= cap:
            return False
        self._open[address] = held + 1
        return True

    def release(self, address: str) -> None:
        """Count one fewer for ``address``."""
        held = self._open.pop(address, 0) - 1
        if held > 0:
            self._open[address] = held


class _Active:
    """The process's limits (``configure`` sets them as the app is built) and its counts."""

    limits = SocketLimits()
    proxies = _TrustedHosts([])
    connections = PerAddress()
    websockets = PerAddress()


def configure(settings: Settings) -> None:
    """Apply ``settings``' limits to the connections this process accepts from now on."""
    _Active.limits = SocketLimits.of(settings)
    _Active.proxies = _TrustedHosts(list(_Active.limits.trusted_proxies))


def http_refusal(status: int, code: str, message: str) -> bytes:
    """A whole HTTP/1.1 response carrying the API's error body, closing the connection."""
    body = error_json(code, message)
    head = [
        STATUS_LINE[status],
        b"content-type: application/json\r\n",
        b"content-length: %d\r\n" % len(body),
        b"content-security-policy: " + NO_FRAMING + b"\r\n",
        b"x-frame-options: DENY\r\n",
        b"connection: close\r\n",
    ]
    if status == 429:
        head.append(b"retry-after: 10\r\n")
    return b"".join([*head, b"\r\n", body])


def _address(client: tuple[str, int] | None) -> str:
    return client[0] if client else "unknown"


class LimitedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, within the process's ``SocketLimits``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = _Active.limits
        self.counted: str | None = None  # the address whose connection slot this holds
        self.refused = False
        self.in_headers = True  # reading a request's headers, not its body
        self.unparsed = 0  # bytes read since the last request ended, its headers unfinished
        self.header_bytes = 0  # the request line and headers, as sent
        self.header_count = 0
        self.body_bytes = 0
        self.target = b""  # the request's path and query, as sent
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Take a connection slot for the client's address, or refuse; start the header clock."""
        super().connection_made(transport)
        peer = _address(self.client)
        if peer not in _Active.proxies:
            address, cap = client_key(peer), self.limits.connections_per_ip
            if not _Active.connections.take(address, cap):
                self.refuse(429, "TOO_MANY_CONNECTIONS", f"at most {cap} connections per address")
                return
            self.counted = address
        self.start_clock(self.limits.header_timeout_s, self.headers_too_slow)

    def connection_lost(self, exc: Exception | None) -> None:
        """Give the slot back."""
        self.stop_clock()
        self.release()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Feed the parser; refuse headers that grow past the cap before they are complete."""
        if self.refused:
            return
        if self.in_headers:
            self.unparsed += len(data)
        super().data_received(data)
        if self.in_headers and self.unparsed > self.limits.max_header_bytes:
            self.headers_too_large()

    def handle_websocket_upgrade(self) -> None:
        """Hand the connection to the websocket protocol, which counts it as a websocket."""
        self.stop_clock()
        self.release()
        super().handle_websocket_upgrade()

    def on_message_begin(self) -> None:
        """Start the header clock of a request on a kept-alive connection."""
        super().on_message_begin()
        self.header_bytes, self.header_count, self.body_bytes = REQUEST_LINE_EXTRA, 0, 0
        self.target = b""
        if self.timer is None:
            self.start_clock(self.limits.header_timeout_s, self.headers_too_slow)

    def on_url(self, url: bytes) -> None:
        """Count the target towards the header bytes."""
        self.header_bytes += len(url)
        self.target += url
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        """Count the header, and its bytes as sent, towards the caps."""
        self.header_bytes += len(name) + len(value) + HEADER_EXTRA
        self.header_count += 1
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        """Refuse oversized headers or a declared body over the limit; else serve the request."""
        self.stop_clock()
        self.in_headers, self.unparsed = False, 0
        if self.refused:
            return
        if self.header_count > MAX_HEADERS:
            self.refuse(431, "HEADERS_TOO_LARGE", f"requests have at most {MAX_HEADERS} headers")
            return
        if self.header_bytes > self.limits.max_header_bytes:
            self.headers_too_large()
            return
        declared = self.content_length()
        if declared is not None and declared > body_limit(self.target):
            self.body_too_large()
            return
        super().on_headers_complete()
        if not self.parser.should_upgrade() and declared != 0:
            self.start_clock(self.limits.body_timeout_s, self.body_too_slow)

    def on_body(self, body: bytes) -> None:
        """Cut off a body (chunked, say) that grows past the limit."""
        if self.refused:
            return
        self.body_bytes += len(body)
        if self.body_bytes > body_limit(self.target):
            self.body_too_large()
            return
        super().on_body(body)

    def on_message_complete(self) -> None:
        """Stop the body clock; what follows is the next request's headers."""
        if self.refused:
            return
        self.stop_clock()
        self.in_headers = True
        super().on_message_complete()

    def content_length(self) -> int | None:
        """The request's ``Content-Length`` (-1 when unreadable), or ``None`` without one."""
        for name, value in self.headers:
            if name == b"content-length":
                return int(value) if value.strip().isdigit() else -1
        return None

    def headers_too_large(self) -> None:
        """431: the headers passed the cap."""
        cap = self.limits.max_header_bytes
        self.refuse(431, "HEADERS_TOO_LARGE", f"request headers are at most {cap} bytes")

    def body_too_large(self) -> None:
        """413: the body is, or says it is, over the limit."""
        limit = body_limit(self.target)
        self.refuse(413, "BODY_TOO_LARGE", f"bodies are at most {limit} bytes")

    def headers_too_slow(self) -> None:
        """408: the headers did not arrive in time."""
        self.refuse(408, "REQUEST_TIMEOUT", "the request headers took too long")

    def body_too_slow(self) -> None:
        """408: the body did not arrive in time; just close if the request was answered."""
        if self.cycle is not None and self.cycle.response_complete:
            # The app answered without reading the body (a 401, say): a 408 after a whole
            # response would read as the answer to a next request. The unread body leaves the
            # connection unusable, so close it.
            self.refused = True
            self.stop_clock()
            self.transport.close()
            return
        self.refuse(408, "REQUEST_TIMEOUT", "the request body took too long")

    def refuse(self, status: int, code: str, message: str) -> None:
        """Answer with the API's error (unless a response is under way) and close."""
        self.refused = True
        self.stop_clock()
        if self.transport.is_closing():
            return
        cycle = self.cycle  # the newest request's, perhaps one already answered (keep-alive)
        answering = cycle is not None and cycle.response_started and not cycle.response_complete
        if cycle is not None:  # its app, if still running, may neither read nor answer now
            cycle.disconnected = True
            cycle.message_event.set()
        if answering or not self.transport.can_write_eof():
            self.transport.close()
            return
        self.transport.write(http_refusal(status, code, message))
        # Closing with the client's bytes unread would reset the connection, and the client
        # could lose the answer: end our side, drop what still arrives, close soon after.
        self.transport.write_eof()
        self.loop.call_later(LINGER_S, self.transport.close)

    def start_clock(self, seconds: float, then: Callable[[], None]) -> None:
        """Call ``then`` in ``seconds`` unless stopped first."""
        self.stop_clock()
        self.timer = self.loop.call_later(seconds, then)

    def stop_clock(self) -> None:
        """Cancel the running clock, if any."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def release(self) -> None:
        """Give this connection's slot back (once)."""
        if self.counted is not None:
            _Active.connections.release(self.counted)
            self.counted = None


class LimitedWebSocketProtocol(FrameWritingProtocol):
    """The gateway's websocket protocol, at most ``websockets_per_ip`` per client address."""

    counted: str | None = None

    def connection_lost(self, exc: Exception | None) -> None:
        """Give the slot back."""
        if self.counted is not None:
            _Active.websockets.release(self.counted)
            self.counted = None
        super().connection_lost(exc)

    def handle_connect(self, event: Request) -> None:
        """Take a websocket slot for the client's address, or refuse the handshake with 429."""
        address, cap = self.client_address(event), _Active.limits.websockets_per_ip
        if _Active.websockets.take(address, cap):
            self.counted = address
            super().handle_connect(event)
            return
        body = error_json("TOO_MANY_WEBSOCKETS", f"at most {cap} websockets per address")
        headers = Headers(
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("Retry-After", "10"),
                ("Content-Security-Policy", NO_FRAMING.decode()),
                ("X-Frame-Options", "DENY"),
                ("Connection", "close"),
            ]
        )
        self.request = event
        self.handshake_initiated = self.handshake_complete = self.close_sent = True
        self.conn.send_response(Response(429, "Too Many Requests", headers, body))
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.transport.close()

    def client_address(self, event: Request) -> str:
        """The client's key: the peer's, or from a trusted proxy the client it forwards."""
        peer = _address(self.client)
        forwarded = event.headers.get_all("X-Forwarded-For")
        if forwarded and peer in _Active.proxies:
            host, _port = _Active.proxies.get_trusted_client_address(", ".join(forwarded))
            peer = host or peer
        return client_key(peer)
