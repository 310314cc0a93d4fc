"""Start ``cryptocfd engine`` as a child process for the benchmarks, and time its start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO


def start_engine(
    redis_url: str,
    prefix: str,
    state_dir: Path,
    key_hex: str,
    until: bytes = b"engine ready",
    extra: Mapping[str, str] | None = None,
    log: IO[bytes] | None = None,
) -> tuple[subprocess.Popen[bytes], float]:
    """Start an engine; return it and the milliseconds until it said it was serving (or, for
    a standby, ``until``). Its log goes to ``log`` if given, else nowhere."""
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "CRYPTOCFD_REDIS_PREFIX": prefix,
        "CRYPTOCFD_STATE_DIR": str(state_dir),
        "CRYPTOCFD_SNAPSHOT_KEY": key_hex,
        "CRYPTOCFD_SNAPSHOT_EVERY_S": "3600",
        "CRYPTOCFD_SNAPSHOT_EVERY_EVENTS": "100000000",
        **(extra or {}),
    }
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "cryptocfd.cli", "engine"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=log if log is not None else subprocess.DEVNULL,
        start_new_session=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith(until):
            return process, (time.perf_counter() - started) * 1000
    raise RuntimeError("the engine exited before it was ready")


def kill_engine(process: subprocess.Popen[bytes]) -> None:
    """Stop an engine without its closing snapshot (a benchmark leaves no state it needs)."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    if process.stdout is not None:
        process.stdout.close()
