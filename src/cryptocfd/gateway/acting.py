"""The account a request acts on: the one it names, else the user's active one.

A trade, balance or history request may name ``account=demo|live`` in its query string or
as the JSON body's ``account`` field; naming it in both is allowed only when they agree. A
request that names none acts on the user's active account (``store.active_accounts``). The
answer is the engine account id (``core.accounts``), which every use case reads from the
caller (``Principal.account_id``), so no use case chooses an account itself.

A request signed with an API key acts on the account it names the same way; but the
signature of a POST covers its body, not its query string, so a signed POST names its account
in the body (a query ``account`` there is 400 ``ACCOUNT_NOT_SIGNED``: anyone who saw the
request could otherwise replay it on the other account).

Whether the account exists is the engine's to say: a live account not opened yet is refused
where the engine is first asked about it (``usecases.send.ensure_account``).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence

import msgspec

from cryptocfd.core.accounts import AccountKind, account_id_of
from cryptocfd.gateway.errors import ApiError
from cryptocfd.gateway.resources import Resources
from cryptocfd.store.active_accounts import active_kind
from cryptocfd.store.database import UNAVAILABLE, Db, unreachable
from cryptocfd.trading.queries import GetPortfolio
from cryptocfd.trading.rejections import RejectCode, Rejection

ACCOUNT_FIELD = "account"
_KINDS = {kind.value: kind for kind in AccountKind}


class _Named(msgspec.Struct):
    """The one field of a body this module reads; the rest is the payload's (unknown fields
    and all: the payload's decoder refuses what it does not know)."""

    account: object = None


def kind_named(value: object) -> AccountKind:
    """The account kind ``value`` names, or a 422 ``INVALID_ACCOUNT``."""
    kind = _KINDS.get(value) if isinstance(value, str) else None
    if kind is None:
        raise ApiError(422, "INVALID_ACCOUNT", f"account must be demo or live, not {value!r}")
    return kind


def unsigned_account() -> ApiError:
    """The 400 of a signed POST naming its account in the query, which it does not sign."""
    return ApiError(
        400,
        "ACCOUNT_NOT_SIGNED",
        "a POST signed with an API key names its account in the body, which the signature covers",
    )


def body_account(raw: bytes) -> object:
    """The ``account`` field of a JSON object body (``None`` when absent, or when the body is
    no JSON object: the payload's decoder says what is wrong with it)."""
    try:
        return msgspec.json.decode(raw, type=_Named).account
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None


def named_kind(query: Sequence[str], body: object) -> AccountKind | None:
    """The kind the request names in its query (``account=`` values) and body field, or
    ``None`` when it names none; a 422 ``INVALID_ACCOUNT`` for anything but demo or live and
    ``ACCOUNT_CONFLICT`` when the two places (or two query values) disagree."""
    named = {kind_named(value) for value in query}
    if body is not None:
        named.add(kind_named(body))
    if len(named) > 1:
        raise ApiError(
            422, "ACCOUNT_CONFLICT", "the query and the body name different accounts: name one"
        )
    return named.pop() if named else None


async def acting_account_id(
    db: Db,
    user_id: int,
    query: Sequence[str],
    body: bytes,
    live_open: Callable[[int], Awaitable[bool]],
    *,
    signed_post: bool = False,
) -> int:
    """The engine account ``user_id``'s request acts on: the one its ``query`` values or its
    raw JSON ``body`` name, else their active one (one PostgreSQL read, only when it names
    none); ``signed_post``: a POST signed with an API key, whose query may name nothing.

    Trading must go on while PostgreSQL is away. Without it the active account is unknown,
    but a user whose live account the engine does not hold (``live_open``) has only the demo
    one to act on; for one who has both, the database's error stands (a 503)."""
    if query and signed_post:
        raise unsigned_account()
    kind = named_kind(query, body_account(body) if body else None)
    if kind is None:
        try:
            kind = await active_kind(db, user_id)
        except (*UNAVAILABLE, OSError) as exc:  # type: ignore[misc]  # a tuple of classes
            if isinstance(exc, OSError) and not unreachable(exc):
                raise
            if await live_open(account_id_of(user_id, AccountKind.LIVE)):
                raise
            kind = AccountKind.DEMO
    return account_id_of(user_id, kind)


async def engine_holds(resources: Resources, account_id: int) -> bool:
    """Whether the engine holds ``account_id``; any answer but "no such account" counts as
    yes, so a doubt never picks the demo account for a user who may have chosen live."""
    query = GetPortfolio(f"q:{uuid.uuid4().hex}", account_id, orders=False)
    view = await resources.engine.portfolio(query)
    return not (isinstance(view, Rejection) and view.code is RejectCode.UNKNOWN_ACCOUNT)
