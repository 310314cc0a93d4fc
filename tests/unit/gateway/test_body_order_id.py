"""An order id in a body: what JSON Schema calls an integer, 1..2**53, and nothing else."""

from __future__ import annotations

import msgspec
import pytest

from cryptocfd.gateway.body import MAX_ORDER_ID
from cryptocfd.gateway.deps import decode_body
from cryptocfd.gateway.errors import ApiError
from cryptocfd.gateway.schemas import CancelRequest


@pytest.mark.parametrize(("text", "order_id"), [("12", 12), ("12.0", 12), ("1.2e1", 12)])
def test_order_id_when_a_whole_json_number_is_read_as_a_plain_int(text: str, order_id: int) -> None:
    body = decode_body(f'{{"order_id": {text}}}'.encode(), CancelRequest)

    assert body.order_id == order_id
    assert type(body.order_id) is int  # every encoder downstream takes it
    assert msgspec.json.encode(body) == f'{{"order_id":{order_id}}}'.encode()


@pytest.mark.parametrize(
    "text", ['"12"', "12.5", "0", "-3", "true", "null", str(MAX_ORDER_ID + 1), "1e400", "[1]"]
)
def test_order_id_when_not_a_whole_number_in_range_is_a_400(text: str) -> None:
    with pytest.raises(ApiError) as refused:
        decode_body(f'{{"order_id": {text}}}'.encode(), CancelRequest)

    assert refused.value.status == 400
    assert refused.value.code == "INVALID_REQUEST"
