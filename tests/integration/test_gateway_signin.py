"""Sign-in rules: links, tokens, sessions, CSRF, PINs. Real app, Redis and PostgreSQL."""

from __future__ import annotations

import uuid

from cryptocfd.store.keyfiles import server_key
from cryptocfd.store.outbox import open_body
from tests.integration.gateway_harness import PUBLIC_URL, Gateway

LOGIN = "/api/v1/auth/login"
JSON = {"Accept": "application/json"}


def _email() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@example.com"


async def test_login_when_the_address_is_new_or_known_answers_exactly_the_same(
    gateway: Gateway,
) -> None:
    known = _email()
    await gateway.sign_in(known)

    for_known = await gateway.client.post(LOGIN, json={"email": known})
    for_new = await gateway.client.post(LOGIN, json={"email": _email()})

    assert for_known.status_code == for_new.status_code == 202
    assert for_known.content == for_new.content
    assert for_known.headers["content-type"] == for_new.headers["content-type"]


async def test_login_when_asked_six_times_in_an_hour_emails_five_links(gateway: Gateway) -> None:
    email = _email()

    answers = [await gateway.client.post(LOGIN, json={"email": email}) for _ in range(6)]
    emails = await gateway.sql("SELECT count(*) AS n FROM email_outbox WHERE recipient = $1", email)

    assert {a.status_code for a in answers} == {202}
    assert emails[0]["n"] == 5


async def test_login_when_the_email_is_malformed_is_a_400(gateway: Gateway) -> None:
    answer = await gateway.client.post(LOGIN, json={"email": "not-an-address"})

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "INVALID_EMAIL"


async def test_login_token_when_stored_is_only_a_hash(gateway: Gateway) -> None:
    email = _email()
    await gateway.client.post(LOGIN, json={"email": email})
    token = (await gateway.link_for(email)).split("token=")[1]

    rows = await gateway.sql("SELECT token_hash FROM login_tokens WHERE email = $1", email)

    assert len(token) >= 22  # at least 128 bits in URL-safe base64
    assert len(rows) == 1
    assert token.encode() not in bytes(rows[0]["token_hash"])


async def test_verify_when_first_used_gives_tokens_and_opens_a_demo_account(
    gateway: Gateway,
) -> None:
    email = _email()
    await gateway.client.post(LOGIN, json={"email": email})

    answer = await gateway.verify_json(await gateway.link_for(email))
    tokens = answer.json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    me = await gateway.client.get("/api/v1/auth/me", headers=bearer)
    balance = await gateway.client.get("/api/v1/balance", headers=bearer)

    assert answer.status_code == 200
    assert tokens["expires_in"] == 900
    assert tokens["user"] == {"id": me.json()["id"], "email": email}
    assert balance.json()["balance"] == "10000.00"


async def test_verify_when_the_link_is_replayed_is_refused(gateway: Gateway) -> None:
    email = _email()
    await gateway.client.post(LOGIN, json={"email": email})
    link = await gateway.link_for(email)

    first = await gateway.verify_json(link)
    again = await gateway.verify_json(link)

    assert first.status_code == 200
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "INVALID_LOGIN_LINK"


async def test_verify_when_the_link_expired_is_refused(gateway: Gateway) -> None:
    email = _email()
    await gateway.client.post(LOGIN, json={"email": email})
    await gateway.sql(
        "UPDATE login_tokens SET expires_at = now() - interval '1 second' WHERE email = $1", email
    )

    answer = await gateway.verify_json(await gateway.link_for(email))

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "INVALID_LOGIN_LINK"


async def test_refresh_when_used_rotates_and_a_replay_revokes_the_family(
    gateway: Gateway,
) -> None:
    email = _email()
    await gateway.client.post(LOGIN, json={"email": email})
    first = (await gateway.verify_json(await gateway.link_for(email))).json()

    rotated = await gateway.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    replayed = await gateway.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    after_replay = await gateway.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": rotated.json()["refresh_token"]}
    )
    access = {"Authorization": f"Bearer {rotated.json()['access_token']}"}
    me = await gateway.client.get("/api/v1/auth/me", headers=access)

    assert rotated.status_code == 200
    assert rotated.json()["refresh_token"] != first["refresh_token"]
    assert replayed.status_code == 401
    assert replayed.json()["error"]["code"] == "INVALID_REFRESH_TOKEN"
    assert after_replay.status_code == 401  # the whole family went with the stolen token
    assert me.status_code == 401


async def test_logout_when_bearer_revokes_the_access_and_refresh_tokens(gateway: Gateway) -> None:
    email = _email()
    await gateway.client.post(LOGIN, json={"email": email})
    tokens = (await gateway.verify_json(await gateway.link_for(email))).json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}

    out = await gateway.client.post("/api/v1/auth/logout", headers=bearer)
    me = await gateway.client.get("/api/v1/auth/me", headers=bearer)
    refresh = await gateway.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )

    assert out.status_code == 204
    assert me.status_code == 401
    assert refresh.status_code == 401


