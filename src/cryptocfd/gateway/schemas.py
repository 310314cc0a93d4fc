"""The API's shapes: request bodies and responses, apart from the engine's own types.

Amounts, prices and quantities leave as decimal strings at their scale; times as ISO 8601
UTC strings. Request bodies forbid unknown fields, so a typo is an error, not a silent no-op.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from cryptocfd.gateway.body import NO_AMOUNT, Amount, OptionalAmount, OrderId
from cryptocfd.identity.emails import MAX_EMAIL_CHARS

Money = Annotated[str, Meta(description="US dollars, two decimals", examples=["10000.00"])]
Price = Annotated[str, Meta(description="A price at the asset's decimals", examples=["64250.50"])]
Quantity = Annotated[str, Meta(description="Units of the asset, eight decimals")]
Timestamp = Annotated[str, Meta(description="ISO 8601, UTC", examples=["2026-11-25T10:00:00.000Z"])]
ClientId = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
# What identity.emails.normalize_email accepts, stated for the document (the code refuses
# the rest with INVALID_EMAIL): printable ASCII without spaces or <>()[],;:\", one @, and a
# domain of dot-separated labels.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"  # an address character other than the dot
EMAIL_PATTERN = rf"^({_ATOM}|\.)+@{_ATOM}+(\.{_ATOM}+)+$"
Email = Annotated[
    str,
    Meta(
        max_length=MAX_EMAIL_CHARS,
        examples=["trader@example.com"],
        extra_json_schema={"pattern": EMAIL_PATTERN},
    ),
]


class _Body(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    pass


AccountName = Annotated[
    Literal["demo", "live"],
    Meta(description="The account to act on (or the query's account=); default: your active one"),
]
"""A body's ``account`` field: read by ``gateway.acting`` before the body is decoded, so it
is declared on each body only to be accepted and documented."""


# -- auth -----------------------------------------------------------------------------------


class LoginRequest(_Body, frozen=True, forbid_unknown_fields=True):
    """Ask for a sign-in link by email."""

    email: Email


class VerifyRequest(_Body, frozen=True, forbid_unknown_fields=True):
    """Spend a sign-in link's token (the ``token`` of its URL)."""

    token: Annotated[str, Meta(min_length=1, max_length=256)]


class LoginAccepted(msgspec.Struct, frozen=True):
    """The same answer whether or not the address has an account."""

    message: str


class UserOut(msgspec.Struct, frozen=True):
    """A signed-in user."""

    id: int
    email: str


class TokensOut(msgspec.Struct, frozen=True):
    """Tokens for API clients: a short-lived access token and a rotating refresh token."""

    access_token: str
    refresh_token: str
    expires_in: int
    user: UserOut
    token_type: str = "Bearer"  # noqa: S105 - the scheme name, not a secret


class PinRemoval(_Body, frozen=True, forbid_unknown_fields=True):
    """Remove the mobile PIN: the current one, unless the sign-in by link is fresh."""

    current_pin: Annotated[
        str | None,
        Meta(description="The PIN in use, to remove it without a fresh sign-in by link"),
    ] = None


class RefreshRequest(_Body, frozen=True, forbid_unknown_fields=True):
    """Trade a refresh token for new tokens; the old one is spent."""

    refresh_token: Annotated[str, Meta(min_length=1, max_length=256)]


class PinRequest(_Body, frozen=True, forbid_unknown_fields=True):
    """Set or change the mobile PIN: exactly six digits, not a common one."""

    pin: Annotated[str, Meta(examples=["739150"])]
    current_pin: Annotated[
        str | None,
        Meta(description="The PIN in use, to change it without a fresh sign-in by link"),
    ] = None


class PinLoginRequest(_Body, frozen=True, forbid_unknown_fields=True):
    """Sign in on a device with email and PIN."""

    email: Email
    pin: str
    device_id: Annotated[str, Meta(min_length=1, max_length=128, pattern=r"^[\x20-\x7e]+$")]


# -- account --------------------------------------------------------------------------------


class BalanceOut(msgspec.Struct, frozen=True):
    """The account as MetaTrader shows it; margin level is a percentage, null with no margin."""

    currency: str
    balance: Money
    equity: Money
    used_margin: Money
    free_margin: Money
    margin_level: str | None
    unrealized_pnl: Money


