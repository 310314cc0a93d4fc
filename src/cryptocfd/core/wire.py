"""What an integer on the wire may be, for every message the platform decodes."""

from __future__ import annotations

from typing import Annotated

import msgspec

# Every integer a message carries fits in 53 bits. Decoding a message refuses a bigger one, so
# no absurd amount reaches the engine, the log or the journal's bigint columns (and a
# JavaScript client reads each one exactly).
Int = Annotated[int, msgspec.Meta(ge=-(2**53), le=2**53)]
