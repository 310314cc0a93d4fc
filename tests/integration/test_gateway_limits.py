"""The gateway as a real process, as an attacker meets it: a per-IP limit on every route,
limits at the socket, metrics kept private, and no page that another site may frame."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import redis
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError, InvalidStatus

from tests.integration.platform_process import Platform, running_platform
from tests.waiting import eventually, room_in_window, until

RATE = 12
WINDOW_S = 60
CLOSING_HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


@contextlib.contextmanager
def gateway_process(
    redis_url: str, database_url: str, tmp_path: Path, **env: str
) -> Iterator[Platform]:
    """An engine and a gateway process under a fresh key prefix, deleted afterwards."""
    prefix = f"test:{uuid.uuid4().hex[:12]}:"
    client = redis.Redis.from_url(redis_url)
    try:
        with running_platform(redis_url, database_url, prefix, tmp_path / "state", **env) as up:
            yield up
    finally:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


def _inside_one_window(seconds_needed: float) -> None:
    """Wait for a fresh rate window when the current one ends too soon for the test."""
    time.sleep(room_in_window(WINDOW_S, seconds_needed))


async def _websocket_status(url: str) -> int:
    try:
        async with connect(url, open_timeout=5):
            return 101
    except InvalidStatus as refused:
        return refused.response.status_code


def test_public_routes_when_one_ip_passes_the_limit_are_429_and_healthz_still_answers(
    redis_url: str, database_url: str, tmp_path: Path
) -> None:
    env = {"CRYPTOCFD_RATE_PER_IP_PER_MIN": str(RATE)}
    with gateway_process(redis_url, database_url, tmp_path, **env) as platform:
        ws_url = platform.base_url.replace("http://", "ws://") + "/api/v1/ws"
        forged = {"Authorization": "Bearer forged.token.value"}
        cookie = {"Cookie": f"cfd_session={uuid.uuid4().hex}"}
        calls = [
            ("GET", "/api/v1/candles?asset=BTC&interval=1m&limit=5000", {}),
            ("GET", "/readyz", {}),
            ("GET", "/api/v1/supportedAssets", {}),
            ("GET", "/api/v1/prices/latest", {}),
            ("GET", "/docs", {}),
            ("GET", "/no/such/route", {}),
            ("GET", "/api/v1/balance", forged),
            ("GET", "/api/v1/balance", cookie),
        ]
        _inside_one_window(20)
        with httpx.Client(base_url=platform.base_url, timeout=10) as http:
            spent = [http.request(m, p, headers=h).status_code for m, p, h in calls]
            spent += [http.get("/api/v1/supportedAssets").status_code for _ in range(RATE - 8)]
            over = [http.request(m, p, headers=h) for m, p, h in calls]
            upgrade = asyncio.run(_websocket_status(ws_url))
            health = http.get("/healthz")

    assert 429 not in spent
    assert [answer.status_code for answer in over] == [429] * len(calls)
    assert {answer.json()["error"]["code"] for answer in over} == {"RATE_LIMITED"}
    assert all(1 <= int(answer.headers["Retry-After"]) <= WINDOW_S for answer in over)
    assert upgrade == 429
    assert health.status_code == 200


def test_every_response_when_served_forbids_framing_by_other_sites(
    redis_url: str, database_url: str, tmp_path: Path
) -> None:
    paths = ("/", "/docs", "/openapi.json", "/healthz", "/api/v1/balance", "/nope")
    counted = len(paths) - 1  # all but /healthz: the next request is the edge's 429
    env = {**SOCKET_LIMITS, "CRYPTOCFD_RATE_PER_IP_PER_MIN": str(counted)}
    with (
        gateway_process(redis_url, database_url, tmp_path, **env) as platform,
        httpx.Client(base_url=platform.base_url, timeout=10) as http,
    ):
        base = platform.base_url
        _inside_one_window(20)
        answers = {path: http.get(path) for path in paths}
        limited = http.get("/docs")
        big = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n"
        declared = b"POST /nope HTTP/1.1\r\nHost: x\r\nContent-Length: 10380902\r\n\r\n"
        refusals = {
            431: _raw(base, big, 10)[0],
            413: _raw(base, declared, 10)[0],
            408: _raw(base, b"", 10)[0],
            429: _one_past_the_connection_cap(base, 6),
        }

    assert limited.status_code == 429
    for path, answer in [*answers.items(), ("429 at the edge", limited)]:
        policy = answer.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in policy, path
        assert answer.headers.get_list("x-frame-options") == ["DENY"], path
    assert "default-src 'self'" in answers["/"].headers["content-security-policy"]
    for status, raw in refusals.items():
        assert _status(raw) == status
        head = raw.split(b"\r\n\r\n", 1)[0].lower()
        assert b"content-security-policy: frame-ancestors 'none'\r\n" in head, status
        assert head.count(b"\r\nx-frame-options: deny") == 1, status


def _spend(http: httpx.Client, forwarded: str, count: int) -> list[int]:
    """``count`` requests claiming to come, through a proxy, from ``forwarded``."""
    headers = {"X-Forwarded-For": forwarded}
    return [http.get("/api/v1/supportedAssets", headers=headers).status_code for _ in range(count)]


def test_rate_limit_when_a_trusted_proxy_forwards_counts_each_client_and_an_ipv6_64_as_one(
    redis_url: str, database_url: str, tmp_path: Path
) -> None:
    env = {"CRYPTOCFD_TRUSTED_PROXIES": "127.0.0.1", "CRYPTOCFD_RATE_PER_IP_PER_MIN": str(RATE)}
    with (
        gateway_process(redis_url, database_url, tmp_path, **env) as platform,
        httpx.Client(base_url=platform.base_url, timeout=10) as http,
    ):
        _inside_one_window(20)
        first = _spend(http, "203.0.113.7", RATE + 1)
        second = _spend(http, "203.0.113.8", 1)
        ipv6 = _spend(http, "2001:db8:0:1::1", RATE)
        same_64 = _spend(http, "2001:db8:0:1::ffff", 1)
        other_64 = _spend(http, "2001:db8:0:2::1", 1)

    assert first == [200] * RATE + [429]
    assert second == [200]
    assert ipv6 == [200] * RATE
    assert same_64 == [429]
    assert other_64 == [200]


def test_rate_limit_when_no_proxy_is_trusted_ignores_x_forwarded_for(
    redis_url: str, database_url: str, tmp_path: Path
) -> None:
    env = {"CRYPTOCFD_RATE_PER_IP_PER_MIN": str(RATE)}
    with (
        gateway_process(redis_url, database_url, tmp_path, **env) as platform,
        httpx.Client(base_url=platform.base_url, timeout=10) as http,
    ):
        _inside_one_window(20)
        forged = [_spend(http, f"203.0.113.{n}", 1)[0] for n in range(RATE + 1)]

    assert forged == [200] * RATE + [429]


def test_metrics_when_a_token_is_set_answer_only_a_scraper_that_bears_it(
    redis_url: str, database_url: str, tmp_path: Path
) -> None:
    token = uuid.uuid4().hex
    env = {"CRYPTOCFD_METRICS_TOKEN": token}
    with (
        gateway_process(redis_url, database_url, tmp_path, **env) as platform,
        httpx.Client(base_url=platform.base_url, timeout=10) as http,
    ):
        anonymous = http.get("/metrics")
        wrong = http.get("/metrics", headers={"Authorization": "Bearer nope"})
        scraper = http.get("/metrics", headers={"Authorization": f"Bearer {token}"})

    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "UNAUTHENTICATED"
    assert wrong.status_code == 401
    assert scraper.status_code == 200
    assert "cryptocfd_http_requests_total" in scraper.text


def _raw(base_url: str, request: bytes, wait_s: float) -> tuple[bytes, float]:
    """Send ``request`` on a fresh socket; what the server answers until it closes, and when."""
    host, port = base_url.removeprefix("http://").split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=wait_s) as raw:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            raw.sendall(request)
        answer = b""
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            while chunk := raw.recv(65536):
                answer += chunk
        return answer, time.monotonic() - started


def _kept_alive(base_url: str, second: bytes) -> tuple[bytes, bytes]:
    """A plain request, then ``second`` on the same connection: both answers."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        first = b""
        while not first.endswith(b"}"):  # the whole first answer: its JSON body is in
            first += raw.recv(65536)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            raw.sendall(second)
        answer = b""
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            while chunk := raw.recv(65536):
                answer += chunk
        return first, answer


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


