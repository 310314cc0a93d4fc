"""The ``cryptocfd`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptocfd.settings import Settings


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen subcommand."""
    parser = argparse.ArgumentParser(prog="cryptocfd", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    simulate = sub.add_parser("simulate", help="a short simulated trading session in the terminal")
    simulate.add_argument("--seconds", type=float, default=20.0, help="wall-clock length")
    simulate.add_argument("--speed", type=int, default=20, help="simulated time per real time")
    simulate.add_argument("--seed", type=int, default=7)
    bench = sub.add_parser("bench", help="run a benchmark: a summary, then one JSON line")
    bench.add_argument("name", nargs="?", help="which one; without it, the list")
    bench.add_argument("rest", nargs=argparse.REMAINDER)
    sub.add_parser("engine", help="the trading engine on Redis Streams")
    sub.add_parser("migrate", help="bring the PostgreSQL schema to the newest revision")
    backfill = sub.add_parser("backfill", help="write synthetic candle history for every asset")
    backfill.add_argument("--days", type=int, default=30, help="days of history, ending now")
    backfill.add_argument("--seed", type=int, default=7)
    gateway = sub.add_parser("gateway", help="the HTTP API, API explorer and dashboard")
    gateway.add_argument("--host", default="127.0.0.1")
    gateway.add_argument("--port", type=int, default=None, help="default: CRYPTOCFD_HTTP_PORT")
    gateway.add_argument("--workers", type=int, default=1)
    sub.add_parser("worker", help="journal the engine's records and send the email outbox")
    reconcile = sub.add_parser("reconcile", help="compare the engine's balances with the ledger")
    reconcile.add_argument(
        "--wait", type=float, default=30.0, help="seconds to wait for the journal"
    )
    up = sub.add_parser(
        "up", help="everything, supervised, on the servers that answer or private ones"
    )
    up.add_argument(
        "--engines", type=int, default=2, help="engines: one leads, the others are hot standbys"
    )
    sub.add_parser("feed", help="market data: simulated ticks to the engine's price stream")
    _admin_parser(sub)
    args = parser.parse_args(argv)
    if args.command == "admin":
        return _admin(args.action, args.email, args.role)
    if args.command == "worker":
        return _worker()
    if args.command == "reconcile":
        return _reconcile(args.wait)
    if args.command == "engine":
        return _engine()
    if args.command == "migrate":
        return _migrate()
    if args.command == "backfill":
        return _backfill(args.days, args.seed)
    if args.command == "gateway":
        return _gateway(args.host, args.port, args.workers)
    if args.command == "up":
        return _up(set(sub.choices), max(1, args.engines))
    if args.command == "feed":
        return _feed()
    if args.command == "bench":
        from cryptocfd.bench import run_bench  # noqa: PLC0415 - keep start-up light

        return run_bench(args.name, list(args.rest))
    from cryptocfd.services.simulate import run_simulation  # noqa: PLC0415

    return run_simulation(args.seconds, args.speed, args.seed)


def _admin_parser(sub: Any) -> None:
    from cryptocfd.identity.roles import ROLES  # noqa: PLC0415 - keep start-up light

    admin = sub.add_parser("admin", help="grant or revoke a back-office role")
    actions = admin.add_subparsers(dest="action", required=True)
    for action, text in (("grant", "give"), ("revoke", "take away")):
        one = actions.add_parser(action, help=f"{text} a user a back-office role (audited)")
        one.add_argument("email", help="the address the user signed up with")
        one.add_argument("role", choices=ROLES)


def _admin(action: str, email: str, role_name: str) -> int:
    """Exit 0 when done (or nothing to do), 2 for bad input or settings, 3 for no such user."""
    import asyncio  # noqa: PLC0415 - only the admin command needs these

    from cryptocfd.identity.emails import InvalidEmail  # noqa: PLC0415
    from cryptocfd.identity.roles import Role  # noqa: PLC0415
    from cryptocfd.services.roles import NoSuchUser, change_role  # noqa: PLC0415

    settings = _settings("admin")
    if settings is None:
        return 2
    try:
        done = asyncio.run(
            change_role(settings.database_url, email, Role(role_name), grant=action == "grant")
        )
    except InvalidEmail as exc:
        print(f"cryptocfd admin {action}: {exc}", file=sys.stderr)
        return 2
    except NoSuchUser as exc:
        print(f"cryptocfd admin {action}: {exc}", file=sys.stderr)
        return NoSuchUser.exit_code
    print(done)
    return 0


def _settings(name: str) -> Settings | None:
    """The settings, or ``None`` after saying why they cannot run ``cryptocfd name``."""
    from cryptocfd.settings import SettingsError, load_settings  # noqa: PLC0415

    try:
        return load_settings()
    except SettingsError as exc:
        print(f"cryptocfd {name}: {exc}", file=sys.stderr)
        return None


def _service(
    name: str,
    run: Callable[[Settings], Coroutine[Any, Any, None]],
    refusals: tuple[type[Exception], ...] = (),
) -> int:
    """Run a long-lived process until it stops; exit 2 (or the refusal's own ``exit_code``)
    when it refuses to start."""
    import asyncio  # noqa: PLC0415 - only the service processes need these
    import logging  # noqa: PLC0415

    settings = _settings(name)
    if settings is None:
        return 2
    from cryptocfd.gateway.logs import configure_plain_logging  # noqa: PLC0415

    configure_plain_logging(logging.INFO)
    try:
        asyncio.run(run(settings))
    except refusals as exc:
        print(f"cryptocfd {name}: {exc}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 2))
    return 0


def _engine() -> int:
    from cryptocfd.services.engine.durability import EngineRefused  # noqa: PLC0415
    from cryptocfd.services.engine_main import run_engine  # noqa: PLC0415

    return _service("engine", run_engine, (EngineRefused,))


def _worker() -> int:
    from cryptocfd.services.worker import run_worker  # noqa: PLC0415

    return _service("worker", run_worker)


def _feed() -> int:
    from cryptocfd.services.feed import run_feed  # noqa: PLC0415

    return _service("feed", run_feed)


def _gateway(host: str, port: int | None, workers: int) -> int:
    from cryptocfd.gateway.main import run_gateway  # noqa: PLC0415

    settings = _settings("gateway")  # refuse bad settings before uvicorn starts workers
    if settings is None:
        return 2
    port = settings.http_port if port is None else port
    run_gateway(host, port, workers, settings.trusted_proxy_list)
    return 0


def _migrate() -> int:
    from cryptocfd.store.migrate import upgrade  # noqa: PLC0415

    settings = _settings("migrate")
    if settings is None:
        return 2
    upgrade(settings.database_url)
    return 0


def _up(known: set[str], engines: int) -> int:
    import asyncio  # noqa: PLC0415 - only `up` needs these

    from cryptocfd.services.embedded import EmbeddedError  # noqa: PLC0415
    from cryptocfd.services.up import run_up  # noqa: PLC0415

    settings = _settings("up")
    if settings is None:
        return 2
    try:
        return asyncio.run(run_up(settings, known, engines=engines))
    except EmbeddedError as exc:
        print(f"cryptocfd up: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _reconcile(wait_s: float) -> int:
    import asyncio  # noqa: PLC0415 - only reconciling needs these

    from cryptocfd.services.reconcile import run_reconcile  # noqa: PLC0415

    settings = _settings("reconcile")
    if settings is None:
        return 2
    return asyncio.run(run_reconcile(settings, wait_s))


def _backfill(days: int, seed: int) -> int:
    import asyncio  # noqa: PLC0415 - only backfill needs these

    from cryptocfd.services.backfill import backfill_with_progress  # noqa: PLC0415

    if days < 1:
        print("cryptocfd backfill: --days must be at least 1", file=sys.stderr)
        return 2
    settings = _settings("backfill")
    if settings is None:
        return 2
    rows = asyncio.run(
        backfill_with_progress(settings.database_url, days, seed=seed, out=sys.stdout)
    )
    print(f"wrote {rows or 0:,} one-minute candles over {days} days; rollups are current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
