"""Binance bookTicker messages: documented shapes become ticks, rounded toward the house; anything
else becomes a refusal with a reason, never an exception."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cryptocfd.core.assets import DEFAULT_ASSETS
from cryptocfd.core.money import PriceTicks
from cryptocfd.core.tick import Tick
from cryptocfd.market.binance import (
    BINANCE_WS_URL,
    BinanceMarkets,
    Refusal,
    RefusalKind,
    parse_book_ticker,
    round_price,
    stream_url,
)

MARKETS = BinanceMarkets(DEFAULT_ASSETS)
NOW = 1_700_000_000_123
# Binance's documented raw bookTicker example.
DOCUMENTED = (
    b'{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000",'
    b'"a":"25.36520000","A":"40.66000000"}'
)


def book_ticker(symbol: str, bid: str, ask: str) -> bytes:
    return msgspec.json.encode(
        {"u": 1, "s": symbol, "b": bid, "B": "1.00000000", "a": ask, "A": "2.00000000"}
    )


def combined(symbol: str, bid: str, ask: str, stream: str | None = None) -> bytes:
    data = msgspec.json.decode(book_ticker(symbol, bid, ask))
    name = stream if stream is not None else f"{symbol.lower()}@bookTicker"
    return msgspec.json.encode({"stream": name, "data": data})


def refusal(result: Tick | Refusal) -> Refusal:
    assert isinstance(result, Refusal), result
    return result


def test_parse_book_ticker_when_given_the_documented_example_rounds_bid_down_and_ask_up() -> None:
    tick = parse_book_ticker(DOCUMENTED, MARKETS, NOW)

    assert tick == Tick("BNB", PriceTicks(2535), PriceTicks(2537), NOW)


def test_parse_book_ticker_when_wrapped_in_a_combined_stream_gives_the_same_tick() -> None:
    message = b'{"stream":"bnbusdt@bookTicker","data":' + DOCUMENTED + b"}"

    assert parse_book_ticker(message, MARKETS, NOW) == Tick(
        "BNB", PriceTicks(2535), PriceTicks(2537), NOW
    )


def test_parse_book_ticker_when_text_not_bytes_parses_the_same() -> None:
    assert parse_book_ticker(DOCUMENTED.decode(), MARKETS, NOW) == Tick(
        "BNB", PriceTicks(2535), PriceTicks(2537), NOW
    )


def test_parse_book_ticker_when_prices_are_exact_at_the_asset_scale_keeps_them() -> None:
    tick = parse_book_ticker(combined("BTCUSDT", "97000.01000000", "97000.02"), MARKETS, NOW)

    assert tick == Tick("BTC", PriceTicks(9_700_001), PriceTicks(9_700_002), NOW)


def test_parse_book_ticker_when_the_asset_has_more_decimals_scales_up_exactly() -> None:
    tick = parse_book_ticker(book_ticker("DOGEUSDT", "0.3", "0.30001"), MARKETS, NOW)

    assert tick == Tick("DOGE", PriceTicks(30_000), PriceTicks(30_001), NOW)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b'{"s":"BTCUSDT","b":"1.0"',
        b"[1,2,3]",
        b'"BTCUSDT"',
        b"null",
    ],
)
def test_parse_book_ticker_when_not_a_json_object_refuses_as_malformed(raw: bytes) -> None:
    result = refusal(parse_book_ticker(raw, MARKETS, NOW))

    assert result.kind is RefusalKind.MALFORMED
    assert result.reason


@pytest.mark.parametrize("missing", ["s", "b", "a"])
def test_parse_book_ticker_when_a_field_is_missing_names_it(missing: str) -> None:
    message = msgspec.json.decode(book_ticker("BTCUSDT", "1.00", "1.01"))
    del message[missing]

    result = refusal(parse_book_ticker(msgspec.json.encode(message), MARKETS, NOW))

    assert result.kind is RefusalKind.MALFORMED
    assert f"`{missing}`" in result.reason


def test_parse_book_ticker_when_a_price_is_a_number_not_a_string_refuses() -> None:
    message = b'{"s":"BTCUSDT","b":97000.01,"a":"97000.02"}'

    assert refusal(parse_book_ticker(message, MARKETS, NOW)).kind is RefusalKind.MALFORMED


@pytest.mark.parametrize(
    "price",
    ["1e5", "1E+5", "NaN", "nan", "Infinity", "-inf", "", " 1.0", "1,5", "0x10", "\uff11.0"],
)
def test_parse_book_ticker_when_a_price_is_not_plain_decimal_refuses_it(price: str) -> None:
    result = refusal(parse_book_ticker(book_ticker("BTCUSDT", price, "2.00"), MARKETS, NOW))

    assert result.kind is RefusalKind.MALFORMED
    assert "bad price" in result.reason


def test_parse_book_ticker_when_the_symbol_is_not_ours_refuses_as_unknown() -> None:
    result = refusal(parse_book_ticker(book_ticker("ADAUSDT", "0.9", "0.91"), MARKETS, NOW))

    assert result.kind is RefusalKind.UNKNOWN_SYMBOL
    assert "ADAUSDT" in result.reason


def test_parse_book_ticker_when_the_stream_name_disagrees_with_the_symbol_refuses() -> None:
    message = combined("BTCUSDT", "1.00", "1.01", stream="ethusdt@bookTicker")

    assert refusal(parse_book_ticker(message, MARKETS, NOW)).kind is RefusalKind.MALFORMED


def test_parse_book_ticker_when_the_wrapper_lacks_data_refuses_as_malformed() -> None:
    result = refusal(parse_book_ticker(b'{"stream":"btcusdt@bookTicker"}', MARKETS, NOW))

    assert result.kind is RefusalKind.MALFORMED


def test_parse_book_ticker_when_given_a_subscribe_reply_refuses_as_control() -> None:
    result = refusal(parse_book_ticker(b'{"result":null,"id":1}', MARKETS, NOW))

    assert result.kind is RefusalKind.CONTROL


@pytest.mark.parametrize(
    ("bid", "ask"),
    [
        ("25.36", "25.35"),  # crossed
        ("25.351", "25.349"),  # crossed by less than a tick: rounding apart would hide it
        ("0.00000000", "25.35"),  # an empty bid side
        ("25.35", "0"),
        ("-1.00", "25.35"),
        ("0.001", "0.01"),  # a bid that rounds down to nothing
    ],
)
def test_parse_book_ticker_when_the_quote_is_crossed_or_not_positive_refuses(
    bid: str, ask: str
) -> None:
    result = refusal(parse_book_ticker(book_ticker("BNBUSDT", bid, ask), MARKETS, NOW))

    assert result.kind is RefusalKind.BAD_QUOTE


def test_parse_book_ticker_when_bid_equals_ask_accepts_a_locked_quote() -> None:
    tick = parse_book_ticker(book_ticker("BNBUSDT", "25.35", "25.35"), MARKETS, NOW)

    assert tick == Tick("BNB", PriceTicks(2535), PriceTicks(2535), NOW)


def test_binance_markets_when_a_symbol_is_overridden_maps_it_case_insensitively() -> None:
    markets = BinanceMarkets(DEFAULT_ASSETS, {"BTC": "btcfdusd"})

    tick = parse_book_ticker(book_ticker("BTCFDUSD", "1.00", "1.01"), markets, NOW)

    assert tick == Tick("BTC", PriceTicks(100), PriceTicks(101), NOW)
    assert markets.asset_for("BTCUSDT") is None
    assert "BTCFDUSD" in markets.symbols


@pytest.mark.parametrize(
    "symbols",
    [{"NOPE": "NOPEUSDT"}, {"BTC": "ETHUSDT"}, {"BTC": "BTC/USDT"}],
)
def test_binance_markets_when_the_mapping_is_inconsistent_refuses_it(
    symbols: dict[str, str],
) -> None:
    with pytest.raises(ValueError, match=r"symbol|asset"):
        BinanceMarkets(DEFAULT_ASSETS, symbols)


def test_stream_url_when_given_the_default_assets_subscribes_to_every_book_ticker() -> None:
    url = stream_url(MARKETS)

    assert url == (
        "wss://stream.binance.com:9443/stream?streams=btcusdt@bookTicker/ethusdt@bookTicker/"
        "solusdt@bookTicker/bnbusdt@bookTicker/xrpusdt@bookTicker/dogeusdt@bookTicker"
    )
    assert url.startswith(BINANCE_WS_URL)


def test_stream_url_when_the_base_has_a_trailing_slash_does_not_double_it() -> None:
    url = stream_url(BinanceMarkets(DEFAULT_ASSETS[:1]), "ws://127.0.0.1:9000/")

    assert url == "ws://127.0.0.1:9000/stream?streams=btcusdt@bookTicker"


prices = st.decimals(
    min_value=Decimal("0.00000001"), max_value=Decimal("1000000"), places=8, allow_nan=False
)


@given(price=prices, decimals=st.integers(0, 8))
def test_round_price_when_rounding_brackets_the_exact_price_within_one_tick(
    price: Decimal, decimals: int
) -> None:
    text = f"{price:.8f}"
    exact = Decimal(text) * 10**decimals

    down = round_price(text, decimals, up=False)
    up = round_price(text, decimals, up=True)

    assert down <= exact <= up
    assert up - down == (0 if exact == int(exact) else 1)


@given(bid=prices, spread=prices)
def test_parse_book_ticker_when_the_quote_is_sane_never_narrows_the_spread(
    bid: Decimal, spread: Decimal
) -> None:
    ask = bid + spread
    result = parse_book_ticker(book_ticker("BTCUSDT", f"{bid:.8f}", f"{ask:.8f}"), MARKETS, NOW)

    if bid < Decimal("0.01"):
        assert isinstance(result, Refusal)
    else:
        assert isinstance(result, Tick)
        assert Decimal(result.bid) / 100 <= bid
        assert Decimal(result.ask) / 100 >= ask
