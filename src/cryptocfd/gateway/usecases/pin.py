"""The mobile PIN: setting, changing and removing it, and signing in on a device with it.

Setting or removing a PIN needs a fresh sign-in by link or the current PIN, so a leaked access
token cannot become a PIN; the owner is emailed each time. Wrong PINs lock per address and
device (``gateway.pinlock``), the same for every address.
"""

from __future__ import annotations

import asyncio
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from cryptocfd.gateway.auth import Principal, mark_family_revoked
from cryptocfd.gateway.errors import ApiError
from cryptocfd.gateway.pinlock import CHANGE, PinAttempt
from cryptocfd.gateway.ratelimit import hit
from cryptocfd.gateway.resources import Resources
from cryptocfd.gateway.schemas import PinLoginRequest, PinRequest, TokensOut
from cryptocfd.gateway.usecases.signin import email_of, issue_tokens, notify
from cryptocfd.identity.pins import PinRefused, check_pin
from cryptocfd.identity.tokens import is_fresh
from cryptocfd.store.credentials import device_families, revoke_family, signed_in_device
from cryptocfd.store.pins import pin_hash_of, remove_pin, set_pin
from cryptocfd.store.users import User, user_by_email, user_by_id

_hasher = PasswordHasher()  # argon2id with the library's current recommended cost
# Verified against when there is no PIN to check, so a miss costs what a wrong PIN costs.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


async def set_mobile_pin(resources: Resources, principal: Principal, body: PinRequest) -> None:
    """Set or change the PIN, email the owner, and sign out the devices the old one signed in
    (it may have been changed because it leaked)."""
    try:
        pin = check_pin(body.pin)
    except PinRefused as exc:
        raise ApiError(400, exc.code, str(exc)) from exc
    user = await _fresh_or_current_pin(resources, principal, body.current_pin)
    async with resources.pool.acquire() as conn, conn.transaction():
        replaced = await set_pin(conn, user.id, await hash_pin(pin))
        await notify(resources, conn, user.email, *pin_set_email(replaced=replaced))
    await _revoke_devices(resources, principal.user_id)


async def remove_mobile_pin(
    resources: Resources, principal: Principal, current_pin: str | None
) -> None:
    """Remove the PIN and revoke every token a PIN sign-in issued; the owner is emailed."""
    user = await _fresh_or_current_pin(resources, principal, current_pin)
    async with resources.pool.acquire() as conn, conn.transaction():
        if await remove_pin(conn, user.id):
            await notify(resources, conn, user.email, *pin_email("removed"))
    await _revoke_devices(resources, user.id)


async def pin_login(resources: Resources, body: PinLoginRequest, ip: str) -> TokensOut:
    """Tokens bound to the device, for the right PIN; a lock after too many wrong ones."""
    ip_key = f"{resources.prefix}rl:pin-ip:{ip}"
    await hit(resources.redis, ip_key, resources.settings.logins_per_ip_per_min, resources.clock)
    email = email_of(body.email)
    user = await user_by_email(resources.pool, email)
    known = user is not None and await signed_in_device(resources.pool, user.id, body.device_id)
    attempt = PinAttempt(resources, email, body.device_id, known_device=known)
    await attempt.begin()
    pin_hash = None if user is None else await pin_hash_of(resources.pool, user.id)
    # Checked even with no PIN to check (against a dummy hash): a miss takes the same time.
    if await pin_matches(pin_hash, body.pin) and user is not None:
        await attempt.succeeded()
        return await issue_tokens(resources, resources.pool, user, device_id=body.device_id)
    if await attempt.failed() and user is not None:
        async with resources.pool.acquire() as conn:
            await notify(resources, conn, email, *pin_locked_email())
    raise invalid_credentials()


async def _fresh_or_current_pin(
    resources: Resources, principal: Principal, current_pin: str | None
) -> User:
    """The caller, if their sign-in by link is fresh or ``current_pin`` is their PIN; else a
    403 (so a leaked access token can neither set nor remove a PIN)."""
    user = await user_by_id(resources.pool, principal.user_id)
    if user is None:
        raise ApiError(401, "UNAUTHENTICATED", "no such user")
    if not is_fresh(principal.signed_in_at_ms, resources.clock.now_ms()):
        await _check_current_pin(resources, user, current_pin)
    return user


async def _check_current_pin(resources: Resources, user: User, current_pin: str | None) -> None:
    """Pass when ``current_pin`` is the user's PIN (tries count like sign-in tries); else 403."""
    refused = ApiError(
        403, "FRESH_SIGN_IN_REQUIRED",
        "to set, change or remove the PIN, sign in by email link again (it counts for 5"
        " minutes) or give the current PIN as current_pin",
    )  # fmt: skip
    if current_pin is None:
        raise refused
    attempt = PinAttempt(resources, user.email, CHANGE)
    await attempt.begin()
    if await pin_matches(await pin_hash_of(resources.pool, user.id), current_pin):
        await attempt.succeeded()
        return
    await attempt.failed()
    raise refused


async def _revoke_devices(resources: Resources, user_id: int) -> None:
    for family in await device_families(resources.pool, user_id):
        await revoke_family(resources.pool, family)
        await mark_family_revoked(resources, family)


async def hash_pin(pin: str) -> str:
    """The argon2id hash of a PIN (computed off the event loop)."""
    return await asyncio.to_thread(_hasher.hash, pin)


async def pin_matches(pin_hash: str | None, pin: str) -> bool:
    """Whether ``pin`` matches; with no hash it still spends the time a check takes."""
    try:
        await asyncio.to_thread(_hasher.verify, pin_hash or _DUMMY_HASH, pin)
    except (VerificationError, InvalidHashError):
        return False
    return pin_hash is not None


def invalid_credentials() -> ApiError:
    """The one answer for an unknown email, a missing PIN and a wrong PIN."""
    return ApiError(401, "INVALID_CREDENTIALS", "wrong email or PIN")


def pin_set_email(*, replaced: bool) -> tuple[str, str]:
    """The subject and body telling the owner their PIN was set or changed."""
    return pin_email("changed" if replaced else "set")


def pin_email(what: str) -> tuple[str, str]:
    """The subject and body telling the owner their PIN was ``what`` (set, changed, removed)."""
    return (
        f"Your CryptoCFD mobile PIN was {what}",
        f"The mobile PIN of your CryptoCFD account was just {what}, and every device signed in "
        "with a PIN before was signed out.\n\n"
        "If this was not you, sign in by email link at once and set, change or remove the PIN.\n",
    )


def pin_locked_email() -> tuple[str, str]:
    """The subject and body telling the owner wrong PINs locked a device.

    The device is not named: its id is the client's to choose, so it is an attacker's text."""
    return (
        "Wrong PINs locked your CryptoCFD mobile sign-in",
        "Wrong PINs were tried for your CryptoCFD account, so PIN sign-in from the device they "
        "were tried on (or from any device new to your account, when many were tried) is "
        "locked for a while, longer each time it happens again.\n\n"
        "If this was not you, someone is guessing your PIN: change it after signing in by "
        "email link. The devices you signed in on with your PIN are not locked.\n",
    )
