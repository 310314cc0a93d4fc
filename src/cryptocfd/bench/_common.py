"""Shared bits of the benchmarks: medians over runs, the machine, the calibration, the closing
JSON line, and clearing a run's Redis keys."""

from __future__ import annotations

import json
import os
import platform
import statistics
from collections.abc import Mapping
from datetime import UTC, datetime

from redis.asyncio import Redis
from rich.console import Console
from rich.table import Table

from cryptocfd.bench._calibration import calibrated, mloops_per_s


def machine() -> str:
    """A short description of where the figures were measured."""
    cpu = "unknown cpu"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def median(values: list[float]) -> float:
    """The median, rounded for printing."""
    return round(statistics.median(values), 3)


def report(title: str, figures: Mapping[str, list[float]], targets: Mapping[str, str]) -> None:
    """Print a table of medians (and every run), then the JSON line of medians, each with the
    calibration loop timed now beside it (``calibration``): ``calibration_mloops_per_s``, and
    ``NAME_cal`` for every rate and duration, in the loop's units."""
    mloops = mloops_per_s()
    console = Console(stderr=False)
    table = Table(title=f"{title} — {machine()}")
    table.add_column("figure")
    table.add_column("median", justify="right")
    table.add_column("runs", justify="right")
    table.add_column("target")
    for name, values in figures.items():
        runs = ", ".join(f"{v:,.3f}" if abs(v) < 100 else f"{v:,.0f}" for v in values)
        table.add_row(name, f"{median(values):,.3f}", runs, targets.get(name, ""))
    console.print(table)
    line = {name: median(values) for name, values in figures.items()}
    console.print(
        f"calibration: {mloops:,.2f} M loops/s (rates divided by it, durations multiplied:"
        " the _cal figures)"
    )
    line |= {
        f"{name}_cal": float(f"{value:.4g}")  # four significant digits, whatever the size
        for name, value in ((n, calibrated(n, v, mloops)) for n, v in list(line.items()))
        if value is not None
    }
    line["calibration_mloops_per_s"] = round(mloops, 3)
    line["runs"] = max((len(v) for v in figures.values()), default=0)
    line["machine"] = machine()  # type: ignore[assignment]
    line["date"] = datetime.now(UTC).date().isoformat()  # type: ignore[assignment]
    print(json.dumps(line))


async def drop_keys(redis: Redis, prefix: str) -> None:
    """Delete every key under ``prefix``: what a run left in Redis."""
    keys = [k async for k in redis.scan_iter(match=f"{prefix}*")]
    if keys:
        await redis.delete(*keys)
