"""Remembered request outcomes as a snapshot holds them: encoded until a repeat asks for one.

A day of requests is a million outcomes; decoding them all on restore would cost more than the
rest of the state, and nearly none is ever asked for again. They are compressed in chunks of
``CHUNK`` (their msgpack repeats itself a great deal: a tenth of the size), so a restore reads
and decrypts little, and a repeat decompresses one chunk.

Even a dict of a million request ids takes a quarter of a second to build, so the snapshot also
carries a hash table of them (``crc32``, which unlike ``hash`` is the same in every process):
a restored engine finds its remembered ids there while ``ThawingRequests.warm`` moves them into
a plain dict a slice at a time, and then takes the plain dict back.
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import (
    Callable,
    ItemsView,
    Iterator,
    KeysView,
    Mapping,
    MutableMapping,
    ValuesView,
)
from itertools import accumulate, pairwise

import msgspec

from cryptocfd.trading.fingerprint import Remembered
from cryptocfd.trading.snapshot.columns import pack_ints, unpack_ints
from cryptocfd.trading.snapshot.image import RememberedImage

# An outcome as remembered: with its request's fingerprint (``Keyed``) if it had one.
Outcome = Remembered

_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(Remembered).decode

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
        # A copy: a view would keep the whole decrypted snapshot alive.
        data = bytes(image.outcomes)
        return cls(data, unpack_ints(image.chunk_ends), unpack_ints(image.ends))

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
    arrivals: list[tuple[int, str]],
    outcomes: Mapping[str, Outcome | int],
    restored: EncodedOutcomes | None,
) -> RememberedImage:
    """The remembered requests, in arrival order; outcomes never decoded are copied as they are."""
    ids = [request_id for _ts, request_id in arrivals]
    values = list(map(outcomes.__getitem__, ids))
    if restored is None:
        encoded = list(map(_encode, values))
    else:
        encoded = [restored.encoded(v) if isinstance(v, int) else _encode(v) for v in values]
    chunks: list[bytes] = []
    ends: list[int] = []
    for start in range(0, len(encoded), CHUNK):
        part = encoded[start : start + CHUNK]
        chunks.append(zlib.compress(b"".join(part), 1))
        ends += accumulate(map(len, part))
    keys = [request_id.encode() for request_id in ids]
    return RememberedImage(
        memoryview(b"".join(keys)),
        pack_ints(list(accumulate(map(len, keys)))),
        pack_ints([ts for ts, _id in arrivals]),
        memoryview(b"".join(chunks)),
        pack_ints(list(accumulate(map(len, chunks)))),
        pack_ints(ends),
        _hash_table(keys),
    )


def _hash_table(keys: list[bytes]) -> memoryview:
    """Open addressing, linear probing, at most two thirds full: 1 + the index of each id."""
    size = 1 << max(4, (3 * len(keys) // 2).bit_length())
    mask = size - 1
    table = array("i", bytes(4 * size))
    for number, key in enumerate(keys, 1):
        slot = zlib.crc32(key) & mask
        while table[slot]:
            slot = (slot + 1) & mask
        table[slot] = number
    return memoryview(b"i" + table.tobytes())


# The engine's arrival queue holds this very object (compared by identity, never by value) for
# each restored request until ``ThawingRequests`` has decoded the ids and hands them over.
RESTORED = "".join(("<restored", " request>"))


class ThawingRequests(MutableMapping[str, Outcome | int]):
    """Request id -> outcome: a plain dict, plus the restored ids not yet moved into it.

    Restored ids stay utf-8 bytes, found through the snapshot's hash table, and map to their
    index among the encoded outcomes. They are forgotten in arrival order (the engine queues
    ``RESTORED`` for each), which ``expired`` counts. ``warm`` decodes them a slice at a time,
    then moves them into the plain dict (``ids[low:]`` are in), then hands the plain dict and
    the ids still remembered to ``on_warm``.
    """

    __slots__ = ("blob", "decoded", "ends", "expired", "low", "mask", "on_warm", "plain", "table")

    def __init__(self, image: RememberedImage) -> None:
        self.plain: dict[str, Outcome | int] = {}
        self.blob = bytes(image.ids)  # a copy: a view would keep the decrypted snapshot alive
        self.ends = unpack_ints(image.id_ends)
        self.table = unpack_ints(image.table)
        self.mask = len(self.table) - 1
        self.decoded: list[str] = []
        self.expired = 0
        self.low = len(self.ends)
        self.on_warm: Callable[[dict[str, Outcome | int], list[str]], None] = _ignore

    def _key(self, index: int) -> bytes:
        ends = self.ends
        return self.blob[ends[index - 1] if index else 0 : ends[index]]

    def _id(self, index: int) -> str:
        decoded = self.decoded
        return decoded[index] if index < len(decoded) else self._key(index).decode()

    def _find(self, request_id: str) -> int:
        key = request_id.encode()
        table, mask = self.table, self.mask
        slot = zlib.crc32(key) & mask
        while number := table[slot]:
            if self._key(number - 1) == key:
                return number - 1 if number > self.expired else -1
            slot = (slot + 1) & mask
        return -1

    def __getitem__(self, request_id: str) -> Outcome | int:
        found = self.plain.get(request_id)
        if found is not None:
            return found
        index = self._find(request_id)
        if index < 0:
            raise KeyError(request_id)
        return index

    def __contains__(self, request_id: object) -> bool:
        return request_id in self.plain or (
            isinstance(request_id, str) and self._find(request_id) >= 0
        )

    def __setitem__(self, request_id: str, outcome: Outcome | int) -> None:
        self.plain[request_id] = outcome

    def __delitem__(self, request_id: str) -> None:
        if request_id is RESTORED:
            index = self.expired
            self.expired = index + 1
            self.plain.pop(self._id(index), None)  # moved in, or a recalled outcome cached
        else:
            del self.plain[request_id]

    def warm(self, count: int) -> bool:
        """Decode, then move in, up to ``count`` more restored ids; whether all are in."""
        decoded, total = self.decoded, len(self.ends)
        if len(decoded) < total:
            decoded += self._decode(len(decoded), min(total, len(decoded) + count))
            return False
        low = self.low
        start = max(self.expired, low - count)
        self.plain.update(zip(decoded[start:low], range(start, low), strict=True))
        self.low = start
        if start > self.expired:
            return False
        on_warm, self.on_warm = self.on_warm, _ignore
        on_warm(self.plain, decoded[self.expired :])
        return True

    def _decode(self, first: int, end: int) -> list[str]:
        ends = self.ends
        start = ends[first - 1] if first else 0
        text = self.blob[start : ends[end - 1]].decode()
        if len(text) != ends[end - 1] - start:  # not all ASCII: byte offsets are not str ones
            return [self._key(index).decode() for index in range(first, end)]
        bounds = [start, *ends[first:end]]
        return [text[a - start : b - start] for a, b in pairwise(bounds)]

    def _warm_all(self) -> None:
        while not self.warm(len(self.ends)):
            pass

    def __iter__(self) -> Iterator[str]:
        self._warm_all()
        return iter(self.plain)

    def __len__(self) -> int:
        self._warm_all()
        return len(self.plain)

    def keys(self) -> KeysView[str]:
        """The request ids, all moved into the plain dict first."""
        self._warm_all()
        return self.plain.keys()

    def values(self) -> ValuesView[Outcome | int]:
        """The outcomes, all moved into the plain dict first."""
        self._warm_all()
        return self.plain.values()

    def items(self) -> ItemsView[str, Outcome | int]:
        """The items, all moved into the plain dict first."""
        self._warm_all()
        return self.plain.items()


def _ignore(_plain: dict[str, Outcome | int], _ids: list[str]) -> None:
    pass