class AccountOut(msgspec.Struct, frozen=True):
    """One of the user's accounts: ``open`` once the engine holds it (the demo account is
    opened on first use; the live one when the user asks for it)."""

    account: Literal["demo", "live"]
    open: bool


class AccountsOut(msgspec.Struct, frozen=True):
    """The account requests act on when they name none, and each of the user's accounts."""

    active: Literal["demo", "live"]
    accounts: list[AccountOut]


class ActiveAccountRequest(_Body, frozen=True, forbid_unknown_fields=True):
    """Make ``account`` (``demo``, or ``live`` once it is open) the active one."""

    # A string checked by ``acting.kind_named`` (422 ``INVALID_ACCOUNT``, as for a query's
    # account=), documented as the two names it takes.
    account: Annotated[
        str, Meta(max_length=16, extra_json_schema={"enum": ["demo", "live"]}, examples=["live"])
    ]


class ResetOut(msgspec.Struct, frozen=True):
    """The demo account after a reset."""

    closed_positions: int
    cancelled_orders: int
    balance: BalanceOut


# -- trade ----------------------------------------------------------------------------------


class CreateOrderRequest(_Body, frozen=True, forbid_unknown_fields=True):
    """Open a position at market, or leave a limit or stop entry pending at ``price``.

    ``side`` is ``long`` or ``short``; ``type: buy|sell`` is accepted instead, as older
    clients send it. Size it by ``margin`` in dollars or by ``quantity`` in units of the asset
    (exactly one): with ``quantity``, the margin is quantity x price / leverage at the fill's
    price, rounded up to the cent (a pending entry reserves it at its own price until then).
    ``leverage`` is a whole number within the asset's bounds. ``expected_price`` with
    ``slippage_bps`` bounds a market fill.
    """

    asset: Annotated[str, Meta(max_length=16, examples=["BTC"])]
    leverage: Amount
    margin: OptionalAmount = NO_AMOUNT
    quantity: OptionalAmount = NO_AMOUNT
    side: Literal["long", "short", "buy", "sell"] | None = None
    type: Literal["buy", "sell", "long", "short"] | None = None
    order_type: Literal["market", "limit", "stop"] = "market"
    price: OptionalAmount = NO_AMOUNT
    take_profit: OptionalAmount = NO_AMOUNT
    stop_loss: OptionalAmount = NO_AMOUNT
    trailing_distance: OptionalAmount = NO_AMOUNT
    slippage_bps: Annotated[int, Meta(ge=0, le=10_000)] | None = None
    expected_price: OptionalAmount = NO_AMOUNT
    expires_at: Timestamp | None = None
    client_order_id: ClientId | None = None
    account: AccountName | UnsetType = UNSET


class PositionOut(msgspec.Struct, frozen=True):
    """An open position."""

    order_id: int
    asset: str
    side: str
    margin: Money
    leverage: int
    quantity: Quantity
    open_price: Price
    take_profit: Price | None
    stop_loss: Price | None
    trailing_distance: Price | None
    liquidation_price: Price
    unrealized_pnl: Money
    opened_at: Timestamp


OrderStatus = Literal["pending", "open", "closed", "liquidated", "cancelled", "expired", "rejected"]


class OrderOut(msgspec.Struct, frozen=True):
    """One order in whatever state it is: waiting (``pending``), ``open``, or ended
    (``closed``, ``liquidated``, ``cancelled``, ``expired``, or ``rejected`` when a pending
    entry could not fill). Fields that do not apply to its state are null."""

    order_id: int
    asset: str
    side: str
    status: OrderStatus
    order_type: str | None
    margin: Money
    leverage: int
    price: Price | None  # a pending entry's price
    quantity: Quantity | None
    open_price: Price | None
    take_profit: Price | None
    stop_loss: Price | None
    trailing_distance: Price | None
    liquidation_price: Price | None
    unrealized_pnl: Money | None
    realized_pnl: Money
    end_reason: str | None
    placed_at: Timestamp | None
    opened_at: Timestamp | None
    closed_at: Timestamp | None


