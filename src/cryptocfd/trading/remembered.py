"""Remembered request outcomes as a snapshot holds them: encoded until a repeat asks for one.

A day of requests is a million outcomes; decoding them all on restore would cost more than the
rest of the state, and nearly none is ever asked for again. They are compressed in chunks of
``CHUNK`` (their msgpack repeats itself a great deal: a tenth of the size), so a restore reads
and decrypts little, and a repeat decompresses one chunk.
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Iterable, Mapping

import msgspec

from cryptocfd.trading.columns import pack_ints, unpack_ints
from cryptocfd.trading.events import Accepted
from cryptocfd.trading.image import RememberedImage
from cryptocfd.trading.rejections import Rejection

Outcome = Accepted | Rejection

_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(Outcome).decode

CHUNK = 4096


class EncodedOutcomes:
    """Outcomes restored from a snapshot, by their index in it."""

    __slots__ = ("chunk_ends", "data", "ends", "last")

    def __init__(self, data: bytes, chunk_ends: array[int], ends: array[int]) -> None:
        self.data = data
        self.chunk_ends = chunk_ends
        self.ends = ends
        self.last: tuple[int, bytes] = (-1, b"")  # the chunk decompressed last

    @classmethod
    def of(cls, image: RememberedImage) -> EncodedOutcomes:
        """The outcomes of an image."""
        return cls(image.outcomes, unpack_ints(image.chunk_ends), unpack_ints(image.ends))

    def encoded(self, index: int) -> bytes:
        """The msgpack of outcome ``index``."""
        number = index // CHUNK
        if self.last[0] != number:
            start = self.chunk_ends[number - 1] if number else 0
            self.last = (number, zlib.decompress(self.data[start : self.chunk_ends[number]]))
        ends = self.ends
        return self.last[1][ends[index - 1] if index % CHUNK else 0 : ends[index]]

    def decode(self, index: int) -> Outcome:
        """Outcome ``index``."""
        outcome: Outcome = _decode(self.encoded(index))
        return outcome


def image_remembered(
    arrivals: Iterable[tuple[int, str]],
    outcomes: Mapping[str, Outcome | int],
    restored: EncodedOutcomes | None,
) -> RememberedImage:
    """The remembered requests, in arrival order; outcomes never decoded are copied as they are."""
    ids: list[str] = []
    times: list[int] = []
    chunks: list[bytes] = []
    chunk_ends: list[int] = []
    ends: list[int] = []
    parts: list[bytes] = []
    end = 0
    for ts, request_id in arrivals:
        outcome = outcomes[request_id]
        if isinstance(outcome, int):
            assert restored is not None
            data = restored.encoded(outcome)
        else:
            data = _encode(outcome)
        ids.append(request_id)
        times.append(ts)
        parts.append(data)
        end += len(data)
        ends.append(end)
        if len(parts) == CHUNK:
            _seal_chunk(parts, chunks, chunk_ends)
            end = 0
    if parts:
        _seal_chunk(parts, chunks, chunk_ends)
    return RememberedImage(
        ids, pack_ints(times), b"".join(chunks), pack_ints(chunk_ends), pack_ints(ends)
    )


def _seal_chunk(parts: list[bytes], chunks: list[bytes], chunk_ends: list[int]) -> None:
    chunks.append(zlib.compress(b"".join(parts), 1))
    chunk_ends.append((chunk_ends[-1] if chunk_ends else 0) + len(chunks[-1]))
    parts.clear()