SOCKET_LIMITS = {
    "CRYPTOCFD_HEADER_TIMEOUT_S": "1",
    "CRYPTOCFD_BODY_TIMEOUT_S": "1",
    "CRYPTOCFD_CONNECTIONS_PER_IP": "6",
    "CRYPTOCFD_WEBSOCKETS_PER_IP": "3",
}


def test_socket_when_headers_are_slow_huge_or_the_body_too_big_is_refused_and_closed(
    redis_url: str, database_url: str, tmp_path: Path
) -> None:
    with gateway_process(redis_url, database_url, tmp_path, **SOCKET_LIMITS) as platform:
        base = platform.base_url
        half, half_s = _raw(base, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ", 10)
        silent, silent_s = _raw(base, b"", 10)
        huge, _ = _raw(base, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 2**20, 10)
        head = b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        declared, declared_s = _raw(base, head + b"Content-Length: 10380902\r\n\r\n", 10)
        slow_body, slow_body_s = _raw(base, head + b"Content-Length: 100\r\n\r\n{", 10)
        chunk = b"4000\r\n" + b" " * 0x4000 + b"\r\n"  # two of 16 KiB: past the limit
        chunked = head + b"Transfer-Encoding: chunked\r\n\r\n" + chunk * 2
        long_chunked, _ = _raw(base, chunked, 10)
        big = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n"
        kept_first, kept_second = _kept_alive(base, big)
        fine = httpx.get(f"{base}/healthz", headers={"X-Fine": "a" * 12_000})

    assert (_status(half), _status(silent)) == (408, 408)
    assert half_s < 5
    assert silent_s < 5
    assert _status(huge) == 431
    assert b'"HEADERS_TOO_LARGE"' in huge
    assert _status(declared) == 413  # answered from the headers: no body was sent at all
    assert b'"BODY_TOO_LARGE"' in declared
    assert declared_s < 5
    assert _status(slow_body) == 408
    assert 0.5 < slow_body_s < 5
    assert _status(long_chunked) == 413
    assert (_status(kept_first), _status(kept_second)) == (200, 431)
    assert fine.status_code == 200


def test_request_when_answered_before_its_body_arrives_gets_no_late_408(
    redis_url: str, database_url: str, tmp_path: Path
) -> None:
    # No credentials: the 401 goes out before the handler would read the body, never sent.
    unsigned = b"POST /api/v1/trade/create HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"
    with gateway_process(redis_url, database_url, tmp_path, **SOCKET_LIMITS) as platform:
        answer, answered_s = _raw(platform.base_url, unsigned, 10)

    assert _status(answer) == 401
    assert answer.count(b"HTTP/1.1 ") == 1, answer
    assert b"REQUEST_TIMEOUT" not in answer
    assert answered_s < 5  # closed when the body clock ran out, not left open


def test_headers_when_many_tiny_ones_arrive_in_one_read_are_refused_431(
    redis_url: str, database_url: str, tmp_path: Path
) -> None:
    start = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    tiny = start + b"".join(b"X%d: a\r\n" % n for n in range(2_000)) + b"\r\n"  # ~18 KB sent
    # 16 KiB of headers as parsed, names and values only, but past 16 KiB as sent.
    padded = start + b"".join(b"X-%02d: %s\r\n" % (n, b"a" * 175) for n in range(90)) + b"\r\n"
    with gateway_process(redis_url, database_url, tmp_path) as platform:
        many, _ = _raw(platform.base_url, tiny, 10)
        wire, _ = _raw(platform.base_url, padded, 10)
        fewer, _ = _raw(platform.base_url, start + b"X-1: a\r\n" * 90 + b"\r\n", 10)

    assert len(padded) > 16_384
    assert _status(many) == 431
    assert b'"HEADERS_TOO_LARGE"' in many
    assert _status(wire) == 431
    assert _status(fewer) == 200


async def _open_websockets(url: str, count: int) -> tuple[list[int], int]:
    """Open ``count`` websockets at once and hold them; then how one more fares after closing."""
    async with contextlib.AsyncExitStack() as stack:
        statuses = []
        for _ in range(count):
            try:
                await stack.enter_async_context(connect(url, open_timeout=5))
                statuses.append(101)
            except InvalidStatus as refused:
                statuses.append(refused.response.status_code)

    async def admitted() -> int | None:  # once the server has seen the closes
        status = await _websocket_status(url)
        return status if status == 101 else None

    return statuses, await until(admitted, 5, poll_s=0.1)


def test_websockets_when_one_ip_opens_more_than_its_cap_are_refused_429(
    redis_url: str, database_url: str, tmp_path: Path
) -> None:
    with gateway_process(redis_url, database_url, tmp_path, **SOCKET_LIMITS) as platform:
        url = platform.base_url.replace("http://", "ws://") + "/api/v1/ws"
        statuses, after = asyncio.run(_open_websockets(url, 4))

    assert statuses == [101, 101, 101, 429]
    assert after == 101


def _one_past_the_connection_cap(base_url: str, cap: int) -> bytes:
    """Hold ``cap`` idle connections; what one more is answered."""
    host, port = base_url.removeprefix("http://").split(":")
    held = [socket.create_connection((host, int(port)), timeout=5) for _ in range(cap)]
    try:
        extra, _ = _raw(base_url, CLOSING_HEALTHZ, 5)
    finally:
        for connection in held:
            connection.close()
    return extra


def test_connections_when_one_ip_holds_more_than_its_cap_are_refused_429(
    redis_url: str, database_url: str, tmp_path: Path
) -> None:
    with gateway_process(redis_url, database_url, tmp_path, **SOCKET_LIMITS) as platform:
        extra = _one_past_the_connection_cap(platform.base_url, 6)

        def answered() -> bytes | None:  # once the server has seen the closes
            again, _ = _raw(platform.base_url, CLOSING_HEALTHZ, 5)
            return again if _status(again) == 200 else None

        again = eventually(answered, 5, poll_s=0.1)

    assert _status(extra) == 429
    assert b'"TOO_MANY_CONNECTIONS"' in extra
    assert _status(again) == 200


async def _forwarded_websockets(url: str, clients: list[str]) -> tuple[list[int], list[str]]:
    """Open one websocket per entry, each forwarded for that client, all held to the end; the
    statuses, and the framing headers of the refusals."""
    async with contextlib.AsyncExitStack() as stack:
        statuses, framing = [], []
        for client in clients:
            headers = {"X-Forwarded-For": client}
            try:
                await stack.enter_async_context(
                    connect(url, open_timeout=5, additional_headers=headers)
                )
                statuses.append(101)
            except InvalidStatus as refused:
                statuses.append(refused.response.status_code)
                answer = refused.response.headers
                framing += [answer["Content-Security-Policy"], answer["X-Frame-Options"]]
        return statuses, framing


def test_sockets_when_a_trusted_proxy_carries_clients_cap_websockets_per_client_not_its_links(
    redis_url: str, database_url: str, tmp_path: Path
) -> None:
    env = {**SOCKET_LIMITS, "CRYPTOCFD_TRUSTED_PROXIES": "127.0.0.1"}
    with gateway_process(redis_url, database_url, tmp_path, **env) as platform:
        extra = _one_past_the_connection_cap(platform.base_url, 6)
        url = platform.base_url.replace("http://", "ws://") + "/api/v1/ws"
        clients = ["203.0.113.7"] * 4 + ["203.0.113.8"]
        statuses, framing = asyncio.run(_forwarded_websockets(url, clients))

    assert _status(extra) == 200  # the proxy's connections are many clients'
    assert statuses == [101, 101, 101, 429, 101]
    assert framing == ["frame-ancestors 'none'", "DENY"]  # the refusal may not be framed either


async def _send_and_hear(url: str, message: str) -> int | None:
    """Send ``message``; the close code the server answers with (``None``: it answered)."""
    async with connect(url, open_timeout=5) as socket_:
        await socket_.send(message)
        try:
            await asyncio.wait_for(socket_.recv(), 5)
        except ConnectionClosedError as closed:
            return closed.rcvd.code if closed.rcvd is not None else -1
        return None


def test_websocket_when_a_message_passes_64_kib_is_closed_1009_unread(
    redis_url: str, database_url: str, tmp_path: Path
) -> None:
    with gateway_process(redis_url, database_url, tmp_path) as platform:
        url = platform.base_url.replace("http://", "ws://") + "/api/v1/ws"
        large = asyncio.run(_send_and_hear(url, "x" * 5_000))
        huge = asyncio.run(_send_and_hear(url, "x" * 2**20))

    assert large is None  # answered with an error frame, the socket open
    assert huge == 1009


def test_metrics_when_no_token_is_set_answer_a_dev_scraper_on_this_machine(
    redis_url: str, database_url: str, tmp_path: Path
) -> None:
    with gateway_process(redis_url, database_url, tmp_path) as platform:
        answer = httpx.get(f"{platform.base_url}/metrics")  # from 127.0.0.1

    assert answer.status_code == 200
    assert "cryptocfd_http_requests_total" in answer.text


def test_socket_when_a_kyc_form_is_larger_than_16_kib_lets_it_reach_the_route(
    redis_url: str, database_url: str, tmp_path: Path
) -> None:
    """The KYC route takes documents of up to 5 MB: the socket lets its body through (the
    route then asks who is calling), and only past the upload limit refuses it unread."""
    with gateway_process(redis_url, database_url, tmp_path) as platform:
        base = platform.base_url
        form = {"data": {"full_name": "A"}, "files": {"documents[]": ("a.png", b"x" * 2**20)}}
        upload = httpx.post(f"{base}/api/v1/live/kyc", timeout=30, **form)  # type: ignore[arg-type]
        elsewhere = httpx.post(f"{base}/api/v1/auth/login", timeout=30, **form)  # type: ignore[arg-type]
        head = b"POST /api/v1/live/kyc HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data\r\n"
        declared, _ = _raw(base, head + b"Content-Length: 20000000\r\n\r\n", 10)

    assert upload.status_code == 401  # read past the socket, refused by the sign-in
    assert elsewhere.status_code == 413
    assert _status(declared) == 413
