"""Which of a user's accounts, demo or live, their requests act on when they name none.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from cryptocfd.store.migrations.steps import run_each

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

UPGRADE = """
ALTER TABLE users
    ADD COLUMN active_account text NOT NULL DEFAULT 'demo'
        CONSTRAINT users_active_account_kind CHECK (active_account IN ('demo', 'live'))
"""

DOWNGRADE = """
ALTER TABLE users DROP COLUMN active_account
"""


def upgrade() -> None:
    """Add the column: every user starts on their demo account."""
    run_each(UPGRADE)


def downgrade() -> None:
    """Drop the column."""
    run_each(DOWNGRADE)
