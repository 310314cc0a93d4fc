"""The audit trail: ``GET /admin/audit`` filters and pages what the actions appended, and
PostgreSQL itself refuses to change or delete a row of it, whoever asks."""

from __future__ import annotations

import time

import asyncpg
import pytest

from cryptocfd.store.database import asyncpg_dsn
from tests.integration.gateway_harness import Gateway
from tests.integration.operators import API, code_of, cryptocfd, new_email, raised_operator

AUDIT = f"{API}/admin/audit"


async def test_the_audit_page_when_filtered_shows_only_the_matching_actions(
    gateway: Gateway,
) -> None:
    operator = await raised_operator(gateway)
    other = await raised_operator(gateway)
    target = f"user:{operator.user_id}"

    mine = await gateway.client.get(AUDIT, params={"target": target}, headers=other.raised)
    grants = await gateway.client.get(
        AUDIT, params={"action": "role.grant", "target": target}, headers=operator.raised
    )
    by_actor = await gateway.client.get(
        AUDIT, params={"actor": operator.email}, headers=operator.raised
    )

    assert mine.status_code == 200, mine.text
    assert [e["action"] for e in mine.json()["entries"]] == [
        "totp.verify",
        "totp.setup",
        "role.grant",
    ]
    (granted,) = grants.json()["entries"]
    assert granted["actor"].startswith("cli:") and granted["actor_id"] is None
    assert granted["before"] == {"roles": []} and granted["after"] == {"roles": ["operator"]}
    assert {e["actor_id"] for e in by_actor.json()["entries"]} == {operator.user_id}
    assert {e["client_addr"] for e in by_actor.json()["entries"]} == {"203.0.113.7"}
    assert by_actor.json()["entries"][0]["at"].endswith("Z")


async def test_the_audit_page_when_paged_visits_each_entry_once_newest_first(
    gateway: Gateway,
) -> None:
    operator = await raised_operator(gateway)
    for role in ("risk", "admin"):
        await cryptocfd(gateway, "admin", "grant", operator.email, role)
    await cryptocfd(gateway, "admin", "revoke", operator.email, "risk")
    query = {"target": f"user:{operator.user_id}", "limit": "2"}

    seen: list[int] = []
    cursor = None
    for _ in range(10):
        page = await gateway.client.get(
            AUDIT, params={**query, **({"cursor": cursor} if cursor else {})},
            headers=operator.raised,
        )  # fmt: skip
        assert page.status_code == 200, page.text
        seen += [entry["id"] for entry in page.json()["entries"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break

    assert len(seen) == 6 and seen == sorted(seen, reverse=True)
    bad = await gateway.client.get(AUDIT, params={"cursor": "x1"}, headers=operator.raised)
    assert bad.status_code == 400 and code_of(bad) == "INVALID_CURSOR"


async def test_the_audit_page_when_given_a_time_range_keeps_to_it(gateway: Gateway) -> None:
    operator = await raised_operator(gateway)
    now = int(time.time())
    target = {"target": f"user:{operator.user_id}"}

    around = await gateway.client.get(
        AUDIT, params={**target, "from": now - 300, "to": now + 300}, headers=operator.raised
    )
    later = await gateway.client.get(
        AUDIT, params={**target, "from": now + 300}, headers=operator.raised
    )
    before = await gateway.client.get(
        AUDIT, params={**target, "to": now - 300}, headers=operator.raised
    )
    backwards = await gateway.client.get(
        AUDIT, params={"from": now, "to": now - 1}, headers=operator.raised
    )

    assert len(around.json()["entries"]) == 3
    assert later.json()["entries"] == before.json()["entries"] == []
    assert backwards.status_code == 400 and code_of(backwards) == "INVALID_RANGE"


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET actor = 'someone else'",
        "UPDATE audit_log SET after = NULL WHERE false",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ],
)
async def test_the_audit_log_when_changed_in_postgresql_refuses(
    gateway: Gateway, statement: str
) -> None:
    email = new_email()
    await gateway.sign_in(email)
    await cryptocfd(gateway, "admin", "grant", email, "operator")
    rows_before = await gateway.sql("SELECT * FROM audit_log ORDER BY id")

    connection = await asyncpg.connect(asyncpg_dsn(gateway.database_url))  # the owner, even
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await connection.execute(statement)
        await connection.execute("SET session_replication_role = replica")
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await connection.execute(statement)
    finally:
        await connection.close()

    assert await gateway.sql("SELECT * FROM audit_log ORDER BY id") == rows_before
    assert rows_before