class PendingOut(msgspec.Struct, frozen=True):
    """A limit or stop entry waiting for its price."""

    order_id: int
    asset: str
    side: str
    order_type: str
    price: Price
    margin: Money
    leverage: int
    take_profit: Price | None
    stop_loss: Price | None
    trailing_distance: Price | None
    expires_at: Timestamp | None
    placed_at: Timestamp
    quantity: Quantity | None = None  # what it will open, when it was sized by quantity


class CreateOrderOut(msgspec.Struct, frozen=True):
    """What an order became: an open position, or a pending entry."""

    order_id: int
    status: Literal["open", "pending"]
    position: PositionOut | None = None
    order: PendingOut | None = None


class OpenOut(msgspec.Struct, frozen=True):
    """Open positions and pending entries, oldest first."""

    positions: list[PositionOut]
    pending: list[PendingOut]


class CloseRequest(_Body, frozen=True, forbid_unknown_fields=True):
    """Close a position, or ``fraction`` of it (0 < fraction ≤ 1, default all)."""

    order_id: OrderId
    fraction: OptionalAmount = NO_AMOUNT
    account: AccountName | UnsetType = UNSET


class ModifyRequest(_Body, frozen=True, forbid_unknown_fields=True):
    """Change a position's exits: an omitted field keeps its value, ``null`` removes it."""

    order_id: OrderId
    take_profit: OptionalAmount | UnsetType = UNSET
    stop_loss: OptionalAmount | UnsetType = UNSET
    trailing_distance: OptionalAmount | UnsetType = UNSET
    account: AccountName | UnsetType = UNSET


class CancelRequest(_Body, frozen=True, forbid_unknown_fields=True):
    """Cancel a pending entry."""

    order_id: OrderId
    account: AccountName | UnsetType = UNSET


class ClosedOut(msgspec.Struct, frozen=True):
    """A close, full or partial: what closed, at what price, for what PnL, and why."""

    order_id: int
    asset: str
    side: str
    margin: Money
    leverage: int
    quantity: Quantity
    open_price: Price
    close_price: Price
    pnl: Money
    close_reason: str
    opened_at: Timestamp | None
    closed_at: Timestamp
    remaining_quantity: Quantity = "0.00000000"


class ModifiedOut(msgspec.Struct, frozen=True):
    """A position's exits after a change."""

    order_id: int
    take_profit: Price | None
    stop_loss: Price | None
    trailing_distance: Price | None


class CancelledOut(msgspec.Struct, frozen=True):
    """A cancelled entry and the margin it released."""

    order_id: int
    released_margin: Money


class ClosedPage(msgspec.Struct, frozen=True):
    """Closes, newest first; pass ``next_cursor`` back for the next page."""

    items: list[ClosedOut]
    next_cursor: str | None


# -- market ---------------------------------------------------------------------------------


class AssetOut(msgspec.Struct, frozen=True):
    """A tradable asset and its limits."""

    symbol: str
    name: str
    price_decimals: int
    quantity_decimals: int
    max_leverage: int
    maintenance_margin: str  # a fraction of the margin, e.g. "0.5000"


class MarketOut(msgspec.Struct, frozen=True):
    """An asset's bid and its change over 24 hours.

    ``price_24h`` is the stored bid at ``price_24h_time`` (unix seconds): 24 hours ago, or the
    start of the history when that is younger. ``change_24h`` is ``bid - price_24h``. Each is
    null until known: the bid before the first quote, the rest before the first candle.
    """

    asset: str
    bid: str | None
    price_24h: str | None
    price_24h_time: int | None
    change_24h: str | None


class RefreshOut(msgspec.Struct, frozen=True):
    """How many pending ranges the refresh folded in."""

    refreshed_ranges: int


# -- operations -----------------------------------------------------------------------------


class Health(msgspec.Struct, frozen=True):
    """Liveness, or readiness with each dependency's state."""

    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = msgspec.field(default_factory=dict)


# -- API keys -------------------------------------------------------------------------------

ApiScopeName = Literal["read", "trade"]


