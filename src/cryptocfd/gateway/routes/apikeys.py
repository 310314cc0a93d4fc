"""``/account/api-keys``: a signed-in user's keys for signed requests."""

from __future__ import annotations

from typing import Annotated

from litestar import delete, get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from cryptocfd.gateway.deps import PER_USER_LIMIT, Caller, Payload, ResourcesDep
from cryptocfd.gateway.schemas import ApiKeyCreated, ApiKeyRequest, ApiKeysOut
from cryptocfd.gateway.usecases import apikeys

# No API_SCOPE in their opt: a key can neither make nor revoke keys.
LIMITED = {PER_USER_LIMIT: True}
KeyId = Annotated[int, Parameter(ge=1, le=2**53, description="key_id from the list")]


@post("/account/api-keys", status_code=HTTP_201_CREATED, opt=LIMITED, summary="Make an API key")
async def create_key(
    resources: ResourcesDep, principal: Caller, payload: Payload[ApiKeyRequest]
) -> ApiKeyCreated:
    """Scopes ``read`` and ``trade`` (no scope moves money); at most 20 live keys a user.

    Without ``public_key``, an HMAC key: its ``secret`` is in this answer only, copy it now.
    With an Ed25519 ``public_key`` (PEM or the base64 of its 32 bytes), a key that signs with
    its private half: no secret exists, and a key that is not Ed25519 is 422
    ``INVALID_PUBLIC_KEY``.
    """
    return await apikeys.create(resources, principal, payload)


@get("/account/api-keys", summary="List the API keys")
async def list_keys(resources: ResourcesDep, principal: Caller) -> ApiKeysOut:
    """Live keys with their scopes, allowlists and last use; never a secret."""
    return await apikeys.listing(resources, principal)


@delete(
    "/account/api-keys/{key_id:int}",
    status_code=HTTP_204_NO_CONTENT,
    opt=LIMITED,
    summary="Revoke an API key",
)
async def revoke_key(resources: ResourcesDep, principal: Caller, key_id: KeyId) -> None:
    """Requests signed with it are refused from now on, on every gateway."""
    await apikeys.revoke(resources, principal, key_id)


ROUTES = [create_key, list_keys, revoke_key]
