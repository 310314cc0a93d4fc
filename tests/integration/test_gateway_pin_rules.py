"""Mobile PIN rules: setting one needs a fresh sign-in or the current PIN and tells the owner;
the lock-out is the same for every address, per device, grows, and tells the owner. Real app,
Redis and PostgreSQL."""

from __future__ import annotations

import uuid

from tests.integration.gateway_harness import Gateway

PIN = "/api/v1/auth/mobile/pin"
PIN_LOGIN = "/api/v1/auth/mobile/pin/login"


def _email() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@example.com"


async def _stale_bearer(gateway: Gateway, email: str) -> dict[str, str]:
    """Bearer headers of ``email`` whose sign-in is not fresh: a refreshed access token."""
    await gateway.client.post("/api/v1/auth/login", json={"email": email})
    tokens = (await gateway.verify_json(await gateway.link_for(email))).json()
    refreshed = await gateway.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    return {"Authorization": f"Bearer {refreshed.json()['access_token']}"}


async def _subjects(gateway: Gateway, email: str) -> list[str]:
    rows = await gateway.sql(
        "SELECT subject FROM email_outbox WHERE recipient = $1 ORDER BY id", email
    )
    return [row["subject"] for row in rows]


async def test_set_pin_when_the_token_is_not_a_fresh_sign_in_is_refused(gateway: Gateway) -> None:
    stale = await _stale_bearer(gateway, _email())

    answer = await gateway.client.post(PIN, headers=stale, json={"pin": "739150"})

    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "FRESH_SIGN_IN_REQUIRED"


async def test_set_pin_when_the_session_signed_in_long_ago_is_refused(gateway: Gateway) -> None:
    email = _email()
    await gateway.client.post("/api/v1/auth/login", json={"email": email})
    await gateway.confirm(await gateway.link_for(email))
    await gateway.sql(
        "UPDATE sessions SET created_at = now() - interval '6 minutes'"
        " WHERE user_id = (SELECT id FROM users WHERE email = $1)",
        email,
    )
    csrf = {"X-CSRF-Token": gateway.client.cookies["cfd_csrf"]}

    answer = await gateway.client.post(PIN, headers=csrf, json={"pin": "739150"})

    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "FRESH_SIGN_IN_REQUIRED"


async def test_set_pin_when_the_session_just_signed_in_is_allowed(gateway: Gateway) -> None:
    email = _email()
    await gateway.client.post("/api/v1/auth/login", json={"email": email})
    await gateway.confirm(await gateway.link_for(email))
    csrf = {"X-CSRF-Token": gateway.client.cookies["cfd_csrf"]}

    answer = await gateway.client.post(PIN, headers=csrf, json={"pin": "739150"})

    assert answer.status_code == 204, answer.text


async def test_change_pin_when_not_fresh_needs_the_current_pin(gateway: Gateway) -> None:
    email = _email()
    fresh = await gateway.sign_in(email)
    await gateway.client.post(PIN, headers=fresh, json={"pin": "739150"})
    stale = await _stale_bearer(gateway, email)

    wrong = await gateway.client.post(
        PIN, headers=stale, json={"pin": "284617", "current_pin": "111000"}
    )
    right = await gateway.client.post(
        PIN, headers=stale, json={"pin": "284617", "current_pin": "739150"}
    )
    new_pin = await gateway.client.post(
        PIN_LOGIN, json={"email": email, "pin": "284617", "device_id": "phone-1"}
    )

    assert wrong.status_code == 403
    assert wrong.json()["error"]["code"] == "FRESH_SIGN_IN_REQUIRED"
    assert right.status_code == 204, right.text
    assert new_pin.status_code == 200


async def test_change_pin_when_the_current_pin_is_guessed_locks_like_a_sign_in(
    gateway: Gateway,
) -> None:
    email = _email()
    await gateway.client.post(PIN, headers=await gateway.sign_in(email), json={"pin": "739150"})
    stale = await _stale_bearer(gateway, email)

    guesses = [
        await gateway.client.post(
            PIN, headers=stale, json={"pin": "284617", "current_pin": f"10000{n}"}
        )
        for n in range(6)
    ]

    assert [g.status_code for g in guesses] == [403] * 5 + [429]
    assert guesses[5].json()["error"]["code"] == "PIN_LOCKED"


async def test_set_pin_when_set_then_changed_emails_the_owner_each_time(gateway: Gateway) -> None:
    email = _email()
    bearer = await gateway.sign_in(email)

    await gateway.client.post(PIN, headers=bearer, json={"pin": "739150"})
    await gateway.client.post(PIN, headers=bearer, json={"pin": "284617"})

    assert (await _subjects(gateway, email))[-2:] == [
        "Your CryptoCFD mobile PIN was set",
        "Your CryptoCFD mobile PIN was changed",
    ]


