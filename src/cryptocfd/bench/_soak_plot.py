"""The soak bench's figure: latency and memory over time, drawn with matplotlib (a dev
dependency, imported only when a plot is asked for)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path


def plot(
    path: Path,
    minutes: Sequence[float],
    latency_ms: Mapping[str, Sequence[float]],
    memory_mb: Mapping[str, Sequence[float]],
    title: str,
) -> None:
    """Write a PNG of each latency series and each memory series against ``minutes``."""
    import matplotlib  # noqa: PLC0415 - the bench runs without it when no plot is asked for

    matplotlib.use("Agg")  # files only: no display on a server
    from matplotlib import pyplot  # noqa: PLC0415

    figure, (top, bottom) = pyplot.subplots(2, 1, figsize=(9, 7), sharex=True)
    for name, values in latency_ms.items():
        top.plot(minutes, values, marker="o", label=name)
    top.set_ylabel("create order latency (ms)")
    top.set_yscale("log")
    top.legend()
    top.grid(visible=True, alpha=0.3)
    for name, values in memory_mb.items():
        bottom.plot(minutes, values, marker=".", label=name)
    bottom.set_ylabel("memory (MiB)")
    bottom.set_xlabel("minutes into the run")
    bottom.legend(fontsize="small", ncol=2)
    bottom.grid(visible=True, alpha=0.3)
    figure.suptitle(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
