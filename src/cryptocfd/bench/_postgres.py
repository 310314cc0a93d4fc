"""A throwaway PostgreSQL database for a benchmark, on the server ``DATABASE_URL`` names."""

from __future__ import annotations

import os

import asyncpg

from cryptocfd.store.database import asyncpg_dsn

SERVER_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def database_url(name: str) -> str:
    """The URL of database ``name`` on the benchmarks' server."""
    return f"{SERVER_URL.rpartition('/')[0]}/{name}"


async def admin(sql: str) -> None:
    """Run ``sql`` (CREATE or DROP DATABASE) on the server's ``postgres`` database."""
    connection = await asyncpg.connect(asyncpg_dsn(database_url("postgres")))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()
