"""``/dev/mailbox``: in ``dev`` only, the emails the platform sent, so a new user can sign in
with no SMTP server set up. It does not exist in ``prod``.

Bodies are sealed in the outbox; this page opens them with the server key, as the worker does.
With no SMTP server the worker keeps them sealed once "sent" (this page is the only inbox);
with one, a sent body is purged and shows here as gone."""

from __future__ import annotations

import html
import re

from litestar import get

from cryptocfd.gateway.deps import ResourcesDep
from cryptocfd.store.outbox import UnreadableEmail, open_body

_LINK = re.compile(r"https?://\S+")


@get("/dev/mailbox", include_in_schema=False, media_type="text/html")
async def mailbox(resources: ResourcesDep) -> str:
    """The newest emails, links clickable."""
    rows = await resources.pool.fetch(
        "SELECT recipient, subject, sealed_body, created_at FROM email_outbox"
        " ORDER BY id DESC LIMIT 50"
    )
    items = []
    for row in rows:
        body = html.escape(_opened(resources.secret, row["recipient"], row["sealed_body"]))
        body = _LINK.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', body)
        items.append(
            f"<article><h2>{html.escape(row['subject'])}</h2>"
            f"<p>To {html.escape(row['recipient'])} · {row['created_at']:%Y-%m-%d %H:%M:%S} UTC</p>"
            f"<pre>{body}</pre></article>"
        )
    empty = "<p>No email yet. Ask for a sign-in link first.</p>"
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<title>Dev mailbox · CryptoCFD</title></head><body>"
        "<h1>Dev mailbox</h1><p>Development only: what the platform emailed.</p>"
        + ("".join(items) or empty)
        + "</body></html>"
    )


def _opened(server_key: bytes, recipient: str, sealed: bytes | None) -> str:
    if sealed is None:
        return "(sent to an SMTP server: the outbox keeps no body once sent)"
    try:
        return open_body(server_key, recipient, sealed)
    except UnreadableEmail:
        return "(sealed with another server key)"
