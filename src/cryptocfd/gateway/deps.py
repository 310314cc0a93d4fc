"""What a handler may receive, declared once: each name here is a typed parameter Litestar fills.

- ``resources: ResourcesDep``: the process's connections, keys, assets and clock;
- ``principal: Caller``: the signed-in caller (on the signed-in routes only); on a route
  that acts on an account (``ON_ACCOUNT``, in ``ACCOUNT_READS`` and ``ACCOUNT_TRADES``) its
  ``account_id`` is the one the request names or the user's active one (``gateway.acting``);
- ``payload: Payload[X]``: the request body, decoded exactly into the struct ``X`` it names
  (``X | None`` for an optional one); the OpenAPI document reads the same type;
- ``key: IdempotencyKey``: the client's ``Idempotency-Key`` header, if any;
- ``client_ip: ClientIp``: the client as the per-IP limits count it (an IPv6 address's /64);
- ``client_addr: ClientAddr``: the client's own address, as the audit trail records it;
- ``operator: OperatorCaller``: the operator calling a back-office route (those routes only).

Every back-office route sits in the router ``back_office`` makes, whose guard lets in only an
operator (a role, and a session or token a TOTP code raised): a guard runs for every route of
its router whatever the handler names, so no admin route can forget it, and it runs before
any body is read.

The providers form a chain, resources → principal → payload, never a batch: Litestar resolves
independent dependencies in a task group (a task each) and a chain one after another in the
request's own task, which is cheaper on every request; and a body is read only once its sender
is known, so a stranger gets the 401, never a body's 400.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeAlias, TypeVar

import msgspec
from litestar import Request, Router
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency, Provide
from litestar.handlers import BaseRouteHandler
from litestar.params import HeaderParameter
from litestar.types import ControllerRouterHandler, Guard, Scope

from cryptocfd.gateway.acting import ACCOUNT_FIELD, acting_account_id, engine_holds
from cryptocfd.gateway.auth import (
    ALL_ROLES,
    CSRF_HEADER,
    SAFE_METHODS,
    SESSION_COOKIE,
    Bearer,
    Credential,
    Operator,
    Principal,
    Session,
    authenticate,
    authorize_operator,
    unauthenticated,
)
from cryptocfd.gateway.body import MAX_BODY_BYTES, OrderId, decode_hook
from cryptocfd.gateway.errors import ApiError
from cryptocfd.gateway.perip import client_key, scope_ip
from cryptocfd.gateway.ratelimit import RATE_WINDOW
from cryptocfd.gateway.resources import Resources
from cryptocfd.identity.apikeys import (
    HEADER_KEY,
    HEADER_RECV_WINDOW,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    Signed,
)
from cryptocfd.identity.apikeys import Scope as ApiScope

T = TypeVar("T")

RESOURCES = "resources"
PRINCIPAL = "principal"
PAYLOAD = "payload"
PER_USER_LIMIT = "per_user_limit"  # handler opt: count the request against the user's limit
API_SCOPE = "api_scope"  # handler opt: the API key scope it takes (absent: no API key at all)
READS = {API_SCOPE: ApiScope.READ}
"""The opt of a signed-in read an API key with the ``read`` scope may make."""
TRADES = {API_SCOPE: ApiScope.TRADE, PER_USER_LIMIT: True}
"""The opt of a trading write: an API key needs the ``trade`` scope, and it counts against
the user's limit."""
ON_ACCOUNT = "on_account"  # handler opt: it acts on the demo or live account (``gateway.acting``)
ACCOUNT_READS = {**READS, ON_ACCOUNT: True}
"""The opt of a read of the account the request names (default: the user's active one)."""
ACCOUNT_TRADES = {**TRADES, ON_ACCOUNT: True}
"""The opt of a trading write on the account the request names (default: the active one)."""
CLIENT_IP = "client_ip"
CLIENT_ADDR = "client_addr"
OPERATOR = "operator"
ROLES = "roles"  # back-office handler opt: the roles that may call it (absent: any role)
RAW_BODY = "raw_body"  # handler opt: the JSON body a handler that reads its own documents
FORM_BODY = "form_body"  # handler opt: the JSON Schema of a multipart form a handler reads
IDEMPOTENCY_HEADER = "idempotency-key"

