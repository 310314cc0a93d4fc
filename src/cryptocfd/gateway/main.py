"""``cryptocfd gateway``: the app under uvicorn (uvloop, httptools), one or more workers."""

from __future__ import annotations

import uvicorn
from litestar import Litestar

from cryptocfd.gateway import sockets
from cryptocfd.gateway.app import create_app
from cryptocfd.gateway.logs import configure_logging
from cryptocfd.settings import load_settings


def app_from_environment() -> Litestar:
    """The app for this process's environment (uvicorn calls this in every worker)."""
    configure_logging()
    settings = load_settings()
    sockets.configure(settings)  # before this worker accepts a connection
    return create_app(settings)


def run_gateway(host: str, port: int, workers: int) -> None:
    """Serve until interrupted."""
    configure_logging()
    uvicorn.run(
        "cryptocfd.gateway.main:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        # httptools within limits on header size and time, body size and time, and connections
        # per address (gateway/sockets.py).
        http=sockets.LimitedHttpProtocol,
        # uvicorn's sans-I/O websockets protocol (which fans a quote out to 1,000 clients in
        # about half the time of the legacy one), able to write a frame built once for many
        # connections (gateway/frames.py; bench ws, docs/benchmarks.md), websockets per address
        # capped.
        ws=sockets.LimitedWebSocketProtocol,
        ws_max_size=sockets.WS_MAX_MESSAGE_BYTES,
        access_log=False,
        log_level="info",
        log_config=None,  # keep the JSON logging configured here
        proxy_headers=False,
    )
