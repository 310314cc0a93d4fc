"""Operators: roles, the TOTP second factor, raised sessions, and the append-only audit trail.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

from cryptocfd.store.migrations.steps import run_each

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UPGRADE = """
-- Granted and revoked only by `cryptocfd admin grant|revoke`; no route writes here.
CREATE TABLE user_roles (
    user_id bigint NOT NULL REFERENCES users (id),
    role text NOT NULL CHECK (role IN ('operator', 'risk', 'admin')),
    granted_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, role)
);
-- The TOTP secret, sealed under the server key (bound to the user), never in clear.
-- last_step is the newest time step a code was accepted for: no code of it or before opens
-- anything again (RFC 6238 replay).
CREATE TABLE totp_secrets (
    user_id bigint PRIMARY KEY REFERENCES users (id),
    sealed_secret bytea NOT NULL,
    created_at timestamptz NOT NULL,
    verified_at timestamptz,
    last_step bigint
);
-- When a right TOTP code raised the session to operator strength.
ALTER TABLE sessions ADD COLUMN raised_at timestamptz;
CREATE TABLE audit_log (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL,
    actor_id bigint REFERENCES users (id),
    actor text NOT NULL,
    action text NOT NULL,
    target text NOT NULL,
    before jsonb,
    after jsonb,
    client_addr text
);
CREATE INDEX audit_log_by_at ON audit_log (at);
CREATE INDEX audit_log_by_actor ON audit_log (actor, id);
CREATE INDEX audit_log_by_target ON audit_log (target, id);
CREATE INDEX audit_log_by_action ON audit_log (action, id);
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC
"""

# One statement each, and each holds semicolons of its own (run_each splits on them).
# A statement trigger fires even when no row matches, and TRUNCATE has only statement
# triggers; ENABLE ALWAYS keeps it firing under session_replication_role = replica too.
APPEND_ONLY = (
    """
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
""",
    """
CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change()
""",
    "ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_append_only",
)

DOWNGRADE = """
DROP TABLE audit_log;
DROP FUNCTION audit_log_refuse_change();
ALTER TABLE sessions DROP COLUMN raised_at;
DROP TABLE totp_secrets;
DROP TABLE user_roles
"""


def upgrade() -> None:
    """Add roles, TOTP secrets, raised sessions and the audit trail."""
    run_each(UPGRADE)
    for statement in APPEND_ONLY:
        op.execute(statement)


def downgrade() -> None:
    """Drop them (the audit trail with its trigger: a schema change, not a route, can)."""
    run_each(DOWNGRADE)
