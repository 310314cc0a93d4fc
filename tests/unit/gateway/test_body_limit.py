"""How big a body may be: 16 KiB everywhere but on the route that takes KYC documents."""

from __future__ import annotations

from cryptocfd.gateway.body import MAX_BODY_BYTES, MAX_UPLOAD_BYTES, body_limit
from cryptocfd.identity.kyc import MAX_DOCUMENT_BYTES, MAX_DOCUMENTS


def test_body_limit_when_the_route_takes_documents_holds_one_too_many_of_them() -> None:
    assert body_limit(b"/api/v1/live/kyc") == MAX_UPLOAD_BYTES
    assert body_limit(b"/api/v1/live/kyc?x=1") == MAX_UPLOAD_BYTES
    assert MAX_UPLOAD_BYTES > (MAX_DOCUMENTS + 1) * MAX_DOCUMENT_BYTES


def test_body_limit_when_the_route_takes_json_is_16_kib() -> None:
    for target in (b"/api/v1/live/deposits", b"/api/v1/live/kyc/x", b"/api/v1/auth/login", b""):
        assert body_limit(target) == MAX_BODY_BYTES == 16_384
