"""API keys of a second kind: an Ed25519 public key the user uploads, with no secret held.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from cryptocfd.store.migrations.steps import run_each

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UPGRADE = """
ALTER TABLE api_keys
    ADD COLUMN kind text NOT NULL DEFAULT 'hmac',
    -- the raw 32 bytes of the key (RFC 8032): public, so not sealed
    ADD COLUMN public_key bytea,
    ALTER COLUMN sealed_secret DROP NOT NULL;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_kind_material CHECK (
    (kind = 'hmac' AND sealed_secret IS NOT NULL AND public_key IS NULL)
    OR (kind = 'ed25519' AND sealed_secret IS NULL AND octet_length(public_key) = 32)
)
"""

# An Ed25519 key has nothing the old schema can hold: going back drops those keys.
DOWNGRADE = """
DELETE FROM api_keys WHERE kind <> 'hmac';
ALTER TABLE api_keys DROP CONSTRAINT api_keys_kind_material;
ALTER TABLE api_keys
    DROP COLUMN public_key,
    DROP COLUMN kind,
    ALTER COLUMN sealed_secret SET NOT NULL
"""


def upgrade() -> None:
    """Add the key kind and the Ed25519 public key."""
    run_each(UPGRADE)


def downgrade() -> None:
    """Drop them, and the Ed25519 keys with them."""
    run_each(DOWNGRADE)
