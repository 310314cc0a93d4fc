"""The operator's second factor, end to end against the real gateway, Redis and PostgreSQL:
set up once (sealed at rest), a right code raises a bearer token or a browser session, a wrong
or reused code raises nothing, and wrong codes lock like wrong PINs. Codes come from pyotp."""

from __future__ import annotations

import json

from tests.integration.gateway_harness import Gateway
from tests.integration.operators import (
    API,
    code_now,
    code_of,
    cryptocfd,
    enrolled_operator,
    grant,
    new_email,
    raised_operator,
    setup_totp,
    verify,
    wrong_code,
)
from tests.integration.test_api_keys import make_key, signed_headers

AUDIT = f"{API}/admin/audit"


async def test_setup_when_verified_once_is_final_and_the_secret_is_stored_sealed(
    gateway: Gateway,
) -> None:
    email = new_email()
    headers = await gateway.sign_in(email)
    await grant(gateway, email)

    first = await gateway.client.post(f"{API}/auth/totp/setup", headers=headers)
    replaced = await setup_totp(gateway, headers)  # not verified yet: a new setup replaces it
    verified = await verify(gateway, headers, code_now(replaced))
    again = await gateway.client.post(f"{API}/auth/totp/setup", headers=headers)

    assert first.status_code == 200 and first.headers["cache-control"] == "no-store"
    assert first.json()["otpauth_uri"].startswith("otpauth://totp/CryptoCFD:")
    assert f"secret={first.json()['secret']}" in first.json()["otpauth_uri"]
    assert replaced != first.json()["secret"]
    assert verified.status_code == 200, verified.text
    assert again.status_code == 409 and code_of(again) == "TOTP_ALREADY_SET_UP"
    (row,) = await gateway.sql(
        "SELECT t.* FROM totp_secrets t JOIN users u ON u.id = t.user_id WHERE u.email = $1",
        email,
    )
    assert replaced.encode() not in bytes(row["sealed_secret"])
    assert all(replaced not in str(value) for value in row.values())
    assert row["verified_at"] is not None


async def test_setup_when_the_caller_has_no_role_is_forbidden(gateway: Gateway) -> None:
    headers = await gateway.sign_in(new_email("trader"))

    setup = await gateway.client.post(f"{API}/auth/totp/setup", headers=headers)
    verified = await verify(gateway, headers, "123456")

    assert setup.status_code == verified.status_code == 403
    assert code_of(setup) == code_of(verified) == "OPERATOR_ROLE_REQUIRED"


async def test_setup_when_the_sign_in_is_not_fresh_is_forbidden(gateway: Gateway) -> None:
    email = new_email()
    tokens = await gateway.verify_json(await _link(gateway, email))
    await grant(gateway, email)
    refreshed = await gateway.client.post(
        f"{API}/auth/refresh", json={"refresh_token": tokens.json()["refresh_token"]}
    )
    stale = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}

    setup = await gateway.client.post(f"{API}/auth/totp/setup", headers=stale)

    assert setup.status_code == 403 and code_of(setup) == "FRESH_SIGN_IN_REQUIRED"


async def _link(gateway: Gateway, email: str) -> str:
    await gateway.client.post(f"{API}/auth/login", json={"email": email})
    return await gateway.link_for(email)


async def test_verify_when_the_code_is_right_gives_a_token_client_a_raised_token(
    gateway: Gateway,
) -> None:
    email, plain, secret = await enrolled_operator(gateway)
    before = await gateway.client.get(AUDIT, headers=plain)

    answer = await verify(gateway, plain, code_now(secret))
    raised = {"Authorization": f"Bearer {answer.json()['access_token']}"}
    after = await gateway.client.get(AUDIT, headers=raised)
    still_plain = await gateway.client.get(AUDIT, headers=plain)

    assert before.status_code == 401 and code_of(before) == "SECOND_FACTOR_REQUIRED"
    assert answer.status_code == 200, answer.text
    assert answer.json()["strength"] == "operator" and answer.json()["expires_in"] == 900
    assert after.status_code == 200, after.text
    assert still_plain.status_code == 401  # the old token was not raised, only the new one
    me = await gateway.client.get(f"{API}/auth/me", headers=raised)
    assert me.json()["email"] == email


