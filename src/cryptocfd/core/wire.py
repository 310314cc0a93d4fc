"""What an integer on the wire may be, for every message the platform decodes."""

from __future__ import annotations

from typing import Annotated

import msgspec

from cryptocfd.core.money import Bps, Cents, PriceTicks, QtyUnits

# Every integer a message carries fits in 53 bits. Decoding a message refuses a bigger one, so
# no absurd amount reaches the engine, the log or the journal's bigint columns (and a
# JavaScript client reads each one exactly).
_BOUND = msgspec.Meta(ge=-(2**53), le=2**53)

Int = Annotated[int, _BOUND]
# The same bound on an amount that says its scale; each decodes exactly as ``Int`` does
# (the scale types are ``int`` at run time).
WireCents = Annotated[Cents, _BOUND]
WirePrice = Annotated[PriceTicks, _BOUND]
WireQty = Annotated[QtyUnits, _BOUND]
WireBps = Annotated[Bps, _BOUND]
