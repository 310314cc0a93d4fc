"""Which account a request names: ``account=demo|live`` in its query or its body, agreeing."""

from __future__ import annotations

import pytest

from cryptocfd.core.accounts import AccountKind
from cryptocfd.gateway.acting import body_account, named_kind
from cryptocfd.gateway.errors import ApiError


def _refusal(query: list[str], body: object) -> tuple[int, str]:
    with pytest.raises(ApiError) as refused:
        named_kind(query, body)
    return refused.value.status, refused.value.code


def test_named_kind_when_named_once_or_in_agreement_is_that_kind() -> None:
    assert named_kind(["live"], None) is AccountKind.LIVE
    assert named_kind([], "demo") is AccountKind.DEMO
    assert named_kind(["live", "live"], "live") is AccountKind.LIVE
    assert named_kind([], None) is None


@pytest.mark.parametrize(("query", "body"), [(["foo"], None), (["LIVE"], None), ([], 1), ([], "")])
def test_named_kind_when_not_demo_or_live_is_422_invalid_account(
    query: list[str], body: object
) -> None:
    assert _refusal(query, body) == (422, "INVALID_ACCOUNT")


@pytest.mark.parametrize(("query", "body"), [(["demo"], "live"), (["demo", "live"], None)])
def test_named_kind_when_two_places_disagree_is_422_account_conflict(
    query: list[str], body: object
) -> None:
    assert _refusal(query, body) == (422, "ACCOUNT_CONFLICT")


def test_body_account_when_the_body_is_no_json_object_leaves_it_to_the_payload() -> None:
    assert body_account(b'{"account": "live", "order_id": 1}') == "live"
    assert body_account(b'{"order_id": 1}') is None
    assert body_account(b"[1, 2]") is None
    assert body_account(b"{not json") is None
    assert body_account(b'{"account": null}') is None
