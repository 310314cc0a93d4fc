"""Which ``OSError`` is PostgreSQL out of reach (a 503 that asks for a retry) and which is a
failure of another kind (a 500, logged as the bug it is), from errors raised for real."""

from __future__ import annotations

import socket
from pathlib import Path

import asyncpg
import pytest

from cryptocfd.store.database import unreachable


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again when the probe is


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_unreachable_when_nothing_listens_is_true(host: str) -> None:
    # Its kind depends on the host's addresses (see ``unreachable``): any OSError, then.
    with pytest.raises(OSError, match=r"[Cc]onnect|refused|Multiple exceptions") as refused:
        await asyncpg.connect(host=host, port=closed_port(), user="nobody", timeout=5)

    assert unreachable(refused.value)


def test_unreachable_when_a_file_is_missing_or_forbidden_is_false(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as missing:
        (tmp_path / "absent").read_bytes()
    with pytest.raises(IsADirectoryError) as directory:
        tmp_path.read_bytes()

    assert not unreachable(missing.value)
    assert not unreachable(directory.value)


def test_unreachable_when_a_name_does_not_resolve_is_true() -> None:
    with pytest.raises(socket.gaierror) as unresolved:
        socket.getaddrinfo("no-such-host.invalid", 5432)

    assert unreachable(unresolved.value)
