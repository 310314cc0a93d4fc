"""Operator roles: who may use the back office, granted only from the command line.

``operator`` works the queues, ``risk`` reads the house's exposure and sets its limits,
``admin`` may do both. A user with no role is a trader and nothing else.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A back-office role (stored by its value)."""

    OPERATOR = "operator"
    RISK = "risk"
    ADMIN = "admin"


ROLES = tuple(role.value for role in Role)
"""Every role's name, in the order the command line lists them."""