async def _wrong_tries(gateway: Gateway, email: str, device: str, n: int) -> list[int]:
    body = {"email": email, "pin": "284617", "device_id": device}
    return [(await gateway.client.post(PIN_LOGIN, json=body)).status_code for _ in range(n)]


async def test_pin_login_when_the_address_has_no_pin_locks_exactly_alike(gateway: Gateway) -> None:
    with_pin = _email()
    await gateway.client.post(PIN, headers=await gateway.sign_in(with_pin), json={"pin": "739150"})
    without_pin = _email()
    await gateway.sign_in(without_pin)
    no_account = _email()

    seen = {
        email: await _wrong_tries(gateway, email, "phone-x", 6)
        for email in (with_pin, without_pin, no_account)
    }

    assert set(map(tuple, seen.values())) == {(401, 401, 401, 401, 401, 429)}


async def test_pin_login_when_locked_on_one_device_still_signs_in_on_another(
    gateway: Gateway,
) -> None:
    email = _email()
    await gateway.client.post(PIN, headers=await gateway.sign_in(email), json={"pin": "739150"})

    attacker = await _wrong_tries(gateway, email, "attackers-laptop", 6)
    own = await gateway.client.post(
        PIN_LOGIN, json={"email": email, "pin": "739150", "device_id": "owners-phone"}
    )

    assert attacker[-1] == 429
    assert own.status_code == 200


async def test_pin_login_when_locked_again_waits_longer_and_emails_the_owner(
    gateway: Gateway,
) -> None:
    email = _email()
    await gateway.client.post(PIN, headers=await gateway.sign_in(email), json={"pin": "739150"})
    first = await _wrong_tries(gateway, email, "phone-x", 5)
    body = {"email": email, "pin": "739150", "device_id": "phone-x"}
    first_lock = await gateway.client.post(PIN_LOGIN, json=body)
    # The first lock runs out (its end moved to the past, as 15 minutes would).
    async for key in gateway.redis.scan_iter(match=f"{gateway.streams.prefix}pinlock:*"):
        await gateway.redis.hset(key, "locked_until", 0)
    second = await _wrong_tries(gateway, email, "phone-x", 5)
    second_lock = await gateway.client.post(PIN_LOGIN, json=body)

    assert first == second == [401] * 5
    assert first_lock.status_code == second_lock.status_code == 429
    assert 800 <= int(first_lock.headers["Retry-After"]) <= 901
    assert 1700 <= int(second_lock.headers["Retry-After"]) <= 1801
    locked = [s for s in await _subjects(gateway, email) if "locked" in s]
    assert locked == ["Wrong PINs locked your CryptoCFD mobile sign-in"] * 2


async def test_pin_login_when_right_after_wrong_tries_starts_the_count_again(
    gateway: Gateway,
) -> None:
    email = _email()
    await gateway.client.post(PIN, headers=await gateway.sign_in(email), json={"pin": "739150"})
    right = {"email": email, "pin": "739150", "device_id": "phone-1"}

    before = await _wrong_tries(gateway, email, "phone-1", 4)
    ok = await gateway.client.post(PIN_LOGIN, json=right)
    after = await _wrong_tries(gateway, email, "phone-1", 4)
    still_ok = await gateway.client.post(PIN_LOGIN, json=right)

    assert before == after == [401] * 4
    assert ok.status_code == still_ok.status_code == 200


async def test_pin_login_when_guessed_from_many_new_devices_stops_them_not_the_owners(
    gateway: Gateway,
) -> None:
    email = _email()
    await gateway.client.post(PIN, headers=await gateway.sign_in(email), json={"pin": "739150"})
    right = {"email": email, "pin": "739150"}
    owners = await gateway.client.post(PIN_LOGIN, json={**right, "device_id": "owners-phone"})

    rotated = [await _wrong_tries(gateway, email, f"new-{n}", 4) for n in range(5)]
    another_new = await gateway.client.post(PIN_LOGIN, json={**right, "device_id": "new-6"})
    owners_again = await gateway.client.post(PIN_LOGIN, json={**right, "device_id": "owners-phone"})

    assert owners.status_code == 200
    assert rotated == [[401] * 4] * 5  # no single device reached its own lock
    assert another_new.status_code == 429
    assert another_new.json()["error"]["code"] == "PIN_LOCKED"
    assert owners_again.status_code == 200
    locked = [s for s in await _subjects(gateway, email) if "locked" in s]
    assert locked == ["Wrong PINs locked your CryptoCFD mobile sign-in"]  # the budget ran out
