"""The journal's details: an order's liquidation price, expiry and realized PnL, and an email
the sender gave up on (left out of the outbox's due index).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from cryptocfd.store.migrations.steps import run_each

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UPGRADE = """
ALTER TABLE orders ADD COLUMN liquidation_price bigint;
ALTER TABLE orders ADD COLUMN expires_at bigint;
ALTER TABLE orders ADD COLUMN realized_pnl bigint NOT NULL DEFAULT 0;
-- An email the sender stopped retrying: it stays for an operator to read, never claimed again.
ALTER TABLE email_outbox ADD COLUMN given_up_at timestamptz;
DROP INDEX email_outbox_unsent;
CREATE INDEX email_outbox_due ON email_outbox (next_attempt_at)
    WHERE sent_at IS NULL AND given_up_at IS NULL
"""

DOWNGRADE = """
DROP INDEX email_outbox_due;
CREATE INDEX email_outbox_unsent ON email_outbox (next_attempt_at) WHERE sent_at IS NULL;
ALTER TABLE email_outbox DROP COLUMN given_up_at;
ALTER TABLE orders DROP COLUMN realized_pnl;
ALTER TABLE orders DROP COLUMN expires_at;
ALTER TABLE orders DROP COLUMN liquidation_price
"""


def upgrade() -> None:
    """Add the columns and indexes."""
    run_each(UPGRADE)


def downgrade() -> None:
    """Remove them."""
    run_each(DOWNGRADE)
