"""Binance bookTicker messages into Ticks, and the stream URL that subscribes to them.

Binance documents two shapes for the best bid and offer of a symbol. The raw stream sends
``{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000",
"A":"40.66000000"}``; the combined stream (``/stream?streams=...``) wraps it as
``{"stream":"bnbusdt@bookTicker","data":{...}}``. Prices arrive as decimal strings with more
places than our assets quote, so they are rounded here, toward the house: the bid down and the
ask up, which can only widen the spread. bookTicker carries no event time, so the caller passes
the time it received the message, and that becomes the tick's ``ts``.

Nothing here raises on bad input: a message that cannot be a tick comes back as a ``Refusal``
with a reason, sorted by kind so a caller can count and log them.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from cryptocfd.core.assets import AssetSpec
from cryptocfd.core.money import (
    DecimalFormatError,
    PriceTicks,
    ceil_div,
    floor_div,
    parse_scaled,
)
from cryptocfd.core.tick import Tick

BINANCE_WS_URL = "wss://stream.binance.com:9443"
QUOTE_CURRENCY = "USDT"


class RefusalKind(enum.Enum):
    """Why a message did not become a tick."""

    MALFORMED = "malformed"  # not JSON, or not the documented shape
    CONTROL = "control"  # a well-formed message that is not a quote, e.g. a subscribe reply
    UNKNOWN_SYMBOL = "unknown_symbol"  # a symbol none of our assets maps to
    BAD_QUOTE = "bad_quote"  # a price that is not positive, or a crossed book


class Refusal(msgspec.Struct, frozen=True):
    """A message that is not a tick for one of our assets, and why."""

    kind: RefusalKind
    reason: str


class _BookTicker(msgspec.Struct, frozen=True):
    s: str
    b: str
    a: str


class BinanceMarkets:
    """Which Binance symbol quotes which of our assets.

    By default asset ``X`` is Binance's ``XUSDT``; ``symbols`` overrides that per asset, e.g.
    ``{"BTC": "BTCFDUSD"}``. Binance symbols are matched case-insensitively.
    """

    def __init__(
        self, assets: Iterable[AssetSpec], symbols: Mapping[str, str] | None = None
    ) -> None:
        overrides = dict(symbols or {})
        specs = tuple(assets)
        unknown = set(overrides) - {spec.symbol for spec in specs}
        if unknown:
            raise ValueError(f"symbols given for unknown assets: {', '.join(sorted(unknown))}")
        self._by_symbol: dict[str, AssetSpec] = {}
        for spec in specs:
            symbol = overrides.get(spec.symbol, spec.symbol + QUOTE_CURRENCY).upper()
            if not (symbol.isascii() and symbol.isalnum()):
                raise ValueError(f"asset {spec.symbol}: {symbol!r} is not a Binance symbol")
            if symbol in self._by_symbol:
                raise ValueError(f"Binance symbol {symbol} is mapped to two assets")
            self._by_symbol[symbol] = spec

    @property
    def symbols(self) -> tuple[str, ...]:
        """The Binance symbols, in the order the assets were given."""
        return tuple(self._by_symbol)

    @property
    def assets(self) -> tuple[AssetSpec, ...]:
        """The assets these markets quote."""
        return tuple(self._by_symbol.values())

    def asset_for(self, symbol: str) -> AssetSpec | None:
        """The asset a Binance symbol quotes, or None."""
        return self._by_symbol.get(symbol.upper())


def stream_url(markets: BinanceMarkets, base: str = BINANCE_WS_URL) -> str:
    """Build the combined-stream URL subscribing to every symbol's bookTicker."""
    streams = "/".join(f"{symbol.lower()}@bookTicker" for symbol in markets.symbols)
    return f"{base.rstrip('/')}/stream?streams={streams}"


def _exact(text: str, decimals: int) -> tuple[int, int]:
    """A decimal string as an exact integer and its scale, at least ``decimals`` places."""
    scale = max(decimals, len(text.partition(".")[2]))
    return parse_scaled(text, scale), scale


