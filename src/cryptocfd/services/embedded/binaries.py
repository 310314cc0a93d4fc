"""Finding the server binaries, running them, and saying what to install when they are missing."""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import socket
from pathlib import Path

INSTALL_HINT = "apt-get install postgresql redis-server"
DEBIAN_POSTGRES_BINS = "/usr/lib/postgresql/*/bin"


class EmbeddedError(RuntimeError):
    """A server neither answers nor can be started here; the message says what to do."""


class MissingServerError(EmbeddedError):
    """The binaries to start a private server are not installed."""


def _version_of(directory: str) -> tuple[int, ...]:
    parts = Path(directory).parent.name.split(".")
    return tuple(int(p) for p in parts if p.isdigit())


def default_search_path() -> str:
    """``PATH``, then Debian's versioned PostgreSQL directories, newest first."""
    debian = sorted(glob.glob(DEBIAN_POSTGRES_BINS), key=_version_of, reverse=True)
    return os.pathsep.join([os.environ.get("PATH", ""), *debian])


def find(name: str, search_path: str | None, *, wanted_for: str) -> str:
    """The path of binary ``name``, or ``MissingServerError`` naming the packages to install."""
    found = shutil.which(name, path=default_search_path() if search_path is None else search_path)
    if found is None:
        raise MissingServerError(
            f"{wanted_for} does not answer and `{name}` was not found to start a private one: "
            f"install the servers ({INSTALL_HINT}) or point the URL at a running server"
        )
    return found


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def run(argv: list[str], *, what: str, timeout: float = 120.0) -> str:
    """Run ``argv`` to completion and return its output; ``EmbeddedError`` when it fails."""
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise EmbeddedError(f"{what} did not finish within {timeout:.0f} s") from None
    text = out.decode(errors="replace")
    if process.returncode != 0:
        tail = "\n".join(text.strip().splitlines()[-15:])
        raise EmbeddedError(f"{what} failed (exit {process.returncode}):\n{tail}")
    return text


def log_tail(path: Path, lines: int = 15) -> str:
    """The last lines of a server's log, to explain why it did not start."""
    try:
        return "\n".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "(no log)"
