"""The supervisor, driving tiny real child processes."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import sys
from pathlib import Path

from cryptocfd.services.supervisor import Child, RestartPolicy, Supervisor
from tests.waiting import until

QUICK = RestartPolicy(first_backoff_s=0.05, max_backoff_s=0.2, stop_timeout_s=5.0)

FLAKY = """
import pathlib, sys, time
runs = pathlib.Path(sys.argv[1])
runs.write_text((runs.read_text() if runs.exists() else "") + "x")
print(f"run {len(runs.read_text())}", flush=True)
if len(runs.read_text()) < 3:
    sys.exit(3)
time.sleep(60)  # stays up until the supervisor stops it
"""


def python(name: str, script: str, *args: str) -> Child:
    return Child(name, (sys.executable, "-c", script, *args))


async def test_supervisor_when_a_child_dies_restarts_it_and_prefixes_its_output(
    tmp_path: Path,
) -> None:
    runs = tmp_path / "runs"
    out = io.StringIO()
    supervisor = Supervisor(
        [python("flaky", FLAKY, str(runs))], env=os.environ, policy=QUICK, out=out
    )
    running = asyncio.create_task(supervisor.run())

    await until(lambda: runs.exists() and len(runs.read_text()) == 3)
    await until(lambda: "run 3" in out.getvalue())
    supervisor.stopping.set()

    assert await running == 0
    lines = out.getvalue().splitlines()
    assert lines[:2] == ["flaky | run 1", "flaky | exited with code 3; restarting in 0.05 s"]
    assert "flaky | run 3" in lines
    assert lines[-1] == f"flaky | stopped (exit code {-signal.SIGTERM})"


async def test_supervisor_when_a_child_keeps_failing_fast_gives_up_loudly_and_stops_all() -> None:
    out = io.StringIO()
    children = [
        python("broken", "import sys; sys.exit(1)"),
        python("steady", "import time; print('up', flush=True); time.sleep(60)"),
    ]
    policy = RestartPolicy(first_backoff_s=0.01, max_fast_failures=3, stop_timeout_s=5.0)
    supervisor = Supervisor(children, env=os.environ, policy=policy, out=out)

    code = await asyncio.wait_for(supervisor.run(), 20)

    assert code == 1
    assert supervisor.gave_up == ["broken"]
    text = out.getvalue()
    assert text.count("broken | exited with code 1; restarting") == 2
    assert "broken | GIVING UP: exited with code 1, 3 times in a row" in text
    assert "steady | stopped" in text


POLITE = """
import pathlib, signal, sys, time
def leave(*_):
    pathlib.Path(sys.argv[1]).write_text("bye")
    sys.exit(0)
signal.signal(signal.SIGTERM, leave)
pathlib.Path(sys.argv[1]).write_text("ready")
time.sleep(60)  # stays up until the supervisor stops it
"""

STUBBORN = """
import os, pathlib, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
pathlib.Path(sys.argv[1]).write_text(str(os.getpid()))
time.sleep(60)  # stays up until the supervisor stops it
"""

DRIVER = """
import asyncio, os, sys
from cryptocfd.services.supervisor import Child, RestartPolicy, Supervisor, stop_on_signals

async def main() -> int:
    children = [Child("polite", (sys.executable, "-c", sys.argv[1], sys.argv[2])),
                Child("stubborn", (sys.executable, "-c", sys.argv[3], sys.argv[4]))]
    supervisor = Supervisor(children, env=os.environ, policy=RestartPolicy(stop_timeout_s=1))
    stop_on_signals(supervisor)
    return await supervisor.run()

sys.exit(asyncio.run(main()))
"""


async def test_supervisor_when_sent_sigterm_stops_children_gracefully_then_kills_stubborn_ones(
    tmp_path: Path,
) -> None:
    polite, stubborn = tmp_path / "polite", tmp_path / "stubborn"
    argv = [sys.executable, "-c", DRIVER, POLITE, str(polite), STUBBORN, str(stubborn)]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) as driver:  # noqa: S603
        await until(lambda: polite.exists() and stubborn.exists() and stubborn.read_text())
        stubborn_pid = int(stubborn.read_text())
        driver.send_signal(signal.SIGTERM)
        output, _ = driver.communicate(timeout=15)

    assert driver.returncode == 0
    assert polite.read_text() == "bye"
    assert "polite   | stopped (exit code 0)" in output
    assert "stubborn | still running 1 s after SIGTERM: SIGKILL" in output
    assert f"stubborn | stopped (exit code {-signal.SIGKILL})" in output
    assert not Path(f"/proc/{stubborn_pid}").exists()
