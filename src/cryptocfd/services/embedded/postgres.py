"""PostgreSQL: the configured server when it answers, else a private cluster from initdb.

The private cluster lives in ``<state_dir>/postgres/data``, listens on 127.0.0.1 on a free port
and keeps its unix socket in ``<state_dir>/postgres``. PostgreSQL refuses to run as root, so when
we are root it is initialised and started as the ``postgres`` user (``runuser``), which must own
the directory and be able to reach it.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shlex
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import asyncpg  # asyncpg ships no type hints

from cryptocfd.services.embedded.binaries import EmbeddedError, find, free_port, log_tail, run

CONNECT_TIMEOUT_S = 3.0
DEFAULT_USER = "postgres"


def _redact(url: str) -> str:
    parts = urlsplit(url)
    user, _, host = parts.netloc.rpartition("@")
    shown = f"{user.split(':', 1)[0]}@{host}" if user else host
    return urlunsplit(parts._replace(netloc=shown))


def _for_asyncpg(url: str) -> str:
    """asyncpg speaks ``postgresql://``; drop a SQLAlchemy driver suffix such as ``+asyncpg``."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme=parts.scheme.split("+", 1)[0]))


def _database_of(url: str) -> str:
    name = unquote(urlsplit(url).path.lstrip("/"))
    if not name:
        raise EmbeddedError(f"DATABASE_URL {_redact(url)} names no database")
    return name


def _with(url: str, *, database: str | None = None, netloc: str | None = None) -> str:
    parts = urlsplit(url)
    return urlunsplit(
        parts._replace(
            path=parts.path if database is None else f"/{database}",
            netloc=parts.netloc if netloc is None else netloc,
        )
    )


async def _answers(url: str) -> bool | None:
    """True: usable; False: the server answers without the database; None: nobody answers."""
    try:
        connection = await asyncpg.connect(_for_asyncpg(url), timeout=CONNECT_TIMEOUT_S)
    except asyncpg.InvalidCatalogNameError:
        return False
    except (OSError, TimeoutError, asyncpg.CannotConnectNowError):
        return None
    except asyncpg.PostgresError as exc:
        raise EmbeddedError(f"PostgreSQL at {_redact(url)} refused us: {exc}") from exc
    await connection.close()
    return True


def _quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def create_database(url: str) -> None:
    """Create the database ``url`` names, on the server it names (connecting to ``postgres``)."""
    name = _database_of(url)
    connection = await asyncpg.connect(
        _for_asyncpg(_with(url, database="postgres")), timeout=CONNECT_TIMEOUT_S
    )
    try:
        await connection.execute(f"CREATE DATABASE {_quote_identifier(name)}")
    except asyncpg.DuplicateDatabaseError:
        pass  # someone else created it first: just as good
    except asyncpg.PostgresError as exc:
        raise EmbeddedError(f"could not create database {name!r}: {exc}") from exc
    finally:
        await connection.close()


