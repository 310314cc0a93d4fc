"""Which engine account is whose: a user's demo account and their live one.

A user's demo account id is the user's id; their live account, once opened, is
``LIVE_ACCOUNT_BASE + user_id``. The kind is a property of the id itself, so the engine can keep
live and demo figures apart (never one total of both) without a table, and no lookup stands
between a request and its account.
"""

from __future__ import annotations

from enum import StrEnum

LIVE_ACCOUNT_BASE = 1 << 40
"""Above every user id PostgreSQL will hand out here, and well inside a signed 64-bit int."""


class AccountKind(StrEnum):
    """Play money or real money."""

    DEMO = "demo"
    LIVE = "live"


def account_id_of(user_id: int, kind: AccountKind) -> int:
    """The engine account of ``user_id``'s account of ``kind``."""
    return user_id if kind is AccountKind.DEMO else LIVE_ACCOUNT_BASE + user_id


def kind_of(account_id: int) -> AccountKind:
    """Whether ``account_id`` holds demo or live money."""
    return AccountKind.LIVE if account_id >= LIVE_ACCOUNT_BASE else AccountKind.DEMO


def user_of(account_id: int) -> int:
    """The user who owns ``account_id``."""
    return account_id - LIVE_ACCOUNT_BASE if account_id >= LIVE_ACCOUNT_BASE else account_id