def _rescale(value: int, scale: int, decimals: int, *, up: bool) -> int:
    divisor = 10 ** (scale - decimals)
    return ceil_div(value, divisor) if up else floor_div(value, divisor)


def round_price(text: str, decimals: int, *, up: bool) -> int:
    """Parse a decimal price string exactly, then round it to ``decimals`` places.

    Rounds up when ``up`` (asks), down otherwise (bids). Refuses what ``parse_scaled`` refuses:
    exponents, NaN, infinities, anything but plain digits.
    """
    value, scale = _exact(text, decimals)
    return _rescale(value, scale, decimals, up=up)


def _unwrap(message: Any) -> tuple[Any, str | None] | Refusal:
    """The inner payload of a combined-stream message and its stream name, or the raw one."""
    if not isinstance(message, dict):
        return Refusal(RefusalKind.MALFORMED, "expected a JSON object")
    if "data" not in message and "stream" not in message:
        return message, None
    stream = message.get("stream")
    if not isinstance(stream, str) or "data" not in message:
        return Refusal(RefusalKind.MALFORMED, "a combined-stream message needs stream and data")
    return message["data"], stream


def parse_book_ticker(
    raw: bytes | str, markets: BinanceMarkets, received_ms: int
) -> Tick | Refusal:
    """Turn one bookTicker message, raw or combined, into a Tick stamped ``received_ms``."""
    try:
        message = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        return Refusal(RefusalKind.MALFORMED, f"not JSON: {exc}")
    unwrapped = _unwrap(message)
    if isinstance(unwrapped, Refusal):
        return unwrapped
    payload, stream = unwrapped
    if (
        isinstance(payload, dict)
        and "s" not in payload
        and ("result" in payload or "id" in payload)
    ):
        return Refusal(RefusalKind.CONTROL, f"not a quote: {raw!r:.80}")
    try:
        ticker = msgspec.convert(payload, _BookTicker)
    except msgspec.ValidationError as exc:
        return Refusal(RefusalKind.MALFORMED, f"not a bookTicker: {exc}")
    if stream is not None and stream.partition("@")[0].upper() != ticker.s.upper():
        return Refusal(RefusalKind.MALFORMED, f"stream {stream!r} carries symbol {ticker.s!r}")
    spec = markets.asset_for(ticker.s)
    if spec is None:
        return Refusal(RefusalKind.UNKNOWN_SYMBOL, f"no asset for symbol {ticker.s!r}")
    return _quote(spec, ticker, received_ms)


def round_quote(
    bid_text: str, ask_text: str, decimals: int
) -> tuple[PriceTicks, PriceTicks] | Refusal:
    """Round a quote toward the house (bid down, ask up), or say why it is not a quote.

    Refuses prices ``parse_scaled`` refuses, non-positive prices, a crossed book (judged on the
    exact prices, since rounding them apart could hide it) and a bid that rounds down to zero.
    """
    try:
        bid, bid_scale = _exact(bid_text, decimals)
        ask, ask_scale = _exact(ask_text, decimals)
    except DecimalFormatError as exc:
        return Refusal(RefusalKind.MALFORMED, f"bad price: {exc}")
    if bid <= 0 or ask <= 0:
        return Refusal(RefusalKind.BAD_QUOTE, "bid and ask must be positive")
    if bid * 10**ask_scale > ask * 10**bid_scale:
        return Refusal(RefusalKind.BAD_QUOTE, f"crossed quote: bid {bid_text} > ask {ask_text}")
    bid = _rescale(bid, bid_scale, decimals, up=False)
    if bid <= 0:
        return Refusal(RefusalKind.BAD_QUOTE, f"bid {bid_text} rounds down to zero")
    return PriceTicks(bid), PriceTicks(_rescale(ask, ask_scale, decimals, up=True))


def _quote(spec: AssetSpec, ticker: _BookTicker, received_ms: int) -> Tick | Refusal:
    quote = round_quote(ticker.b, ticker.a, spec.price_decimals)
    if isinstance(quote, Refusal):
        return Refusal(quote.kind, f"{ticker.s}: {quote.reason}")
    bid, ask = quote
    return Tick(spec.symbol, bid, ask, received_ms)
