"""Money: parse_scaled reads plain decimal strings exactly or refuses them; format_scaled prints
integers back; the two round-trip."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cryptocfd.core.money import (
    MAX_DECIMAL_CHARS,
    Cents,
    DecimalFormatError,
    ceil_div,
    cents,
    floor_div,
    format_cents,
    format_scaled,
    parse_scaled,
)


@pytest.mark.parametrize(
    ("text", "decimals", "value"),
    [
        ("12.34", 2, 1234),
        ("12", 2, 1200),
        ("12.3", 2, 1230),
        ("0.05", 2, 5),
        ("-1.5", 2, -150),
        ("-0.01", 2, -1),
        ("0", 2, 0),
        ("0.00", 2, 0),
        ("007.10", 2, 710),
        ("42", 0, 42),
        ("0.00000001", 8, 1),
        ("60000.00", 2, 6_000_000),
        ("0.01666", 8, 1_666_000),
    ],
)
def test_parse_scaled_when_plain_decimal_returns_the_exact_integer(
    text: str, decimals: int, value: int
) -> None:
    assert parse_scaled(text, decimals) == value


@pytest.mark.parametrize(
    "text",
    ["1e5", "1E5", "1e-2", "2.5e1", "1.0E+2"],
)
def test_parse_scaled_when_exponent_raises_decimal_format_error(text: str) -> None:
    with pytest.raises(DecimalFormatError):
        parse_scaled(text, 2)


@pytest.mark.parametrize(
    "text",
    ["NaN", "nan", "-NaN", "sNaN", "Infinity", "-Infinity", "inf", "-inf", "Inf"],
)
def test_parse_scaled_when_nan_or_infinity_raises_decimal_format_error(text: str) -> None:
    with pytest.raises(DecimalFormatError):
        parse_scaled(text, 2)


@pytest.mark.parametrize("text", ["-0", "-0.0", "-0.00", "-000"])
def test_parse_scaled_when_negative_zero_raises_decimal_format_error(text: str) -> None:
    with pytest.raises(DecimalFormatError, match="negative zero"):
        parse_scaled(text, 2)


@pytest.mark.parametrize(
    ("text", "decimals"),
    [("1.234", 2), ("0.001", 2), ("1.0", 0), ("0.000000001", 8), ("1.10", 1)],
)
def test_parse_scaled_when_more_decimals_than_the_scale_raises_instead_of_rounding(
    text: str, decimals: int
) -> None:
    with pytest.raises(DecimalFormatError, match="decimal places"):
        parse_scaled(text, decimals)


@pytest.mark.parametrize("text", ["1" * 40, "-" + "9" * 39, "1" * 33, "0." + "0" * 30 + "1"])
def test_parse_scaled_when_longer_than_the_limit_raises_decimal_format_error(text: str) -> None:
    # Forty digits is far past MAX_DECIMAL_CHARS (32): refused before Decimal sees it.
    assert len(text) > MAX_DECIMAL_CHARS
    with pytest.raises(DecimalFormatError, match="length"):
        parse_scaled(text, 8)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " 1",
        "1 ",
        "+1",
        "--1",
        "1.",
        ".5",
        "-.5",
        "1,000",
        "1_000",
        "0x10",
        "1.2.3",
        "١٢",  # Arabic-Indic digits
        "²",  # a superscript two: str.isdigit() says yes
        "1-",
        "-",
        "12.3a",
    ],
)
def test_parse_scaled_when_not_a_plain_decimal_raises_decimal_format_error(text: str) -> None:
    with pytest.raises(DecimalFormatError):
        parse_scaled(text, 2)


def test_decimal_format_error_when_raised_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="digits"):
        parse_scaled("abc", 2)


@pytest.mark.parametrize(
    ("text", "decimals", "value"),
    [
        ("9" * 29, 0, int("9" * 29)),
        ("1234567890123456789012345678901", 0, 1234567890123456789012345678901),
        ("12345678901234567890123456789.12", 2, 1234567890123456789012345678912),
        ("-" + "9" * 31, 0, -int("9" * 31)),
    ],
)
def test_parse_scaled_when_more_than_28_significant_digits_returns_the_exact_integer(
    text: str, decimals: int, value: int
) -> None:
    # Strings up to MAX_DECIMAL_CHARS (32) are accepted, so they must be read exactly:
    # "nothing is silently rounded at the edge".
    assert len(text) <= MAX_DECIMAL_CHARS
    assert parse_scaled(text, decimals) == value


@pytest.mark.parametrize(
    ("value", "decimals", "text"),
    [
        (1234, 2, "12.34"),
        (5, 2, "0.05"),
        (-5, 2, "-0.05"),
        (0, 2, "0.00"),
        (-1234, 2, "-12.34"),
        (100, 0, "100"),
        (-7, 0, "-7"),
        (1, 8, "0.00000001"),
        (6_000_000, 2, "60000.00"),
    ],
)
def test_format_scaled_when_given_an_integer_prints_a_plain_decimal(
    value: int, decimals: int, text: str
) -> None:
    assert format_scaled(value, decimals) == text


@settings(max_examples=300, deadline=None)
@given(
    decimals=st.integers(min_value=0, max_value=10),
    value=st.integers(min_value=-(10**30), max_value=10**30),
)
@example(decimals=2, value=10**29 - 1)
@example(decimals=0, value=-(10**30))
def test_format_scaled_when_parsed_back_round_trips(decimals: int, value: int) -> None:
    text = format_scaled(value, decimals)
    if len(text) > MAX_DECIMAL_CHARS:
        with pytest.raises(DecimalFormatError):  # too long to read: refused, never misread
            parse_scaled(text, decimals)
    else:
        assert parse_scaled(text, decimals) == value


def test_cents_when_given_an_amount_reads_it_at_two_decimals() -> None:
    assert cents("10000.00") == 1_000_000
    assert cents("0.1") == 10
    assert format_cents(Cents(1_000_000)) == "10000.00"
    with pytest.raises(DecimalFormatError):
        cents("0.001")


@pytest.mark.parametrize(
    ("numerator", "denominator", "floor", "ceil"),
    [(7, 2, 3, 4), (-7, 2, -4, -3), (6, 2, 3, 3), (-6, 2, -3, -3), (0, 5, 0, 0), (1, 20_000, 0, 1)],
)
def test_floor_and_ceil_div_when_dividing_round_toward_minus_and_plus_infinity(
    numerator: int, denominator: int, floor: int, ceil: int
) -> None:
    assert floor_div(numerator, denominator) == floor
    assert ceil_div(numerator, denominator) == ceil