ResourcesDep = NamedDependency[Resources]
"""A handler parameter ``resources: ResourcesDep`` receives the process's resources."""

Payload: TypeAlias = NamedDependency[T]
"""A handler parameter ``payload: Payload[X]`` receives the body decoded into ``X``."""

Caller = NamedDependency[Principal]
"""A handler parameter ``principal: Caller`` receives the signed-in caller."""

OperatorCaller = NamedDependency[Operator]
"""A back-office handler parameter ``operator: OperatorCaller`` receives the operator."""

ClientIp = NamedDependency[str]
"""A handler parameter ``client_ip: ClientIp`` receives the client's per-IP key."""

ClientAddr = NamedDependency[str]
"""A handler parameter ``client_addr: ClientAddr`` receives the client's address."""

IdempotencyKey = Annotated[
    str | None, HeaderParameter(name=IDEMPOTENCY_HEADER, required=False, include_in_schema=False)
]
"""A handler parameter ``key: IdempotencyKey = None`` receives the ``Idempotency-Key`` header
(its rules are the request id's, ``usecases.calls.request_id``; described in the operations'
text)."""


class ResourcesSlot:
    """The resources the app's lifespan opened, handed to every handler that names them."""

    def __init__(self) -> None:
        self._resources: Resources | None = None

    def fill(self, resources: Resources | None) -> None:
        """Hold ``resources`` (``None`` when the lifespan closes them)."""
        self._resources = resources

    def __call__(self) -> Resources:
        """The open resources."""
        if self._resources is None:
            raise RuntimeError("the gateway's resources are not open (outside its lifespan)")
        return self._resources


def provide_client_ip(scope: Scope) -> str:
    """The client's address as every per-IP limit counts it."""
    return client_key(scope_ip(scope))


def provide_client_addr(scope: Scope) -> str:
    """The client's address itself (a trusted proxy's forwarded one, ``main.py``)."""
    return scope_ip(scope)


# The raw request, in the providers below: the credential is in its headers and cookies,
# the body is its bytes, and its route handler says what the body is.
async def provide_principal(request: Request[Any, Any, Any], resources: ResourcesDep) -> Principal:
    """The caller, or a 401 (403 for a cookie write without its CSRF token, or an API key on
    a route it may not use)."""
    opt = request.route_handler.opt
    principal = await authenticate(
        resources,
        await credential_of(request),
        per_user_limit=bool(opt.get(PER_USER_LIMIT)),
        scope=opt.get(API_SCOPE),
    )
    if principal.window is not None:  # the answer reports the per-user limit (edge.Edge)
        request.scope["state"][RATE_WINDOW] = principal.window
    if opt.get(ON_ACCOUNT):
        return await on_account(request, resources, principal)
    return principal


async def on_account(
    request: Request[Any, Any, Any], resources: Resources, principal: Principal
) -> Principal:
    """``principal`` acting on the account the request names in its query or JSON body, else
    on the user's active one (``gateway.acting``)."""
    body = b""  # read only if the payload's decoder would: it says what is wrong with it
    if request.method not in SAFE_METHODS:
        raw = await request.body()  # Litestar keeps it: the payload provider reads it again
        if len(raw) <= MAX_BODY_BYTES and not _too_deep(raw):
            body = raw
    query = request.query_params.getall(ACCOUNT_FIELD, [])
    signed_post = principal.key_id is not None and request.method not in SAFE_METHODS
    account_id = await acting_account_id(
        resources.pool,
        principal.user_id,
        query,
        body,
        lambda live: engine_holds(resources, live),
        signed_post=signed_post,
    )
    return msgspec.structs.replace(principal, account_id=account_id)


