"""The requests a method makes, as values: one implementation for the sync and async classes.

Each unified method is written once, in ``core``, as a generator that yields the steps it needs
(an HTTP call, or the markets loaded) and receives each one's answer; the sync class drives it
with ``request``, the async class with ``await request``. Nothing else differs between them.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Call:
    """One request to the platform: a route under the API base and its parameters (the query
    of a GET, the JSON body of a POST; ``{name}`` in the path is filled from them)."""

    path: str
    api: Literal["public", "private"]
    method: Literal["GET", "POST"]
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadMarkets:
    """The markets, loaded once (ccxt's ``load_markets``), before a method reads them."""


Step: TypeAlias = Call | LoadMarkets
Steps: TypeAlias = Generator[Step, Any, T]
