"""What request bodies are made of, so they decode exactly: amounts keep the digits the
client sent.

Litestar would parse JSON numbers into floats before we saw them, and ``0.1`` would already
be wrong. Bodies are decoded with msgspec instead (``gateway.deps.decode_body``), amounts as
raw JSON; the use case reads each amount from its own text at its asset's scale
(``usecases.trading.amount``). A handler declares its body once, as the type of its
``payload`` parameter, and the OpenAPI document reads the same parameter.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from cryptocfd.identity.kyc import MAX_DOCUMENT_BYTES, MAX_DOCUMENTS

MAX_BODY_BYTES = 16_384
MAX_UPLOAD_BYTES = (MAX_DOCUMENTS + 1) * MAX_DOCUMENT_BYTES + 64 * 1024
"""The body of a route that takes files: a KYC form's documents, one too many still read so
it gets its own 422 rather than a 413, and its text fields and multipart framing."""
UPLOAD_PATHS = frozenset({b"/api/v1/live/kyc"})


def body_limit(target: bytes) -> int:
    """The most bytes a request to ``target`` (its path and query, as sent) may carry."""
    return MAX_UPLOAD_BYTES if target.split(b"?", 1)[0] in UPLOAD_PATHS else MAX_BODY_BYTES


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
NO_AMOUNT = msgspec.field(default_factory=msgspec.Raw)
"""The default of an ``OptionalAmount`` field: an empty ``Raw``, read as absent like JSON
null (msgspec cannot union ``Raw``). The factory is msgspec's own type, so decoding a body
calls no Python for its absent amounts."""


MAX_ORDER_ID = 2**53


class OrderId(int):
    """An order id from this API, 1..2**53: a JSON integer, and JSON Schema counts ``12.0`` as
    one, so it is accepted too (msgspec alone would refuse it); ``"12"`` and ``12.5`` are not."""


def decode_hook(kind: type, value: Any) -> Any:
    """A custom body type from its JSON value (msgspec's ``dec_hook``)."""
    if kind is not OrderId:  # pragma: no cover - only OrderId is custom
        raise NotImplementedError(kind)
    whole = type(value) in (int, float) and float(value).is_integer()
    if not (whole and 1 <= value <= MAX_ORDER_ID):
        raise ValueError(f"expected an order id, a whole number from 1 to {MAX_ORDER_ID}")
    return OrderId(int(value))


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
