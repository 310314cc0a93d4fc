"""The supervisor, driving tiny real child processes."""

from __future__ import annotations

import asyncio
import io
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from cryptocfd.services.supervisor import Child, RestartPolicy, Supervisor
from cryptocfd.store.supervision import read_view
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


BROKEN_UNTIL_FIXED = """
import pathlib, sys, time
if not pathlib.Path(sys.argv[1]).exists():
    sys.exit(1)
print("fixed", flush=True)
time.sleep(60)
"""


async def test_supervisor_when_a_child_keeps_failing_never_gives_up_and_keeps_the_rest_running(
    tmp_path: Path,
) -> None:
    fixed, view = tmp_path / "fixed", tmp_path / "supervisor.json"
    out = io.StringIO()
    children = [
        python("broken", BROKEN_UNTIL_FIXED, str(fixed)),
        python("steady", "import time; print('up', flush=True); time.sleep(60)"),
    ]
    policy = RestartPolicy(first_backoff_s=0.01, max_backoff_s=0.08, stop_timeout_s=5.0)
    supervisor = Supervisor(children, env=os.environ, policy=policy, out=out, view=view)
    running = asyncio.create_task(supervisor.run())

    await until(lambda: out.getvalue().count("broken | exited with code 1") >= 8)
    seen = read_view(view)
    fixed.touch()  # what it waited for is back: the next try runs
    await until(lambda: "broken | fixed" in out.getvalue())
    await until(lambda: (v := read_view(view)) is not None and not v.down())
    supervisor.stopping.set()
    code = await running

    assert code == 0
    text = out.getvalue()
    delays = re.findall(r"broken \| exited with code 1; restarting in (\S+) s", text)
    assert delays[:6] == ["0.01", "0.02", "0.04", "0.08", "0.08", "0.08"]  # capped, never ends
    assert "GIVING UP" not in text
    assert text.count("steady | up") == 1  # never stopped meanwhile
    assert seen is not None
    assert {p.name: p.running for p in seen.processes}["steady"] is True
    broken = next(p for p in seen.processes if p.name == "broken")
    assert broken.restarts >= 7
    assert broken.last_exit_code == 1
    assert not view.exists()  # removed when the supervisor stopped


async def test_supervisor_when_a_child_ran_long_enough_restarts_it_after_the_shortest_pause() -> (
    None
):
    out = io.StringIO()
    lasting = python("lasting", "import time; time.sleep(0.3); raise SystemExit(4)")
    policy = RestartPolicy(first_backoff_s=0.01, fast_run_s=0.2, stop_timeout_s=5.0)
    supervisor = Supervisor([lasting], env=os.environ, policy=policy, out=out)
    running = asyncio.create_task(supervisor.run())

    await until(lambda: out.getvalue().count("exited with code 4") >= 3)
    supervisor.stopping.set()
    await running

    delays = re.findall(r"restarting in (\S+) s", out.getvalue())
    assert delays[:3] == ["0.01", "0.01", "0.01"]


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
