"""A user's demo and live account ids: distinct, and each names its kind and its user."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cryptocfd.core.accounts import (
    LIVE_ACCOUNT_BASE,
    AccountKind,
    account_id_of,
    kind_of,
    user_of,
)

users = st.integers(1, LIVE_ACCOUNT_BASE - 1)


@given(users, st.sampled_from(AccountKind))
def test_account_id_of_when_read_back_names_its_kind_and_its_user(
    user_id: int, kind: AccountKind
) -> None:
    account_id = account_id_of(user_id, kind)

    assert (kind_of(account_id), user_of(account_id)) == (kind, user_id)


@given(users, users)
def test_account_id_of_when_two_users_differ_never_shares_an_account(a: int, b: int) -> None:
    ids = {account_id_of(u, kind) for u in {a, b} for kind in AccountKind}

    assert len(ids) == 2 * len({a, b})


def test_account_id_of_a_demo_account_is_the_user_id_as_before_live_accounts() -> None:
    assert account_id_of(7, AccountKind.DEMO) == 7
    assert account_id_of(7, AccountKind.LIVE) == LIVE_ACCOUNT_BASE + 7 < 2**63
