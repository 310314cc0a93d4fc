"""Sign-in hardening: sealed email bodies purged once sent, who asked for each sign-in link,
and PIN lock-outs moved out of the PIN row (they are kept per address and device in Redis).

Downgrading cannot unseal: an email still unsent then goes out with an empty body.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from cryptocfd.store.migrations.steps import run_each

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UPGRADE = """
ALTER TABLE email_outbox ADD COLUMN sealed_body bytea;
ALTER TABLE email_outbox ALTER COLUMN body DROP NOT NULL;
-- Sent (or given-up) emails keep no body: a sign-in link in plain text signs anyone in.
UPDATE email_outbox SET body = NULL WHERE sent_at IS NOT NULL OR given_up_at IS NOT NULL;
-- The SHA-256 of the address that asked for a link, for the per-requester limits.
ALTER TABLE login_tokens ADD COLUMN requester bytea;
ALTER TABLE mobile_pins DROP COLUMN failed_attempts;
ALTER TABLE mobile_pins DROP COLUMN locked_until
"""

DOWNGRADE = """
ALTER TABLE mobile_pins ADD COLUMN locked_until timestamptz;
ALTER TABLE mobile_pins ADD COLUMN failed_attempts integer NOT NULL DEFAULT 0;
ALTER TABLE login_tokens DROP COLUMN requester;
UPDATE email_outbox SET body = '' WHERE body IS NULL;
ALTER TABLE email_outbox ALTER COLUMN body SET NOT NULL;
ALTER TABLE email_outbox DROP COLUMN sealed_body
"""


def upgrade() -> None:
    """Seal the outbox, record requesters, drop the PIN row's lock columns."""
    run_each(UPGRADE)


def downgrade() -> None:
    """Undo them (sealed bodies are lost)."""
    run_each(DOWNGRADE)
