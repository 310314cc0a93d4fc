"""A sampling profile of running processes (py-spy), for the benches that ask for one.

py-spy reads a process's stacks from outside, without pausing it (``--nonblocking``), so the
profiled gateway serves at nearly its own speed. Its raw output is one line per distinct stack,
``frame;frame;…;frame COUNT``, which ``top`` reduces to the two tables worth reading: where the
samples stop (self) and what they pass through (inclusive).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

RATE_HZ = 200
SHOWN = 20


def _py_spy() -> str:
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.is_file() else shutil.which("py-spy")
    if found is None:
        raise SystemExit("--profile needs py-spy: it is a dev dependency (make setup installs it)")
    return found


def _record(pid: int, seconds: float, output: Path) -> list[str]:
    """py-spy's command line: ``pid`` for ``seconds`` into ``output`` (raw stacks)."""
    return [
        _py_spy(), "record", "--pid", str(pid), "--format", "raw", "--nonblocking",
        "--rate", str(RATE_HZ), "--duration", str(max(1, int(seconds))), "-o", str(output),
    ]  # fmt: skip


@contextlib.contextmanager
def profiled(folder: Path | None, pids: list[int], seconds: float) -> Iterator[None]:
    """Record ``pids`` for the first ``seconds`` of the block into ``folder`` (nothing when
    ``None``), then print the top of the profile."""
    if folder is None:
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    outputs = [folder / f"profile-{pid}.txt" for pid in pids]
    recorders = [
        subprocess.Popen(_record(pid, seconds, out), stdout=subprocess.DEVNULL)  # noqa: S603
        for pid, out in zip(pids, outputs, strict=True)
    ]
    try:
        yield
    finally:
        for recorder in recorders:
            recorder.wait(seconds + 30)
    print(top([out for out in outputs if out.is_file()]))


def top(files: list[Path], shown: int = SHOWN) -> str:
    """The frames most samples stop in and pass through, in percent of all samples, over the
    raw profiles in ``files`` (one process each, added together)."""
    own: Counter[str] = Counter()
    through: Counter[str] = Counter()
    total = 0
    for path in files:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            frames = stack.split(";")[1:]  # the first frame names the process
            total += int(count)
            if frames:
                own[frames[-1]] += int(count)
            for frame in set(frames):
                through[frame] += int(count)
    if total == 0:
        return "profile: no samples"
    lines = [f"profile: {total:,} samples at {RATE_HZ} Hz", "self (where the samples stop):"]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in own.most_common(shown)]
    lines.append("inclusive (what they pass through):")
    lines += [f"  {100 * n / total:5.1f}%  {f}" for f, n in through.most_common(2 * shown)]
    return "\n".join(lines)