async def test_verify_when_the_code_is_right_raises_the_browser_session(gateway: Gateway) -> None:
    email = new_email()
    await gateway.client.post(f"{API}/auth/login", json={"email": email})
    await gateway.confirm(await gateway.link_for(email))
    await grant(gateway, email)
    csrf = {"X-CSRF-Token": gateway.client.cookies["cfd_csrf"]}
    setup = await gateway.client.post(f"{API}/auth/totp/setup", headers=csrf)
    secret = setup.json()["secret"]
    before = await gateway.client.get(AUDIT)

    without_csrf = await verify(gateway, {}, code_now(secret))
    answer = await verify(gateway, csrf, code_now(secret))
    after = await gateway.client.get(AUDIT)

    assert setup.status_code == 200, setup.text
    assert before.status_code == 401 and code_of(before) == "SECOND_FACTOR_REQUIRED"
    assert without_csrf.status_code == 403 and code_of(without_csrf) == "CSRF_FAILED"
    assert answer.status_code == 200, answer.text
    assert answer.json()["access_token"] is None  # the session itself is raised
    assert after.status_code == 200, after.text


async def test_verify_when_the_code_is_wrong_is_401_and_raises_nothing(gateway: Gateway) -> None:
    email, plain, secret = await enrolled_operator(gateway)

    answer = await verify(gateway, plain, wrong_code(secret))

    assert answer.status_code == 401 and code_of(answer) == "INVALID_TOTP_CODE"
    assert "access_token" not in answer.json()
    refused = await gateway.sql(
        "SELECT after::text FROM audit_log WHERE actor = $1 AND action = 'totp.refused'", email
    )
    assert [row["after"] for row in refused] == ['{"reason": "wrong_code"}']


async def test_verify_when_a_code_is_replayed_refuses_it(gateway: Gateway) -> None:
    operator = await raised_operator(gateway)
    used = code_now(operator.secret)  # the code raised_operator spent, or the next step's
    spent = await verify(gateway, operator.plain, used)
    if spent.status_code == 200:  # a step began since: that first use spent this code now
        spent = await verify(gateway, operator.plain, used)

    assert spent.status_code == 401 and code_of(spent) == "TOTP_CODE_REUSED"
    earlier = await verify(gateway, operator.plain, code_now(operator.secret, -1))
    assert earlier.status_code == 401  # a step before the last accepted one opens nothing


async def test_verify_when_five_codes_were_wrong_locks_even_the_right_one(
    gateway: Gateway,
) -> None:
    email, plain, secret = await enrolled_operator(gateway)
    bad = wrong_code(secret)

    wrong = [await verify(gateway, plain, bad) for _ in range(5)]
    locked = await verify(gateway, plain, code_now(secret))

    assert [answer.status_code for answer in wrong] == [401] * 5
    assert locked.status_code == 429 and code_of(locked) == "TOTP_LOCKED"
    assert int(locked.headers["retry-after"]) > 0
    told = await gateway.sql(
        "SELECT subject FROM email_outbox WHERE recipient = $1 AND subject LIKE '%second factor'",
        email,
    )
    assert len(told) == 1  # once, by the try that locked it


async def test_a_raised_operator_when_their_role_is_revoked_is_refused_at_once(
    gateway: Gateway,
) -> None:
    operator = await raised_operator(gateway)
    allowed = await gateway.client.get(AUDIT, headers=operator.raised)

    await cryptocfd(gateway, "admin", "revoke", operator.email, "operator")
    refused = await gateway.client.get(AUDIT, headers=operator.raised)

    assert allowed.status_code == 200
    assert refused.status_code == 403 and code_of(refused) == "OPERATOR_ROLE_REQUIRED"


async def test_setup_and_verify_when_done_are_audited(gateway: Gateway) -> None:
    operator = await raised_operator(gateway)

    rows = await gateway.sql(
        "SELECT actor_id, action, target, before::text, after::text, client_addr"
        " FROM audit_log WHERE actor = $1 ORDER BY id",
        operator.email,
    )

    assert [row["action"] for row in rows] == ["totp.setup", "totp.verify"]
    assert {row["target"] for row in rows} == {f"user:{operator.user_id}"}
    assert {row["actor_id"] for row in rows} == {operator.user_id}
    assert {row["client_addr"] for row in rows} == {"203.0.113.7"}
    assert rows[1]["before"] == '{"verified": false}'
    assert '"verified": true' in rows[1]["after"]


async def test_setup_and_verify_when_called_with_an_api_key_are_refused(gateway: Gateway) -> None:
    _email, plain, secret = await enrolled_operator(gateway)
    key = await make_key(gateway, plain)
    body = json.dumps({"code": code_now(secret)}).encode()

    setup = await gateway.client.post(
        f"{API}/auth/totp/setup", content=b"", headers=signed_headers(key, b"")
    )
    verified = await gateway.client.post(
        f"{API}/auth/totp/verify",
        content=body,
        headers={"Content-Type": "application/json", **signed_headers(key, body)},
    )

    assert setup.status_code == verified.status_code == 403
    assert code_of(setup) == code_of(verified) == "API_KEY_NOT_ALLOWED"
