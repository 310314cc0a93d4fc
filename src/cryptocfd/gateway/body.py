"""Request bodies decoded exactly: amounts keep the digits the client sent.

Litestar would parse JSON numbers into floats before we saw them, and ``0.1`` would already
be wrong. Bodies are decoded here with msgspec instead, amounts as raw JSON, and each amount
is read from its own text: a decimal string or a plain JSON number, never an exponent, NaN,
infinity, negative zero or more digits than the scale holds.

A handler declares its body once, as the type of its ``payload`` parameter (``gateway.deps``
decodes it here, and the OpenAPI document reads the same parameter).
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import msgspec

from cryptocfd.core.money import DecimalFormatError, parse_scaled
from cryptocfd.gateway.errors import ApiError

T = TypeVar("T")

MAX_BODY_BYTES = 16_384
# No amount, price or distance is this big at its scale (10^15 cents is ten trillion dollars);
# the cap keeps every number far inside the engine's 53-bit and the ledger's 64-bit integers.
MAX_SCALED = 10**15

Amount = Annotated[
    msgspec.Raw,
    msgspec.Meta(
        description="A decimal as a string (preferred) or a plain JSON number: 100.25",
        extra_json_schema={"type": ["string", "number"], "examples": ["100.00"]},
    ),
]

OptionalAmount = Annotated[
    msgspec.Raw,
    msgspec.Meta(
        description="A decimal as a string or a plain JSON number; null or absent for none",
        extra_json_schema={"type": ["string", "number", "null"], "examples": ["100.00"]},
    ),
]
_NULL = msgspec.Raw(b"null")


def no_amount() -> msgspec.Raw:
    """The default of an ``OptionalAmount`` field: JSON null (msgspec cannot union ``Raw``)."""
    return _NULL


MAX_ORDER_ID = 2**53


class OrderId(int):
    """An order id from this API, 1..2**53: a JSON integer, and JSON Schema counts ``12.0`` as
    one, so it is accepted too (msgspec alone would refuse it); ``"12"`` and ``12.5`` are not."""


def _decode_hook(kind: type, value: Any) -> Any:
    if kind is not OrderId:  # pragma: no cover - only OrderId is custom
        raise NotImplementedError(kind)
    whole = type(value) in (int, float) and float(value).is_integer()
    if not (whole and 1 <= value <= MAX_ORDER_ID):
        raise ValueError(f"expected an order id, a whole number from 1 to {MAX_ORDER_ID}")
    return OrderId(int(value))


def _plain(value: T) -> T:
    """``value`` with each ``OrderId`` a plain ``int`` again, which every encoder takes."""
    ids = {
        name: int(field)
        for name in value.__struct_fields__  # type: ignore[attr-defined]
        if isinstance(field := getattr(value, name), OrderId)
    }
    return msgspec.structs.replace(value, **ids) if ids else value  # type: ignore[type-var]


def schema_hook(kind: type) -> dict[str, Any]:
    """The JSON Schema of a custom body type (for the OpenAPI document)."""
    if kind is OrderId:
        description = "An order id from this API"
        return {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_ORDER_ID,
            "description": description,
        }
    raise NotImplementedError(kind)  # pragma: no cover - only OrderId is custom


_decoders: dict[type[Any], msgspec.json.Decoder[Any]] = {}


def decode_body(raw: bytes, struct: type[T]) -> T:
    """``raw`` decoded into ``struct``, or a 400 saying what is wrong."""
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, "BODY_TOO_LARGE", f"bodies are at most {MAX_BODY_BYTES} bytes")
    decoder = _decoders.get(struct)
    if decoder is None:
        decoder = _decoders[struct] = msgspec.json.Decoder(struct, dec_hook=_decode_hook)
    try:
        value: T = decoder.decode(raw)
    except msgspec.ValidationError as exc:
        raise ApiError(400, "INVALID_REQUEST", str(exc)) from exc
    except msgspec.DecodeError as exc:
        raise ApiError(400, "INVALID_JSON", f"the body is not valid JSON: {exc}") from exc
    except RecursionError as exc:  # msgspec recurses once per nesting level of arrays/objects
        raise ApiError(400, "INVALID_JSON", "the body is nested too deeply") from exc
    return _plain(value)


def amount(raw: msgspec.Raw, decimals: int, field: str) -> int:
    """The amount in ``raw`` as an integer at ``decimals`` places, or a 400."""
    text = bytes(raw).decode()
    if text.startswith('"'):
        try:
            text = msgspec.json.decode(text, type=str)
        except msgspec.DecodeError as exc:  # pragma: no cover - msgspec validated the JSON
            raise ApiError(400, "INVALID_NUMBER", f"{field}: not a string") from exc
    elif not text or text[0] not in "-0123456789":
        raise ApiError(400, "INVALID_NUMBER", f"{field}: expected a decimal string or number")
    try:
        value = parse_scaled(text, decimals)
    except DecimalFormatError as exc:
        raise ApiError(400, "INVALID_NUMBER", f"{field}: {exc}") from exc
    if abs(value) > MAX_SCALED:
        raise ApiError(400, "INVALID_NUMBER", f"{field}: too large")
    return value


def is_null(raw: msgspec.Raw) -> bool:
    """Whether a raw field holds JSON null."""
    return bytes(raw) == b"null"


def optional_amount(raw: msgspec.Raw, decimals: int, field: str) -> int | None:
    """``amount`` for an ``OptionalAmount`` field (absent or JSON null gives ``None``)."""
    return None if is_null(raw) else amount(raw, decimals, field)
