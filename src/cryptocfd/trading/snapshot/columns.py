"""Integer columns as bytes: how a snapshot holds millions of numbers without a million objects.

A column of ints is one typecode byte and the raw machine array: the narrowest of ``b h i q``
that holds every value, so loading it is a copy, not a decode per value. Trigger keys do not fit
64 bits (``level << 44 | ...``), so a list of them is pickled: the unpickler builds each big int in
C. The unpickler loads no class at all, so the data can hold nothing but plain values.
"""

from __future__ import annotations

import io
import pickle
from array import array
from collections.abc import Iterable, Sequence

_LIMITS = (("b", 1 << 7), ("h", 1 << 15), ("i", 1 << 31), ("q", 1 << 63))


def pack_ints(values: Sequence[int]) -> memoryview:
    """A column: one typecode byte, then the values as the narrowest array that holds them."""
    low, high = (min(values), max(values)) if values else (0, 0)
    for code, limit in _LIMITS:
        if -limit <= low and high < limit:
            return memoryview(code.encode() + array(code, values).tobytes())
    raise OverflowError("a column value does not fit 64 bits")


def unpack_ints(data: memoryview) -> array[int]:
    """The array a column was packed from."""
    column: array[int] = array(chr(data[0]))
    column.frombytes(memoryview(data)[1:])
    return column


class _IntsOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> object:
        raise pickle.UnpicklingError(f"not a list of ints: refers to {module}.{name}")


def pack_keys(keys: Iterable[int]) -> memoryview:
    """A list of ints of any size (trigger heap keys), in the order given."""
    return memoryview(pickle.dumps(list(keys), protocol=5))


def unpack_keys(data: memoryview) -> list[int]:
    """The list ``pack_keys`` packed; anything but a list of ints is refused."""
    keys = _IntsOnly(io.BytesIO(data)).load()  # authenticated data, and no class can load
    if type(keys) is not list:
        raise ValueError("not a list of keys")
    return keys
