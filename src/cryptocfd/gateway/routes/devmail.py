"""``/dev/mailbox``: in ``dev`` only, the emails the platform sent, so a new user can sign in
with no SMTP server set up. It does not exist in ``prod``."""

from __future__ import annotations

import html
import re
from typing import Any

from litestar import Request, get

from cryptocfd.gateway.resources import resources_of

_LINK = re.compile(r"https?://\S+")


@get("/dev/mailbox", include_in_schema=False, media_type="text/html")
async def mailbox(request: Request[Any, Any, Any]) -> str:
    """The newest emails, links clickable."""
    rows = await resources_of(request.app).pool.fetch(
        "SELECT recipient, subject, body, created_at FROM email_outbox ORDER BY id DESC LIMIT 50"
    )
    items = []
    for row in rows:
        body = html.escape(row["body"])
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