class Cluster:
    """A private cluster in ``directory``, run as ``postgres`` when we are root."""

    def __init__(self, directory: Path, search_path: str | None, *, user: str, password: str):
        self.directory = directory
        self.data = directory / "data"
        self.log = directory / "postgres.log"
        self.user = user
        self.password = password
        wanted = "PostgreSQL (DATABASE_URL)"
        self.initdb = find("initdb", search_path, wanted_for=wanted)
        self.pg_ctl = find("pg_ctl", search_path, wanted_for=wanted)
        self._as_root = os.geteuid() == 0

    def _argv(self, *argv: str) -> list[str]:
        if not self._as_root:
            return list(argv)
        runuser = shutil.which("runuser")
        if runuser is None:
            raise EmbeddedError("running as root needs `runuser` to start PostgreSQL as postgres")
        return [runuser, "-u", DEFAULT_USER, "--", *argv]

    async def prepare(self) -> None:
        """Create the directory, owned by the user the server runs as, and initdb once."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o700)
        if self._as_root:
            try:
                owner = pwd.getpwnam(DEFAULT_USER)
            except KeyError:
                raise EmbeddedError(
                    "running as root, PostgreSQL needs a `postgres` user: "
                    "apt-get install postgresql creates it"
                ) from None
            os.chown(self.directory, owner.pw_uid, owner.pw_gid)
            await self._check_reachable()
        if not (self.data / "PG_VERSION").exists():
            await self._initdb()

    async def _check_reachable(self) -> None:
        probe = await asyncio.create_subprocess_exec(*self._argv("test", "-w", str(self.directory)))
        if await probe.wait() != 0:
            raise EmbeddedError(
                f"the postgres user cannot reach {self.directory}: make its parent directories "
                "searchable (chmod o+x) or set CRYPTOCFD_STATE_DIR to a directory it can reach"
            )

    async def _initdb(self) -> None:
        argv = [self.initdb, "-D", str(self.data), "-U", self.user, "--encoding=UTF8"]
        argv += ["--locale=C", "--auth-local=trust"]
        password_file = self.directory / "password"
        if self.password:
            password_file.write_text(self.password + "\n")
            if self._as_root:
                owner = pwd.getpwnam(DEFAULT_USER)
                os.chown(password_file, owner.pw_uid, owner.pw_gid)
            argv += ["--auth-host=scram-sha-256", f"--pwfile={password_file}"]
        else:
            argv += ["--auth-host=trust"]
        try:
            await run(self._argv(*argv), what="initdb")
        finally:
            password_file.unlink(missing_ok=True)

    async def running_port(self) -> int | None:
        """The port of a server already running on this cluster (left by a killed ``up``)."""
        try:
            await run(self._argv(self.pg_ctl, "status", "-D", str(self.data)), what="pg_ctl")
            lines = (self.data / "postmaster.pid").read_text().splitlines()
            return int(lines[3])
        except (EmbeddedError, OSError, IndexError, ValueError):
            return None

    async def start(self, port: int | None = None, *settings: str) -> int:
        """Start the server on ``port`` (a free one when not given), with any further
        ``name=value`` settings; return the port."""
        port = port or free_port()
        options = "".join(f"-c {shlex.quote(setting)} " for setting in settings)
        options += f"-c port={port} -c listen_addresses=127.0.0.1 "
        options += f"-c unix_socket_directories={shlex.quote(str(self.directory))}"
        argv = [self.pg_ctl, "start", "-D", str(self.data), "-l", str(self.log), "-w"]
        argv += ["-t", "60", "-o", options]
        try:
            await run(self._argv(*argv), what="pg_ctl start")
        except EmbeddedError as exc:
            raise EmbeddedError(f"{exc}\n{log_tail(self.log)}") from exc
        return port

    async def stop(self, mode: str = "fast") -> None:
        """Stop the server (a fast shutdown unless told otherwise), waiting until it is down."""
        await run(
            self._argv(self.pg_ctl, "stop", "-D", str(self.data), "-m", mode, "-w"),
            what="pg_ctl stop",
        )


def _private_url(configured: str, user: str, port: int) -> str:
    """The configured URL (its user, password and database) on the private server's port."""
    userinfo = urlsplit(configured).netloc.rpartition("@")[0] or user
    return _with(configured, netloc=f"{userinfo}@127.0.0.1:{port}")


@asynccontextmanager
async def resolve_postgres(
    configured: str, directory: Path, search_path: str | None
) -> AsyncIterator[tuple[str, bool]]:
    """Yield ``(url, private)``: the configured server (database created when missing) or ours."""
    _database_of(configured)
    found = await _answers(configured)
    if found is not None:
        if not found:
            await create_database(configured)
        yield configured, False
        return
    parts = urlsplit(configured)
    user, password = unquote(parts.username or DEFAULT_USER), unquote(parts.password or "")
    cluster = Cluster(directory, search_path, user=user, password=password)
    await cluster.prepare()
    port = await cluster.running_port() or await cluster.start()
    try:
        url = _private_url(configured, user, port)
        if not await _wait_until_usable(url):
            await create_database(url)
        yield url, True
    finally:
        await cluster.stop()


async def _wait_until_usable(url: str) -> bool:
    """Whether the database exists, once the (just started) server accepts connections."""
    for _ in range(100):
        found = await _answers(url)
        if found is not None:
            return found
        await asyncio.sleep(0.1)
    raise EmbeddedError(f"the private PostgreSQL at {_redact(url)} does not accept connections")