async def credential_of(request: Request[Any, Any, Any]) -> Credential:
    """What the request signs in with: an API key's signature, a bearer token or a session
    cookie, in that order; a 401 for none."""
    api_key = request.headers.get(HEADER_KEY)
    if api_key is not None:
        return await signed_credential(request, api_key)
    return token_or_session(request)


def token_or_session(request: ASGIConnection[Any, Any, Any, Any]) -> Bearer | Session:
    """The bearer token or session cookie the request signs in with; a 401 for neither."""
    authorization = request.headers.get("authorization", "")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthenticated("expected Authorization: Bearer <access token>")
        return Bearer(token.strip())
    sid = request.cookies.get(SESSION_COOKIE)
    if sid:
        method = request.scope.get("method", "GET")
        csrf = None if method in SAFE_METHODS else request.headers.get(CSRF_HEADER, "")
        return Session(sid, csrf)
    raise unauthenticated("sign in first: a bearer token, a session cookie or an API key")


async def signed_credential(request: Request[Any, Any, Any], api_key: str) -> Signed:
    """A signed request's headers, and what its signature covers: the raw query string of a
    GET or DELETE, the raw body of anything else."""
    method = request.method
    if method in ("GET", "HEAD", "DELETE"):
        payload = bytes(request.scope.get("query_string", b""))
    else:
        payload = await request.body()  # Litestar keeps it: the payload provider reads it again
    headers = request.headers
    return Signed(
        api_key=api_key,
        timestamp=headers.get(HEADER_TIMESTAMP, ""),
        recv_window=headers.get(HEADER_RECV_WINDOW),
        signature=headers.get(HEADER_SIGNATURE, ""),
        payload=payload,
        client_ip=scope_ip(request.scope),
    )


async def provide_payload(request: Request[Any, Any, Any]) -> Any:
    """The body, decoded into the handler's ``payload`` type, or a 400 (413 when too big)."""
    return _payload(request.route_handler, await request.body())


async def provide_signed_payload(request: Request[Any, Any, Any], principal: Caller) -> Any:
    """``provide_payload``, after the caller is known (naming ``principal`` orders the two)."""
    del principal
    return _payload(request.route_handler, await request.body())


def _payload(handler: BaseRouteHandler, raw: bytes) -> Any:
    struct, optional = payload_type(handler)
    if optional and not raw:
        return None
    return decode_body(raw, struct)


# By the handler's function: Litestar copies a handler into each app, the function stays one.
_payloads: dict[object, tuple[type[Any], bool]] = {}


def payload_type(handler: BaseRouteHandler) -> tuple[type[Any], bool]:
    """The struct ``handler``'s ``payload`` parameter names, and whether it may be absent."""
    found = _payloads.get(handler.fn)
    if found is None:
        field = handler.parsed_fn_signature.parameters[PAYLOAD]
        inner = [t.annotation for t in field.inner_types if not t.is_none_type]
        struct = inner[0] if field.is_optional else field.annotation
        found = _payloads[handler.fn] = (struct, field.is_optional)
    return found


_decoders: dict[type[Any], msgspec.json.Decoder[Any]] = {}


def decode_body(raw: bytes, struct: type[T]) -> T:
    """``raw`` decoded into ``struct``, or a 400 saying what is wrong (413 when too big)."""
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, "BODY_TOO_LARGE", f"bodies are at most {MAX_BODY_BYTES} bytes")
    if _too_deep(raw):
        raise ApiError(400, "INVALID_JSON", f"the body is nested more than {MAX_NESTING} deep")
    decoder = _decoders.get(struct)
    if decoder is None:
        decoder = _decoders[struct] = msgspec.json.Decoder(struct, dec_hook=decode_hook)
    try:
        value: T = decoder.decode(raw)
    except msgspec.ValidationError as exc:
        raise ApiError(400, "INVALID_REQUEST", str(exc)) from exc
    except msgspec.DecodeError as exc:
        raise ApiError(400, "INVALID_JSON", f"the body is not valid JSON: {exc}") from exc
    except RecursionError as exc:  # msgspec recurses once per nesting level of arrays/objects
        raise ApiError(400, "INVALID_JSON", "the body is nested too deeply") from exc
    return _plain(value)