async def test_verify_when_a_browser_follows_the_link_sets_a_safe_session_cookie(
    gateway: Gateway,
) -> None:
    email = _email()
    await gateway.client.post(LOGIN, json={"email": email})

    answer = await gateway.confirm(await gateway.link_for(email))

    assert answer.status_code == 303
    assert answer.headers["location"] == "/"
    cookies = {c.split("=", 1)[0]: c for c in answer.headers.get_list("set-cookie")}
    session = cookies["cfd_session"].lower()
    assert "httponly" in session
    assert "samesite=lax" in session
    assert "secure" not in session  # plain HTTP on a local address; Secure everywhere else
    assert "httponly" not in cookies["cfd_csrf"].lower()  # the page reads it for X-CSRF-Token
    me = await gateway.client.get("/api/v1/auth/me")
    assert me.json()["email"] == email


async def test_cookie_write_when_the_csrf_token_is_missing_or_wrong_is_forbidden(
    gateway: Gateway,
) -> None:
    email = _email()
    await gateway.client.post(LOGIN, json={"email": email})
    await gateway.confirm(await gateway.link_for(email))
    csrf = gateway.client.cookies["cfd_csrf"]
    await gateway.tick("BTC", 6_400_000, 6_401_000)
    order = {"asset": "BTC", "side": "long", "margin": "10", "leverage": 2}

    missing = await gateway.client.post("/api/v1/trade/create", json=order)
    wrong = await gateway.client.post(
        "/api/v1/trade/create", json=order, headers={"X-CSRF-Token": csrf[:-2] + "xx"}
    )
    right = await gateway.client.post(
        "/api/v1/trade/create", json=order, headers={"X-CSRF-Token": csrf}
    )
    read = await gateway.client.get("/api/v1/trade/open")

    assert missing.status_code == wrong.status_code == 403
    assert missing.json()["error"]["code"] == "CSRF_FAILED"
    assert right.status_code == 200
    assert len(read.json()["positions"]) == 1  # reads need no CSRF token, and only one opened


async def test_verify_when_a_session_id_was_planted_issues_a_fresh_one_and_ends_the_old(
    gateway: Gateway,
) -> None:
    attacker = _email()
    await gateway.client.post(LOGIN, json={"email": attacker})
    await gateway.confirm(await gateway.link_for(attacker))
    planted = gateway.client.cookies["cfd_session"]  # the attacker's own, fixed on the victim
    victim = _email()
    await gateway.client.post(LOGIN, json={"email": victim})

    await gateway.confirm(await gateway.link_for(victim))
    fresh = gateway.client.cookies["cfd_session"]
    gateway.client.cookies.clear()
    with_planted = await gateway.client.get(
        "/api/v1/auth/me", headers={"Cookie": f"cfd_session={planted}"}
    )
    with_fresh = await gateway.client.get(
        "/api/v1/auth/me", headers={"Cookie": f"cfd_session={fresh}"}
    )

    assert fresh != planted
    assert with_planted.status_code == 401
    assert with_fresh.json()["email"] == victim


async def _pin_user(gateway: Gateway, pin: str = "739150") -> tuple[str, dict[str, str]]:
    email = _email()
    bearer = await gateway.sign_in(email)
    answer = await gateway.client.post("/api/v1/auth/mobile/pin", headers=bearer, json={"pin": pin})
    assert answer.status_code == 204, answer.text
    return email, bearer


async def test_set_pin_when_common_or_malformed_is_refused(gateway: Gateway) -> None:
    bearer = await gateway.sign_in(_email())

    common = await gateway.client.post(
        "/api/v1/auth/mobile/pin", headers=bearer, json={"pin": "123456"}
    )
    short = await gateway.client.post("/api/v1/auth/mobile/pin", headers=bearer, json={"pin": "12"})

    assert common.json()["error"]["code"] == "PIN_TOO_COMMON"
    assert short.json()["error"]["code"] == "INVALID_PIN"


async def test_pin_when_stored_is_an_argon2id_hash(gateway: Gateway) -> None:
    email, _ = await _pin_user(gateway)

    rows = await gateway.sql(
        "SELECT pin_hash FROM mobile_pins JOIN users ON users.id = user_id WHERE email = $1", email
    )

    assert rows[0]["pin_hash"].startswith("$argon2id$")
    assert "739150" not in rows[0]["pin_hash"]


async def test_pin_login_when_right_gives_tokens_bound_to_the_device(gateway: Gateway) -> None:
    email, _ = await _pin_user(gateway)

    answer = await gateway.client.post(
        "/api/v1/auth/mobile/pin/login",
        json={"email": email, "pin": "739150", "device_id": "phone-1"},
    )
    rows = await gateway.sql(
        "SELECT device_id FROM refresh_tokens JOIN users ON users.id = user_id"
        " WHERE email = $1 AND device_id IS NOT NULL",
        email,
    )

    assert answer.status_code == 200
    assert answer.json()["user"]["email"] == email
    assert [r["device_id"] for r in rows] == ["phone-1"]


