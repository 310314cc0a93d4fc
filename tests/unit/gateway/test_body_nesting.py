"""A body nested too deep is refused as INVALID_JSON whatever the interpreter's recursion
limit is (hypothesis raises it while it runs, and the refusal once depended on that)."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import msgspec
import pytest

from cryptocfd.gateway.deps import MAX_NESTING, decode_body
from cryptocfd.gateway.errors import ApiError
from cryptocfd.gateway.schemas import CreateOrderRequest


@pytest.fixture(params=[1_000, 100_000])
def recursion_limit(request: pytest.FixtureRequest) -> Iterator[int]:
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(request.param)
    try:
        yield request.param
    finally:
        sys.setrecursionlimit(before)


def nested(depth: int) -> bytes:
    margin = b"[" * depth + b"]" * depth
    return b'{"asset":"BTC","side":"long","margin":' + margin + b',"leverage":10}'


@pytest.mark.usefixtures("recursion_limit")
@pytest.mark.parametrize("depth", [MAX_NESTING, 5_000])
def test_decode_body_when_nested_past_the_bound_is_invalid_json(depth: int) -> None:
    with pytest.raises(ApiError) as refused:
        decode_body(nested(depth), CreateOrderRequest)

    assert refused.value.code == "INVALID_JSON"


class Note(msgspec.Struct):
    text: str


def test_decode_body_when_brackets_are_inside_strings_does_not_count_them() -> None:
    text = "[" * 40 + '\\"' + "{" * 40  # an escaped quote does not end the string
    body = msgspec.json.encode(Note(text))

    assert decode_body(body, Note).text == text
