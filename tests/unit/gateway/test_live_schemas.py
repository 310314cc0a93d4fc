"""The websocket's shapes as ``docs/interfaces.md`` states them are the structs' own."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from cryptocfd.gateway.live_schemas import (
    CandleOut,
    LiquidatedOut,
    OrderCancelledOut,
    OrderExpiredOut,
    OrderPlacedOut,
    OrderRejectedOut,
    PositionClosedOut,
    PositionModifiedOut,
    PositionOpenedOut,
    QuoteOut,
)

INTERFACES = Path(__file__).parents[3] / "docs" / "interfaces.md"


def _documented() -> str:
    """The websocket section of the interfaces page, its lines joined."""
    text = INTERFACES.read_text()
    section = text[text.index("## Websocket") : text.index("## Planned")]
    return " ".join(section.split())


def _shape(struct: type[msgspec.Struct]) -> str:
    """``{key, key, ...}`` as the struct encodes, its tag's key first."""
    tag_field = struct.__struct_config__.tag_field
    keys = [] if tag_field is None else [tag_field]
    keys.extend(field.encode_name for field in msgspec.structs.fields(struct))
    return "{" + ", ".join(keys) + "}"


@pytest.mark.parametrize(
    "struct",
    [
        QuoteOut,
        CandleOut,
        PositionOpenedOut,
        PositionClosedOut,
        LiquidatedOut,
        OrderPlacedOut,
        OrderCancelledOut,
        OrderExpiredOut,
        OrderRejectedOut,
        PositionModifiedOut,
    ],
)
def test_interfaces_page_when_it_shows_a_websocket_shape_has_the_structs_keys_in_order(
    struct: type[msgspec.Struct],
) -> None:
    tag = struct.__struct_config__.tag

    assert _shape(struct) in _documented()
    assert tag is None or f"`{tag}`" in _documented()
