"""Live funding: KYC applications with their documents, deposit and withdrawal requests, the
operators' approvals of them, and each change a trader is told of.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from cryptocfd.store.migrations.steps import run_each

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UPGRADE = """
-- One id space for every request a trader makes of the back office: a KYC application, a
-- deposit or a withdrawal (the operators' queues and /admin/requests/{id} name them by it).
CREATE TABLE live_requests (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id),
    kind text NOT NULL CHECK (kind IN ('kyc', 'deposit', 'withdrawal')),
    status text NOT NULL CHECK (
        (kind = 'kyc' AND status IN ('submitted', 'verified', 'rejected'))
        OR (kind = 'deposit' AND status IN ('requested', 'approved', 'rejected'))
        OR (kind = 'withdrawal' AND status IN ('requested', 'approved', 'paid', 'rejected'))
    ),
    -- deposits and withdrawals: what the trader asked for, and what the engine booked
    amount_cents bigint CHECK (amount_cents > 0),
    booked_cents bigint CHECK (booked_cents > 0),
    reference text UNIQUE,  -- a deposit's bank-transfer reference
    payout_reference text,  -- a paid withdrawal's, as the operator recorded it
    reason text,  -- a rejection's
    client_key text,  -- the trader's Idempotency-Key, scoped to them: a retry is answered
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CHECK ((kind = 'kyc') = (amount_cents IS NULL)),
    CHECK ((kind = 'deposit') = (reference IS NOT NULL))
);
CREATE INDEX live_requests_queue ON live_requests (kind, status, id);
CREATE INDEX live_requests_by_user ON live_requests (user_id, id);
CREATE UNIQUE INDEX live_requests_client_key ON live_requests (kind, client_key);
-- At most one KYC application under review per user.
CREATE UNIQUE INDEX live_requests_one_kyc_review ON live_requests (user_id)
    WHERE kind = 'kyc' AND status = 'submitted';
CREATE TABLE kyc_details (
    request_id bigint PRIMARY KEY REFERENCES live_requests (id),
    full_name text NOT NULL,
    date_of_birth date NOT NULL,
    country text NOT NULL,
    address text NOT NULL
);
-- The documents themselves are files under the state directory, sealed with the server key:
-- a row says which file, what it is and its digest.
CREATE TABLE kyc_documents (
    request_id bigint NOT NULL REFERENCES live_requests (id),
    position smallint NOT NULL CHECK (position BETWEEN 1 AND 2),
    content_type text NOT NULL,
    size_bytes integer NOT NULL CHECK (size_bytes > 0),
    sha256 bytea NOT NULL,
    stored_as text NOT NULL UNIQUE,
    PRIMARY KEY (request_id, position)
);
-- One approval per operator per request: four eyes need two rows of two operators.
CREATE TABLE live_request_approvals (
    request_id bigint NOT NULL REFERENCES live_requests (id),
    operator_id bigint NOT NULL REFERENCES users (id),
    amount_cents bigint CHECK (amount_cents > 0),
    at timestamptz NOT NULL,
    PRIMARY KEY (request_id, operator_id)
);
-- Every change of a request, as the trader sees it (GET /live/requests) and is emailed.
CREATE TABLE live_request_changes (
    id bigserial PRIMARY KEY,
    request_id bigint NOT NULL REFERENCES live_requests (id),
    at timestamptz NOT NULL,
    status text NOT NULL,
    note text
);
CREATE INDEX live_request_changes_by_request ON live_request_changes (request_id, id)
"""

DOWNGRADE = """
DROP TABLE live_request_changes;
DROP TABLE live_request_approvals;
DROP TABLE kyc_documents;
DROP TABLE kyc_details;
DROP TABLE live_requests
"""


def upgrade() -> None:
    """Add the live funding tables."""
    run_each(UPGRADE)


def downgrade() -> None:
    """Drop them."""
    run_each(DOWNGRADE)
