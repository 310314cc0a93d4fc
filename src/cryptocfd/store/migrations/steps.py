"""What the migrations share."""

from __future__ import annotations

from alembic import op


def run_each(script: str) -> None:
    """Run each statement of ``script`` (split on ``;`` at a line's end) on its own: asyncpg
    prepares every statement, and a prepared statement holds only one command."""
    for statement in script.split(";\n"):
        if statement.strip():
            op.execute(statement)
