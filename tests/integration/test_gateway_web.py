"""The dashboard as the gateway serves it: the built page, its bundles, and a same-origin CSP."""

from __future__ import annotations

import re

from tests.integration.gateway_harness import Gateway


async def test_home_when_built_serves_the_dashboard_under_a_same_origin_policy(
    gateway: Gateway,
) -> None:
    page = await gateway.client.get("/")
    policy = page.headers["content-security-policy"]
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    bundles = [await gateway.client.get(source) for source in sources]

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<div id="app"' in page.text
    assert "default-src 'self'" in policy
    assert "script-src 'self';" in policy
    assert re.search(r"connect-src 'self' ws://[^ ]+ wss://[^ ;]+;", policy)
    assert "unsafe" not in policy
    assert any(source.startswith("/assets/") for source in sources)
    assert all(source.startswith("/") for source in sources)  # nothing from the internet
    assert [b.status_code for b in bundles] == [200] * len(sources)
    assert all(
        "immutable" in b.headers["cache-control"]
        for s, b in zip(sources, bundles, strict=True)
        if s.startswith("/assets/")
    )


async def test_assets_when_asked_for_what_is_not_built_answer_404(gateway: Gateway) -> None:
    for path in ("/assets/nothing.js", "/assets/../../pyproject.toml", "/assets/.hidden"):
        assert (await gateway.client.get(path)).status_code == 404
