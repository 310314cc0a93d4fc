"""API keys: a user's keys for signed requests, their secrets sealed under the server key.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from cryptocfd.store.migrations.steps import run_each

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TABLE api_keys (
    key_id bigserial PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id),
    api_key text NOT NULL UNIQUE,
    -- AES-256-GCM under a key derived from the server key, the api_key as associated data:
    -- HMAC needs the secret itself, so it is sealed, never stored as it was shown.
    sealed_secret bytea NOT NULL,
    label text NOT NULL,
    scopes text[] NOT NULL,
    ip_allowlist cidr[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX api_keys_live_by_user ON api_keys (user_id) WHERE revoked_at IS NULL
"""

DOWNGRADE = """
DROP TABLE api_keys
"""


def upgrade() -> None:
    """Add the API keys."""
    run_each(UPGRADE)


def downgrade() -> None:
    """Drop them."""
    run_each(DOWNGRADE)
