"""The ``cryptocfd`` command."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen subcommand."""
    parser = argparse.ArgumentParser(prog="cryptocfd", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    simulate = sub.add_parser("simulate", help="a short simulated trading session in the terminal")
    simulate.add_argument("--seconds", type=float, default=20.0, help="wall-clock length")
    simulate.add_argument("--speed", type=int, default=20, help="simulated time per real time")
    simulate.add_argument("--seed", type=int, default=7)
    bench = sub.add_parser("bench", help="run a benchmark: a summary, then one JSON line")
    bench.add_argument("name")
    bench.add_argument("rest", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.command == "bench":
        from cryptocfd.benchmarks import run_bench  # noqa: PLC0415 - keep start-up light

        return run_bench(str(args.name), list(args.rest))
    from cryptocfd.services.simulate import run_simulation  # noqa: PLC0415

    return run_simulation(args.seconds, args.speed, args.seed)


if __name__ == "__main__":
    sys.exit(main())
