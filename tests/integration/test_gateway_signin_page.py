"""Sign-in links that survive mail scanners and cannot be forced on anyone: the confirmation
page, its form, the sealed outbox, and the limits on asking for links. Real app, Redis and
PostgreSQL."""

from __future__ import annotations

import uuid
from pathlib import Path

from redis.asyncio import Redis

from cryptocfd.bus.streams import Streams
from tests.integration.gateway_harness import (
    PUBLIC_URL,
    SAME_ORIGIN,
    VERIFY,
    Gateway,
    confirmation_fields,
    running_gateway,
    token_of,
)

LOGIN = "/api/v1/auth/login"
JSON = {"Accept": "application/json"}


def _email() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@example.com"


async def _link(gateway: Gateway, email: str) -> str:
    answer = await gateway.client.post(LOGIN, json={"email": email})
    assert answer.status_code == 202, answer.text
    return await gateway.link_for(email)


async def test_verify_page_when_fetched_by_get_or_head_never_spends_the_link(
    gateway: Gateway,
) -> None:
    link = await _link(gateway, _email())

    scanned = [await gateway.client.get(link) for _ in range(3)]
    previewed = await gateway.client.head(link)
    spent = await gateway.verify_json(link)

    assert [s.status_code for s in scanned] == [200, 200, 200]
    assert previewed.status_code == 200
    assert all("cfd_session" not in s.headers.get("set-cookie", "") for s in [*scanned, previewed])
    assert spent.status_code == 200, spent.text


async def test_verify_page_when_opened_shows_the_masked_address_and_a_scriptless_form(
    gateway: Gateway,
) -> None:
    email = _email()
    link = await _link(gateway, email)

    page = await gateway.client.get(link)

    assert page.headers["content-type"].startswith("text/html")
    assert f"Sign in as {email[0]}…@example.com" in page.text
    assert email not in page.text
    assert f"<form method='post' action='{VERIFY}'>" in page.text
    assert "<script" not in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "same-origin"
    assert page.headers["cache-control"] == "no-store"
    assert confirmation_fields(page)["token"] == token_of(link)


async def test_verify_form_when_the_page_is_confirmed_signs_in_and_the_link_is_then_spent(
    gateway: Gateway,
) -> None:
    email = _email()
    link = await _link(gateway, email)

    signed_in = await gateway.confirm(link)
    me = await gateway.client.get("/api/v1/auth/me")
    again = await gateway.client.get(link)

    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/"
    assert me.json()["email"] == email
    assert again.status_code == 400
    assert "unknown, used or expired" in again.text


async def test_verify_form_when_posted_by_another_site_is_refused_and_spends_nothing(
    gateway: Gateway,
) -> None:
    attacker = _email()
    link = await _link(gateway, attacker)
    # The attacker opens their own link and copies the form into a page of theirs.
    fields = confirmation_fields(await gateway.client.get(link))
    async with gateway.client_from("198.51.100.20") as victim:
        cross_site = await victim.post(
            VERIFY, data=fields,
            headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        )  # fmt: skip
        # Even same-origin-looking, the victim's browser lacks the cookie the page set.
        no_cookie = await victim.post(VERIFY, data=fields, headers=SAME_ORIGIN)
        just_token = await victim.post(VERIFY, data={"token": token_of(link)})
        victim_me = await victim.get("/api/v1/auth/me")
    own_origin_but_other_site = await gateway.client.post(
        VERIFY, data=fields, headers={"Origin": "https://evil.example"}
    )
    still_works = await gateway.verify_json(link)

    for refused in (cross_site, no_cookie, just_token, own_origin_but_other_site):
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "CONFIRMATION_FAILED"
    assert victim_me.status_code == 401
    assert still_works.status_code == 200


async def test_verify_post_when_json_answers_tokens_in_the_old_get_shape(gateway: Gateway) -> None:
    email = _email()
    link = await _link(gateway, email)

    answer = await gateway.client.post(VERIFY, json={"token": token_of(link)}, headers=JSON)
    wrong = await gateway.client.post(VERIFY, json={"token": "nope"}, headers=JSON)

    assert answer.status_code == 200
    assert set(answer.json()) >= {"access_token", "refresh_token", "expires_in", "user"}
    assert answer.json()["user"]["email"] == email
    assert "set-cookie" not in answer.headers  # an API client gets tokens, never a session
    assert wrong.status_code == 400
    assert wrong.json()["error"]["code"] == "INVALID_LOGIN_LINK"


async def test_verify_json_get_when_still_used_works_and_says_it_is_deprecated(
    gateway: Gateway,
) -> None:
    link = await _link(gateway, _email())

    answer = await gateway.client.get(link, headers=JSON)

    assert answer.status_code == 200
    assert answer.json()["expires_in"] == 900
    assert answer.headers["deprecation"].startswith("@")
    assert answer.headers["sunset"].endswith("GMT")