# No body of ours nests this deep. msgspec's own bound is the interpreter's recursion limit,
# which a library may raise (hypothesis does while it runs), so the refusal would depend on
# what ran before; this bound does not.
MAX_NESTING = 32
_JSON_NESTING = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[{]|[\]}]')


def _too_deep(raw: bytes) -> bool:
    """Whether ``raw`` opens more than ``MAX_NESTING`` arrays or objects inside each other
    (brackets inside strings do not count)."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_NESTING:  # every real body: no scan
        return False
    depth = 0
    for token in _JSON_NESTING.finditer(raw):
        mark = token.group()
        if mark in (b"[", b"{"):
            depth += 1
            if depth > MAX_NESTING:
                return True
        elif mark in (b"]", b"}"):
            depth -= 1
    return False


def _plain(value: T) -> T:
    """``value`` with each ``OrderId`` a plain ``int`` again, which every encoder takes."""
    ids = {
        name: int(field)
        for name in value.__struct_fields__  # type: ignore[attr-defined]
        if isinstance(field := getattr(value, name), OrderId)
    }
    return msgspec.structs.replace(value, **ids) if ids else value  # type: ignore[type-var]


def public_dependencies(slot: ResourcesSlot) -> dict[str, Provide]:
    """What every handler may name."""
    return {
        RESOURCES: Provide(slot, sync_to_thread=False),
        PAYLOAD: Provide(provide_payload),
        CLIENT_IP: Provide(provide_client_ip, sync_to_thread=False),
        CLIENT_ADDR: Provide(provide_client_addr, sync_to_thread=False),
    }


def signed_in_dependencies() -> dict[str, Provide]:
    """What the signed-in routes add: the caller, and their bodies read after it."""
    return {PRINCIPAL: Provide(provide_principal), PAYLOAD: Provide(provide_signed_payload)}


def back_office(slot: ResourcesSlot, handlers: list[ControllerRouterHandler]) -> Router:
    """The ``/admin`` router of ``handlers``, each behind the operator's guard."""
    return Router(
        "/admin",
        route_handlers=handlers,
        guards=[operator_guard(slot)],
        # Bodies come from the public provider: the guard has already let the caller in.
        dependencies={OPERATOR: Provide(provide_operator, sync_to_thread=False)},
    )


def operator_guard(slot: ResourcesSlot) -> Guard:
    """The guard of every back-office route: an operator passes, with the roles the route's
    ``ROLES`` opt names; anyone else gets the 401 or 403 that says why."""

    async def require_operator(
        connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
    ) -> None:
        if HEADER_KEY in connection.headers:  # refused unread: no signature is even checked
            message = "the back office takes a signed-in session or token, never an API key"
            raise ApiError(403, "API_KEY_NOT_ALLOWED", message)
        resources = slot()
        principal = await authenticate(resources, token_or_session(connection))
        allowed = handler.opt.get(ROLES, ALL_ROLES)
        operator = await authorize_operator(
            resources, principal, scope_ip(connection.scope), allowed
        )
        connection.scope["state"][OPERATOR] = operator

    return require_operator


def provide_operator(request: Request[Any, Any, Any]) -> Operator:
    """The operator the guard let in."""
    operator = request.scope["state"].get(OPERATOR)
    # Only ``back_office`` provides this name, and its guard ran first.
    assert isinstance(operator, Operator), "a back-office handler outside the back office"
    return operator
