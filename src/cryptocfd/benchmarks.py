"""Finds and runs the workloads in ``bench/`` behind ``cryptocfd bench NAME``."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import cryptocfd


def bench_dir() -> Path:
    """The repository's ``bench/`` folder (the package is installed editable from ``src/``)."""
    for candidate in (Path(cryptocfd.__file__).resolve().parents[2] / "bench", Path("bench")):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("no bench/ folder: run cryptocfd bench from the repository")


def available() -> list[str]:
    """Names of the benchmarks there are."""
    return sorted(p.stem for p in bench_dir().glob("*.py") if not p.stem.startswith("_"))


def run_bench(name: str, argv: list[str]) -> int:
    """Load ``bench/NAME.py`` and call its ``main(argv)``."""
    if name not in available():
        print(f"unknown benchmark {name!r}; choose from: {', '.join(available())}")
        return 2
    folder = bench_dir()
    if str(folder) not in sys.path:
        # Last, not first: bench/http.py must not shadow the standard library's http.
        sys.path.append(str(folder))  # the workloads share bench/_common.py
    path = folder / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"cryptocfd_bench_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # so its annotations resolve (msgspec reads them)
    spec.loader.exec_module(module)
    result = module.main(argv)
    assert isinstance(result, int)
    return result