async def test_login_link_when_queued_is_not_in_the_outbox_in_the_clear(gateway: Gateway) -> None:
    email = _email()
    token = token_of(await _link(gateway, email))

    rows = await gateway.sql("SELECT * FROM email_outbox WHERE recipient = $1", email)
    stored = b"|".join(v if isinstance(v, bytes) else str(v).encode() for v in rows[0].values())

    assert len(rows) == 1
    assert token.encode() not in stored
    assert b"token=" not in stored


async def test_dev_mailbox_when_a_link_was_asked_for_shows_it_opened(gateway: Gateway) -> None:
    email = _email()
    link = await _link(gateway, email)

    page = await gateway.client.get("/dev/mailbox")

    assert f'<a href="{PUBLIC_URL}{link}">' in page.text


async def test_login_when_someone_else_used_up_an_address_still_emails_its_owner(
    gateway: Gateway,
) -> None:
    victim = _email()
    async with gateway.client_from("198.51.100.30") as attacker:
        for _ in range(8):
            assert (await attacker.post(LOGIN, json={"email": victim})).status_code == 202
    before = await gateway.sql(
        "SELECT count(*) AS n FROM email_outbox WHERE recipient = $1", victim
    )

    own = await gateway.client.post(LOGIN, json={"email": victim})
    after = await gateway.sql("SELECT count(*) AS n FROM email_outbox WHERE recipient = $1", victim)
    signed_in = await gateway.verify_json(await gateway.link_for(victim))

    assert own.status_code == 202
    assert before[0]["n"] == 5  # the attacker's share, and no more
    assert after[0]["n"] == 6
    assert signed_in.status_code == 200


async def test_login_when_the_links_were_used_emails_the_owner_again(gateway: Gateway) -> None:
    email = _email()
    for _ in range(6):
        assert (await gateway.verify_json(await _link(gateway, email))).status_code == 200

    emails = await gateway.sql("SELECT count(*) AS n FROM email_outbox WHERE recipient = $1", email)

    assert emails[0]["n"] == 6  # a used link proves the owner asked: it does not count


async def test_login_when_one_address_asks_past_its_hourly_share_of_links_is_429(
    redis_client: Redis, redis_url: str, database_url: str, streams: Streams, tmp_path: Path
) -> None:
    async with running_gateway(
        redis_client, redis_url, database_url, streams, tmp_path, login_links_per_ip_per_hour=3
    ) as gateway:
        answers = [await gateway.client.post(LOGIN, json={"email": _email()}) for _ in range(4)]
        async with gateway.client_from("198.51.100.40") as elsewhere:
            other_ip = await elsewhere.post(LOGIN, json={"email": _email()})

    assert [a.status_code for a in answers] == [202, 202, 202, 429]
    assert answers[3].json()["error"]["code"] == "RATE_LIMITED"
    assert int(answers[3].headers["Retry-After"]) <= 3600
    assert other_ip.status_code == 202


async def test_login_when_the_email_holds_control_characters_is_a_400(gateway: Gateway) -> None:
    answers = [
        await gateway.client.post(LOGIN, json={"email": f"a{c}b@example.com"})
        for c in ("\x00", "\x1b", "\x07", "\x7f")
    ]

    assert [a.status_code for a in answers] == [400] * 4
    assert {a.json()["error"]["code"] for a in answers} == {"INVALID_EMAIL"}


async def test_pin_login_when_the_email_or_device_holds_control_characters_is_a_400(
    gateway: Gateway,
) -> None:
    pin_login = "/api/v1/auth/mobile/pin/login"
    bodies = [
        {"email": "a\x00b@example.com", "pin": "739150", "device_id": "phone-1"},
        {"email": "ab@example.com", "pin": "739150", "device_id": "phone\x00-1"},
        {"email": "ab@example.com", "pin": "739150", "device_id": "phone\x1b[31m"},
    ]

    answers = [await gateway.client.post(pin_login, json=body) for body in bodies]

    assert [a.status_code for a in answers] == [400] * 3
    assert [a.json()["error"]["code"] for a in answers] == [
        "INVALID_EMAIL",
        "INVALID_REQUEST",
        "INVALID_REQUEST",
    ]


async def test_verify_form_when_malformed_is_a_400_not_a_500(gateway: Gateway) -> None:
    garbage = await gateway.client.post(
        VERIFY,
        content=b"\xff\xfe=\x00",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    empty_json = await gateway.client.post(VERIFY, json={}, headers=JSON)

    assert garbage.status_code == 400
    assert garbage.json()["error"]["code"] == "INVALID_REQUEST"
    assert empty_json.status_code == 400
