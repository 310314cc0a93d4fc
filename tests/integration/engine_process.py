"""``cryptocfd engine`` as a real child process, to be killed and restarted by the tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.waiting import eventually, says, tail

# Every engine a test started, so one the test could not stop (it failed, or its task was
# cancelled mid-way) is killed after it instead of outliving the suite: an engine waits for a
# vanished Redis for ever.
_started: list[EngineProcess] = []


def kill_leftovers() -> None:
    """SIGKILL every engine started and still running (its snapshot child too)."""
    while _started:
        engine = _started.pop()
        if engine.process is not None and engine.process.poll() is None:
            engine.kill()


class EngineProcess:
    """One engine process in its own process group (so a kill takes its snapshot child too)."""

    def __init__(
        self,
        redis_url: str,
        prefix: str,
        state_dir: Path,
        key_hex: str,
        log_name: str = "engine.log",  # two engines sharing a state directory log apart
        **env: str,
    ):
        self.environment = {
            **os.environ,
            "REDIS_URL": redis_url,
            "CRYPTOCFD_REDIS_PREFIX": prefix,
            "CRYPTOCFD_STATE_DIR": str(state_dir),
            "CRYPTOCFD_SNAPSHOT_KEY": key_hex,
            "CRYPTOCFD_ENV": "dev",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.log = state_dir / log_name

    def start(self, timeout_s: float = 20.0, until: str = "engine ready") -> None:
        """Start the engine and wait until it says it is serving (or says ``until``)."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        seen = self.log.read_bytes().count(until.encode()) if self.log.exists() else 0
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "cryptocfd.cli", "engine"],
                env=self.environment,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process = self.process
        _started.append(self)
        eventually(
            lambda: says(self.log, until, process, seen + 1),
            timeout_s,
            poll_s=0.01,
            why=lambda: f"the engine to start:\n{tail(self.log)}",
        )

    def kill(self) -> None:
        """SIGKILL the engine and any snapshot child it forked."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        """SIGTERM: a clean stop, which writes a last snapshot."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.kill()
            raise RuntimeError(
                f"the engine did not stop:\n{self.log.read_text()[-3000:]}"
            ) from None
        if code != 0:
            raise RuntimeError(f"the engine failed on stop:\n{self.log.read_text()[-3000:]}")
