"""Users and sign-in, the email outbox, and the journal: order history and the ledger.

Amounts are integers at the engine's scales (cents, 1e-8 quantity units, price ticks); times
the engine decided are unix milliseconds, times the gateway decided are ``timestamptz``.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from cryptocfd.store.migrations.steps import run_each

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TABLE users (
    id bigserial PRIMARY KEY,
    email text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Single-use sign-in links, by the SHA-256 of the token: the token itself is only in the email.
CREATE TABLE login_tokens (
    token_hash bytea PRIMARY KEY,
    email text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);
CREATE INDEX login_tokens_by_email ON login_tokens (email, created_at);

-- Browser sessions (cookie), by the SHA-256 of the session id.
CREATE TABLE sessions (
    id_hash bytea PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- Refresh tokens rotate within a family; reusing a spent one revokes the whole family.
CREATE TABLE refresh_tokens (
    token_hash bytea PRIMARY KEY,
    family uuid NOT NULL,
    user_id bigint NOT NULL REFERENCES users (id),
    device_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_by_user ON refresh_tokens (user_id);

CREATE TABLE mobile_pins (
    user_id bigint PRIMARY KEY REFERENCES users (id),
    pin_hash text NOT NULL,
    failed_attempts integer NOT NULL DEFAULT 0,
    locked_until timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE email_outbox (
    id bigserial PRIMARY KEY,
    recipient text NOT NULL,
    subject text NOT NULL,
    body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL DEFAULT 0,
    sent_at timestamptz,
    last_error text
);
CREATE INDEX email_outbox_unsent ON email_outbox (next_attempt_at) WHERE sent_at IS NULL;

-- The journal's progress: one row per engine record it has booked (idempotency by record id).
CREATE TABLE journal_records (
    record_id text PRIMARY KEY,
    booked_at timestamptz NOT NULL DEFAULT now()
);

-- Every order the engine accepted, as it stands now.
CREATE TABLE orders (
    order_id bigint PRIMARY KEY,
    account_id bigint NOT NULL,
    asset text NOT NULL,
    side text NOT NULL,
    order_type text NOT NULL,
    status text NOT NULL,
    margin bigint NOT NULL,
    leverage integer NOT NULL,
    price bigint,
    quantity bigint,
    open_price bigint,
    take_profit bigint,
    stop_loss bigint,
    trailing_distance bigint,
    placed_at bigint NOT NULL,
    opened_at bigint,
    closed_at bigint,
    end_reason text
);
CREATE INDEX orders_by_account ON orders (account_id, order_id);

-- One row per close, full or partial: the trader's history.
CREATE TABLE closed_trades (
    record_id text NOT NULL,
    seq integer NOT NULL,
    order_id bigint NOT NULL,
    account_id bigint NOT NULL,
    asset text NOT NULL,
    side text NOT NULL,
    leverage integer NOT NULL,
    quantity bigint NOT NULL,
    margin bigint NOT NULL,
    open_price bigint NOT NULL,
    close_price bigint NOT NULL,
    pnl bigint NOT NULL,
    reason text NOT NULL,
    opened_at bigint NOT NULL,
    closed_at bigint NOT NULL,
    PRIMARY KEY (record_id, seq)
);
CREATE INDEX closed_trades_by_account
    ON closed_trades (account_id, closed_at DESC, record_id DESC, seq DESC);

-- Double entry: the lines of one event sum to zero. ``amount`` is in cents, debit positive.
CREATE TABLE ledger_entries (
    id bigserial PRIMARY KEY,
    record_id text NOT NULL,
    seq integer NOT NULL,
    line integer NOT NULL,
    ledger_account text NOT NULL,
    amount bigint NOT NULL,
    event text NOT NULL,
    order_id bigint,
    ts bigint NOT NULL,
    UNIQUE (record_id, seq, line)
);
CREATE INDEX ledger_entries_by_account ON ledger_entries (ledger_account);
"""

DOWNGRADE = """
DROP TABLE ledger_entries, closed_trades, orders, journal_records, email_outbox, mobile_pins,
    refresh_tokens, sessions, login_tokens, users;
"""


def upgrade() -> None:
    """Create the tables."""
    run_each(UPGRADE)


def downgrade() -> None:
    """Drop them."""
    run_each(DOWNGRADE)
