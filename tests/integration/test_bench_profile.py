"""What ``bench http --profile`` and its CPU shares stand on: py-spy, for real, finds where a
busy process spends its time, and ``/proc`` says how much CPU a process used."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from cryptocfd.bench._procfs import cpu_s, own_cpu_s
from cryptocfd.bench._profile import profiled, top

BUSY = """
import time
def spin_in_a_named_frame():
    end = time.monotonic() + 6
    while time.monotonic() < end:
        sum(range(1000))
print("ready", flush=True)
spin_in_a_named_frame()
"""


def _busy_child() -> subprocess.Popen[str]:
    child = subprocess.Popen([sys.executable, "-c", BUSY], stdout=subprocess.PIPE, text=True)  # noqa: S603
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    return child


def _end(child: subprocess.Popen[str]) -> None:
    child.kill()
    child.wait()
    assert child.stdout is not None
    child.stdout.close()


def test_profiled_when_a_process_spins_puts_its_frame_on_top(tmp_path: Path) -> None:
    child = _busy_child()
    try:
        with profiled(tmp_path, [child.pid], seconds=2):
            time.sleep(2)
    finally:
        _end(child)
    raw = list(tmp_path.glob("profile-*.txt"))
    assert len(raw) == 1
    summary = top(raw)
    inclusive = summary.split("inclusive")[1].splitlines()[1:]
    spinning = [line for line in inclusive if "spin_in_a_named_frame" in line]
    assert spinning, summary
    assert float(spinning[0].split("%")[0]) > 80, summary


def test_top_when_no_samples_says_so(tmp_path: Path) -> None:
    empty = tmp_path / "profile-1.txt"
    empty.write_text("")
    assert top([empty]) == "profile: no samples"


def test_cpu_s_when_a_process_spins_counts_its_cpu_not_its_wall_time() -> None:
    child = _busy_child()
    try:
        time.sleep(1.0)
        used = cpu_s(child.pid)
    finally:
        _end(child)
    assert 0.2 < used <= 1.5  # a loaded host gives the child less than the whole second
    assert cpu_s(child.pid) == 0.0  # reaped: gone from /proc
    began = own_cpu_s()
    sum(range(3_000_000))
    assert own_cpu_s() > began
