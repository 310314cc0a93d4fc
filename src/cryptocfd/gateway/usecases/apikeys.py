"""The caller's API keys: made, listed and revoked by a signed-in user (a session or a token,
never an API key: the routes take none)."""

from __future__ import annotations

import ipaddress

from cryptocfd.core.clock import now_utc
from cryptocfd.gateway.auth import Principal
from cryptocfd.gateway.errors import ApiError
from cryptocfd.gateway.present import iso
from cryptocfd.gateway.resources import Resources
from cryptocfd.gateway.schemas import ApiKeyCreated, ApiKeyOut, ApiKeyRequest, ApiKeysOut
from cryptocfd.gateway.signed import mark_key_revoked
from cryptocfd.identity.apikeys import Scope
from cryptocfd.identity.public_keys import InvalidPublicKey, parse_public_key
from cryptocfd.store.api_keys import (
    IpNetwork,
    TooManyKeys,
    create_key,
    list_keys,
    revoke_key,
    sealer,
)


async def create(resources: Resources, principal: Principal, body: ApiKeyRequest) -> ApiKeyCreated:
    """A new key for the caller: an Ed25519 key for the ``public_key`` given, else an HMAC key
    whose secret is in this answer and nowhere else."""
    scopes = tuple(Scope(name) for name in dict.fromkeys(body.scopes))
    allowlist = tuple(dict.fromkeys(_network(text) for text in body.ip_allowlist))
    public_key = None if body.public_key is None else _public_key(body.public_key)
    try:
        made = await create_key(
            resources.pool,
            sealer(resources.secret),
            principal.user_id,
            body.label,
            scopes,
            allowlist,
            now_utc(resources.clock),
            public_key,
        )
    except TooManyKeys as exc:
        raise ApiError(409, "TOO_MANY_API_KEYS", str(exc)) from exc
    return ApiKeyCreated(made.key_id, made.api_key, made.kind.value, made.secret)


async def listing(resources: Resources, principal: Principal) -> ApiKeysOut:
    """The caller's live keys, with when each last signed a request (to the minute)."""
    keys = await list_keys(resources.pool, principal.user_id)
    return ApiKeysOut(
        [
            ApiKeyOut(
                key_id=key.key_id,
                api_key=key.api_key,
                kind=key.kind.value,
                label=key.label,
                scopes=[scope.value for scope in key.scopes],
                ip_allowlist=[str(network) for network in key.ip_allowlist],
                created_at=iso(key.created_at),
                last_used_at=None if key.last_used_at is None else iso(key.last_used_at),
            )
            for key in keys
        ]
    )


async def revoke(resources: Resources, principal: Principal, key_id: int) -> None:
    """Revoke the caller's key at once, on every gateway; a 404 for another user's key."""
    api_key = await revoke_key(resources.pool, principal.user_id, key_id, now_utc(resources.clock))
    if api_key is None:
        raise ApiError(404, "API_KEY_NOT_FOUND", f"no live API key {key_id} on this account")
    await mark_key_revoked(resources, api_key)


def _public_key(text: str) -> bytes:
    # Well-formed JSON with a key that will not do: 422, as a rule refusing a value is.
    try:
        return parse_public_key(text)
    except InvalidPublicKey as exc:
        raise ApiError(422, "INVALID_PUBLIC_KEY", str(exc)) from exc


def _network(text: str) -> IpNetwork:
    try:
        return ipaddress.ip_network(text.strip(), strict=True)
    except ValueError as exc:
        message = f"ip_allowlist: {text!r} is not an IP address or a network (host bits unset)"
        raise ApiError(400, "INVALID_REQUEST", message) from exc
