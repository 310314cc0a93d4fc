"""The workloads behind ``cryptocfd bench NAME``: one module each, with ``main(argv) -> int``.

Each prints a readable summary, then one JSON line of its figures (``docs/benchmarks.md``).
Modules whose names start with ``_`` are the pieces they share, not benchmarks. They are
found and loaded as modules of this package, so they run wherever ``cryptocfd`` is installed.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from importlib import resources


def available() -> list[str]:
    """The names of the benchmarks there are."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def summary(name: str) -> str:
    """What benchmark ``name`` measures: its docstring's first sentence, read without importing
    it (the HTTP and websocket ones import much)."""
    source = resources.files(__name__).joinpath(f"{name}.py").read_text(encoding="utf-8")
    first = " ".join((ast.get_docstring(ast.parse(source)) or "").split("\n\n", 1)[0].split())
    return first.split(": ", 1)[-1]


def list_benches() -> int:
    """Print each benchmark with what it measures."""
    print("cryptocfd bench NAME [options]  (NAME --help for its options)")
    for name in available():
        print(f"  {name:<9} {summary(name)}")
    return 0


def run_bench(name: str | None, argv: list[str]) -> int:
    """Run benchmark ``name``'s ``main(argv)``; with no name, list them."""
    if name is None:
        return list_benches()
    if name not in available():
        print(f"unknown benchmark {name!r}; choose from: {', '.join(available())}")
        return 2
    result = importlib.import_module(f"{__name__}.{name}").main(argv)
    assert isinstance(result, int)
    return result
