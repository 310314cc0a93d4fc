"""``cryptocfd migrate``: bring the database schema to the newest Alembic revision."""

from __future__ import annotations

from alembic import command
from alembic.config import Config


def alembic_url(database_url: str) -> str:
    """The SQLAlchemy URL for ``database_url`` (Alembic drives asyncpg through SQLAlchemy)."""
    scheme, _, rest = database_url.partition("://")
    if scheme not in {"postgres", "postgresql", "postgresql+asyncpg"}:
        raise ValueError(f"not a PostgreSQL URL: {scheme}://…")
    return f"postgresql+asyncpg://{rest}"


def alembic_config(database_url: str) -> Config:
    """Alembic's configuration, built here rather than read from an ini file."""
    config = Config()
    config.set_main_option("script_location", "cryptocfd.store:migrations")
    config.set_main_option("sqlalchemy.url", alembic_url(database_url))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Run the migrations up to ``revision``. Blocking: call it from a thread or a CLI."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    """Undo migrations down to ``revision``."""
    command.downgrade(alembic_config(database_url), revision)