class ApiKeyRequest(_Body, frozen=True, forbid_unknown_fields=True):
    """A new key: what it is for, what it may do, and from where (empty: anywhere)."""

    label: Annotated[
        str,
        Meta(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$", examples=["grid bot"]),
    ]
    scopes: Annotated[list[ApiScopeName], Meta(min_length=1, max_length=2)]
    ip_allowlist: Annotated[
        list[Annotated[str, Meta(max_length=43, examples=["203.0.113.7", "2001:db8::/48"])]],
        Meta(max_length=16, description="IP addresses or CIDR networks; empty for any"),
    ] = msgspec.field(default_factory=list)
    public_key: (
        Annotated[
            str,
            Meta(
                max_length=512,
                description=(
                    "An Ed25519 public key, as PEM (SubjectPublicKeyInfo) or the base64 of its"
                    " raw 32 bytes: the key signs with its private half and has no secret."
                    " Omitted: an HMAC key, with a secret in the answer."
                ),
                examples=[
                    "-----BEGIN PUBLIC KEY-----\n"
                    "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n"
                    "-----END PUBLIC KEY-----"
                ],
            ),
        ]
        | None
    ) = None


ApiKeyKind = Literal["hmac", "ed25519"]


class ApiKeyCreated(msgspec.Struct, frozen=True, omit_defaults=True):
    """A key just made. An HMAC key's ``secret`` is shown this once: the server keeps it only
    sealed. An Ed25519 key has none (its answer has no ``secret``)."""

    key_id: int
    api_key: str
    kind: ApiKeyKind
    secret: str | None = None


class ApiKeyOut(msgspec.Struct, frozen=True):
    """A live key, never its secret."""

    key_id: int
    api_key: str
    kind: ApiKeyKind
    label: str
    scopes: list[ApiScopeName]
    ip_allowlist: list[str]
    created_at: Timestamp
    last_used_at: Timestamp | None


class ApiKeysOut(msgspec.Struct, frozen=True):
    """The caller's live keys, newest first."""

    keys: list[ApiKeyOut]


class ServerTimeOut(msgspec.Struct, frozen=True):
    """The server's clock, for signing requests inside their window."""

    server_time: Annotated[int, Meta(description="unix milliseconds")]


# -- TradingView UDF --------------------------------------------------------------------------

UdfNumber = Annotated[
    msgspec.Raw, msgspec.Meta(extra_json_schema={"type": "number"}, description="a price")
]


class UdfExchange(msgspec.Struct, frozen=True):
    """An exchange or a symbol type, as the library's filters list them."""

    value: str
    name: str
    desc: str


class UdfConfig(msgspec.Struct, frozen=True):
    """What the datafeed supports (the Charting Library's ``onReady``)."""

    supported_resolutions: list[str]
    supports_search: bool
    supports_group_request: bool
    supports_marks: bool
    supports_timescale_marks: bool
    supports_time: bool
    exchanges: list[UdfExchange]
    symbols_types: list[UdfExchange]


class UdfSymbol(msgspec.Struct, frozen=True):
    """One symbol's information (``resolveSymbol``): a 24x7 session in UTC, its tick as
    ``minmov / pricescale``."""

    name: str
    ticker: str
    full_name: str
    description: str
    type: str
    session: str
    exchange: str
    listed_exchange: str
    timezone: str
    format: str
    pricescale: int
    minmov: int
    has_intraday: bool
    has_daily: bool
    has_weekly_and_monthly: bool
    intraday_multipliers: list[str]
    supported_resolutions: list[str]
    volume_precision: int
    data_status: str
    currency_code: str


class UdfFound(msgspec.Struct, frozen=True):
    """A symbol a search found."""

    symbol: str
    full_name: str
    description: str
    exchange: str
    ticker: str
    type: str


class UdfBars(msgspec.Struct, frozen=True):
    """Bars, oldest first, as parallel arrays: times (unix seconds), open, high, low, close
    of the bid, and volume (the ticks counted)."""

    s: Literal["ok"]
    t: list[int]
    o: list[UdfNumber]
    h: list[UdfNumber]
    l: list[UdfNumber]  # noqa: E741 - the protocol's name
    c: list[UdfNumber]
    v: list[int]


class UdfNoData(msgspec.Struct, frozen=True, omit_defaults=True):
    """No bar in the range; ``nextTime`` is the nearest bar before it, absent if none is."""

    s: Literal["no_data"]
    nextTime: int | None = None  # noqa: N815 - the protocol's name


class UdfError(msgspec.Struct, frozen=True):
    """The datafeed's refusal: an unknown symbol or resolution, or a range it cannot read."""

    s: Literal["error"]
    errmsg: str