async def test_pin_login_when_wrong_five_times_locks_even_the_right_pin(gateway: Gateway) -> None:
    email, _ = await _pin_user(gateway)
    wrong = {"email": email, "pin": "284617", "device_id": "phone-1"}

    misses = [
        await gateway.client.post("/api/v1/auth/mobile/pin/login", json=wrong) for _ in range(5)
    ]
    right = await gateway.client.post(
        "/api/v1/auth/mobile/pin/login",
        json={"email": email, "pin": "739150", "device_id": "phone-1"},
    )

    assert [m.status_code for m in misses] == [401] * 5
    assert {m.json()["error"]["code"] for m in misses} == {"INVALID_CREDENTIALS"}
    assert right.status_code == 429
    assert right.json()["error"]["code"] == "PIN_LOCKED"
    assert 800 <= int(right.headers["Retry-After"]) <= 901


async def test_pin_login_when_the_email_is_unknown_looks_like_a_wrong_pin(gateway: Gateway) -> None:
    answer = await gateway.client.post(
        "/api/v1/auth/mobile/pin/login",
        json={"email": _email(), "pin": "739150", "device_id": "phone-1"},
    )

    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "INVALID_CREDENTIALS"


async def test_delete_pin_when_signed_in_on_a_device_revokes_that_device(gateway: Gateway) -> None:
    email, bearer = await _pin_user(gateway)
    device = (
        await gateway.client.post(
            "/api/v1/auth/mobile/pin/login",
            json={"email": email, "pin": "739150", "device_id": "phone-1"},
        )
    ).json()
    device_bearer = {"Authorization": f"Bearer {device['access_token']}"}

    removed = await gateway.client.delete("/api/v1/auth/mobile/pin", headers=bearer)
    device_me = await gateway.client.get("/api/v1/auth/me", headers=device_bearer)
    web_me = await gateway.client.get("/api/v1/auth/me", headers=bearer)
    pin_again = await gateway.client.post(
        "/api/v1/auth/mobile/pin/login",
        json={"email": email, "pin": "739150", "device_id": "phone-1"},
    )

    assert removed.status_code == 204
    assert device_me.status_code == 401
    assert web_me.status_code == 200  # the email sign-in was not a PIN sign-in
    assert pin_again.status_code == 401


async def test_private_route_when_not_signed_in_is_401_with_a_code(gateway: Gateway) -> None:
    answers = [
        await gateway.client.get("/api/v1/balance"),
        await gateway.client.get("/api/v1/trade/open"),
        await gateway.client.get("/api/v1/balance", headers={"Authorization": "Bearer nope"}),
        await gateway.client.get("/api/v1/balance", headers={"Authorization": "Basic eDp5"}),
    ]

    assert [a.status_code for a in answers] == [401] * 4
    assert {a.json()["error"]["code"] for a in answers} == {"UNAUTHENTICATED"}


async def test_public_url_when_on_localhost_is_what_links_point_at(gateway: Gateway) -> None:
    email = _email()
    await gateway.client.post(LOGIN, json={"email": email})

    rows = await gateway.sql("SELECT sealed_body FROM email_outbox WHERE recipient = $1", email)
    body = open_body(server_key(gateway.settings), email, rows[0]["sealed_body"])

    assert f"{PUBLIC_URL}/api/v1/auth/verify?token=" in body


async def test_tokens_when_they_hold_non_ascii_bytes_are_refused_not_500(gateway: Gateway) -> None:
    email = _email()
    await gateway.client.post(LOGIN, json={"email": email})
    await gateway.confirm(await gateway.link_for(email))

    bearer = await gateway.client.get(
        "/api/v1/auth/me", headers={b"Authorization": b"Bearer v1.abc.\xe9\xe9"}
    )
    csrf = await gateway.client.post(
        "/api/v1/trade/cancel", json={"order_id": 1}, headers={b"X-CSRF-Token": b"\xe9"}
    )

    assert bearer.status_code == 401
    assert csrf.status_code == 403


async def test_set_pin_when_changed_revokes_what_the_old_pin_signed_in(gateway: Gateway) -> None:
    email, bearer = await _pin_user(gateway)
    device = (
        await gateway.client.post(
            "/api/v1/auth/mobile/pin/login",
            json={"email": email, "pin": "739150", "device_id": "phone-1"},
        )
    ).json()

    changed = await gateway.client.post(
        "/api/v1/auth/mobile/pin", headers=bearer, json={"pin": "284617"}
    )
    old_device = await gateway.client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {device['access_token']}"}
    )
    refresh = await gateway.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": device["refresh_token"]}
    )

    assert changed.status_code == 204
    assert old_device.status_code == 401
    assert refresh.status_code == 401


async def test_closed_history_when_the_cursor_is_forged_is_a_400(gateway: Gateway) -> None:
    headers = await gateway.sign_in(_email())

    answers = [
        await gateway.client.get("/api/v1/trade/closed", headers=headers, params={"cursor": cursor})
        for cursor in ("k88AAAAAAAAAAKEAAA", "not-a-cursor")  # the first holds a NUL record id
    ]

    assert [a.status_code for a in answers] == [400, 400]
    assert {a.json()["error"]["code"] for a in answers} == {"INVALID_CURSOR"}
