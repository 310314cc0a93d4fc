"""The demo account a first sign-in opens (``usecases.send.ensure_account``)."""

from __future__ import annotations

DEMO_BALANCE_CENTS = 1_000_000  # 10,000.00 USD
