"""The whole platform as real processes for the browser: engine and gateway, worker and feed."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.integration.platform_process import Platform, running_platform
from tests.waiting import eventually, says, tail


@contextlib.contextmanager
def child(name: str, ready: str, environment: dict[str, str], state_dir: Path) -> Iterator[None]:
    """``cryptocfd NAME`` until the block ends, once its log says ``ready``."""
    log = state_dir / f"{name}.log"
    with open(log, "ab") as out:
        process = subprocess.Popen(  # noqa: S603 - our own command line
            [sys.executable, "-m", "cryptocfd.cli", name],
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        eventually(
            lambda: says(log, ready, process), 30, poll_s=0.05, why=lambda: f"{name}: {tail(log)}"
        )
        yield
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def whole_platform(
    redis_url: str, database_url: str, prefix: str, state_dir: Path, smtp_port: int
) -> Iterator[Platform]:
    """Engine, gateway, worker (mailing through ``smtp_port``) and the simulated feed."""
    smtp = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port)}
    with running_platform(redis_url, database_url, prefix, state_dir, **smtp) as platform:
        environment = {
            **os.environ,
            "REDIS_URL": redis_url,
            "DATABASE_URL": database_url,
            "CRYPTOCFD_REDIS_PREFIX": prefix,
            "CRYPTOCFD_STATE_DIR": str(state_dir),
            "CRYPTOCFD_PUBLIC_URL": platform.base_url,
            "CRYPTOCFD_ENV": "dev",
            **smtp,
        }
        with (
            child("worker", "worker ready", environment, state_dir),
            child("feed", "feed: simulated ticks", environment, state_dir),
        ):
            yield platform
