"""``cryptocfd admin grant|revoke``, run as its own process against the test's database: roles
change, each change is audited with its before and after, a repeat changes nothing, and bad
input exits with a clear message and code."""

from __future__ import annotations

import os
import pwd

from tests.integration.gateway_harness import Gateway
from tests.integration.operators import cryptocfd, new_email


async def _audit_rows(gateway: Gateway, user_id: int) -> list[dict[str, object]]:
    rows = await gateway.sql(
        "SELECT actor_id, actor, action, before::text, after::text, client_addr FROM audit_log"
        " WHERE target = $1 ORDER BY id",
        f"user:{user_id}",
    )
    return [dict(row) for row in rows]


async def _roles(gateway: Gateway, user_id: int) -> set[str]:
    rows = await gateway.sql("SELECT role FROM user_roles WHERE user_id = $1", user_id)
    return {row["role"] for row in rows}


async def test_grant_when_run_twice_gives_the_role_once_and_audits_the_change_once(
    gateway: Gateway,
) -> None:
    email = new_email()
    me = await gateway.client.get("/api/v1/auth/me", headers=await gateway.sign_in(email))
    user_id = int(me.json()["id"])

    first = await cryptocfd(gateway, "admin", "grant", email, "operator")
    again = await cryptocfd(gateway, "admin", "grant", email.upper(), "operator")
    risk = await cryptocfd(gateway, "admin", "grant", email, "risk")

    assert first.code == again.code == risk.code == 0, (first.err, again.err, risk.err)
    assert "granted" in first.out and "nothing changed" in again.out
    assert await _roles(gateway, user_id) == {"operator", "risk"}
    rows = await _audit_rows(gateway, user_id)
    assert [row["action"] for row in rows] == ["role.grant", "role.grant"]
    assert rows[0]["before"] == '{"roles": []}' and rows[0]["after"] == '{"roles": ["operator"]}'
    assert rows[1]["after"] == '{"roles": ["operator", "risk"]}'
    assert all(str(row["actor"]).startswith("cli:") for row in rows)
    assert all(row["actor_id"] is None and row["client_addr"] is None for row in rows)


async def test_grant_when_the_environment_names_another_user_audits_the_process_s_own(
    gateway: Gateway,
) -> None:
    email = new_email()
    me = await gateway.client.get("/api/v1/auth/me", headers=await gateway.sign_in(email))

    ran = await cryptocfd(
        gateway, "admin", "grant", email, "risk", USER="mallory", LOGNAME="mallory"
    )
    (row,) = await _audit_rows(gateway, int(me.json()["id"]))

    assert ran.code == 0, ran.err
    assert row["actor"] == f"cli:{pwd.getpwuid(os.getuid()).pw_name}" != "cli:mallory"


async def test_revoke_when_the_role_is_held_takes_it_and_when_not_changes_nothing(
    gateway: Gateway,
) -> None:
    email = new_email()
    me = await gateway.client.get("/api/v1/auth/me", headers=await gateway.sign_in(email))
    user_id = int(me.json()["id"])
    await cryptocfd(gateway, "admin", "grant", email, "admin")

    revoked = await cryptocfd(gateway, "admin", "revoke", email, "admin")
    again = await cryptocfd(gateway, "admin", "revoke", email, "admin")

    assert revoked.code == again.code == 0
    assert "revoked" in revoked.out and "nothing changed" in again.out
    assert await _roles(gateway, user_id) == set()
    rows = await _audit_rows(gateway, user_id)
    assert [row["action"] for row in rows] == ["role.grant", "role.revoke"]
    assert rows[1]["before"] == '{"roles": ["admin"]}' and rows[1]["after"] == '{"roles": []}'


async def test_grant_when_the_email_role_or_address_is_wrong_exits_with_its_code(
    gateway: Gateway,
) -> None:
    email = new_email()
    await gateway.sign_in(email)

    unknown_user = await cryptocfd(gateway, "admin", "grant", new_email(), "operator")
    unknown_role = await cryptocfd(gateway, "admin", "grant", email, "superuser")
    bad_address = await cryptocfd(gateway, "admin", "revoke", "not-an-address", "risk")

    assert unknown_user.code == 3
    assert "no user signed up with" in unknown_user.err
    assert unknown_role.code == 2
    assert "invalid choice: 'superuser'" in unknown_role.err
    assert bad_address.code == 2 and "cryptocfd admin revoke:" in bad_address.err
    assert await gateway.sql("SELECT 1 FROM user_roles r JOIN users u ON u.id = r.user_id"
                             " WHERE u.email = $1", email) == []  # fmt: skip
