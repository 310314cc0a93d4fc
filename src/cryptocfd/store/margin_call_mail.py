"""The email a margin call sends its trader, queued in the journal's own transaction: the
record that carries the ``MarginCalled`` is booked once (``journal_records``), so it mails once,
however often the record is delivered."""

from __future__ import annotations

from collections.abc import Iterable

from cryptocfd.core.accounts import user_of
from cryptocfd.core.assets import DEFAULT_ASSETS, AssetSpec
from cryptocfd.core.money import format_scaled
from cryptocfd.store.database import Connection
from cryptocfd.store.outbox import enqueue_email
from cryptocfd.store.users import user_by_id
from cryptocfd.trading.events import MarginCalled


class MarginCallMail:
    """Queues one email per margin call to the user who owns the account."""

    def __init__(
        self, server_key: bytes, public_url: str, assets: Iterable[AssetSpec] = DEFAULT_ASSETS
    ) -> None:
        self.server_key = server_key
        self.public_url = public_url.rstrip("/")
        self.assets = {spec.symbol: spec for spec in assets}

    async def enqueue(self, conn: Connection, event: MarginCalled) -> None:
        """Queue the notice of ``event`` (nothing for an account no user owns)."""
        user = await user_by_id(conn, user_of(event.account_id))
        if user is None:
            return
        spec = self.assets.get(event.asset)
        mark = str(event.mark) if spec is None else format_scaled(event.mark, spec.price_decimals)
        level = format_scaled(event.margin_level_bps, 2)
        threshold = (
            "" if spec is None else f" (the margin-call level is {spec.margin_call_bps // 100}%)"
        )
        subject = f"Margin call: your {event.asset} position #{event.order_id}"
        body = (
            f"Your {event.asset} position #{event.order_id} has fallen to {level}% of its margin"
            f" at a mark of {mark}{threshold}.\n\n"
            "If the price keeps moving against it, the position will be liquidated. You can"
            " close it, in part or in full, from your dashboard:\n\n"
            f"{self.public_url}/\n"
        )
        await enqueue_email(conn, self.server_key, user.email, subject, body)
