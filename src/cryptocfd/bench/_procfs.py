"""What a process holds, read from ``/proc`` (psutil is not a dependency)."""

from __future__ import annotations

import os
import resource

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int) -> int:
    """The resident set of process ``pid`` in KiB (``VmRSS``); 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def children(pid: int) -> list[int]:
    """The pids whose parent is ``pid``, in order (a gateway's workers)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                # The name in parentheses may hold spaces: the parent comes two fields after it.
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
        if parent == pid:
            found.append(int(entry))
    return sorted(found)


def own_cpu_s() -> float:
    """The CPU seconds this process has used (user and system, every thread)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cpu_s(pid: int) -> float:
    """The CPU seconds process ``pid`` has used (user and system); 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    # utime and stime are the 14th and 15th fields; the 3rd is the first after the name.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
