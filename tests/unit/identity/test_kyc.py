"""KYC's pure rules: a document's type by its content, the limits, and the applicant's fields."""

from __future__ import annotations

from datetime import date

import pytest

from cryptocfd.identity.kyc import (
    MAX_DOCUMENT_BYTES,
    DocumentProblem,
    DocumentType,
    applicant,
    checked_document,
    checked_documents,
    sniff,
)

PNG = b"\x89PNG\r\n\x1a\n" + bytes(8)
PDF = b"%PDF-1.4\n%\xe2\xe3"
JPEG = b"\xff\xd8\xff\xdb" + bytes(8)
TODAY = date(2026, 12, 3)
FIELDS = {
    "full_name": "Ada Trader",
    "date_of_birth": "1990-05-17",
    "country": "de",
    "address": "1 Main St",
}


@pytest.mark.parametrize(
    ("content", "kind"),
    [(PNG, DocumentType.PNG), (PDF, DocumentType.PDF), (JPEG, DocumentType.JPEG)],
)
def test_sniff_when_the_magic_number_matches_names_the_type(
    content: bytes, kind: DocumentType
) -> None:
    assert sniff(content) is kind
    assert checked_document(content, kind.value) is kind


@pytest.mark.parametrize("content", [b"GIF89a....", b"<html>", b"PK\x03\x04", b"\x89PN", b"%PD"])
def test_sniff_when_no_accepted_magic_number_is_none(content: bytes) -> None:
    assert sniff(content) is None
    with pytest.raises(DocumentProblem) as refused:
        checked_document(content, "image/png")
    assert refused.value.code == "DOCUMENT_TYPE_UNSUPPORTED"


@pytest.mark.parametrize(
    ("content", "declared", "code"),
    [
        (PNG, "application/pdf", "DOCUMENT_TYPE_MISMATCH"),
        (PDF, "image/jpeg", "DOCUMENT_TYPE_MISMATCH"),
        (JPEG, None, "DOCUMENT_TYPE_MISMATCH"),
        (b"", "image/png", "DOCUMENT_EMPTY"),
        (PNG + bytes(MAX_DOCUMENT_BYTES), "image/png", "DOCUMENT_TOO_LARGE"),
    ],
)
def test_checked_document_when_mislabeled_empty_or_too_big_is_refused(
    content: bytes, declared: str | None, code: str
) -> None:
    with pytest.raises(DocumentProblem) as refused:
        checked_document(content, declared)
    assert refused.value.code == code


def test_checked_document_when_declared_with_parameters_or_an_alias_is_accepted() -> None:
    assert checked_document(JPEG, "image/jpg") is DocumentType.JPEG
    assert checked_document(PDF, "Application/PDF; name=x.pdf") is DocumentType.PDF
    exactly = PNG + bytes(MAX_DOCUMENT_BYTES - len(PNG))
    assert checked_document(exactly, "image/png") is DocumentType.PNG


def test_checked_documents_when_none_or_too_many_is_refused() -> None:
    with pytest.raises(DocumentProblem, match="one or two") as none:
        checked_documents([])
    with pytest.raises(DocumentProblem) as three:
        checked_documents([(PNG, "image/png")] * 3)
    assert (none.value.code, three.value.code) == ("DOCUMENT_REQUIRED", "TOO_MANY_DOCUMENTS")
    assert checked_documents([(PNG, "image/png"), (PDF, "application/pdf")]) == [
        DocumentType.PNG,
        DocumentType.PDF,
    ]


def test_applicant_when_the_fields_are_good_is_normalized() -> None:
    who = applicant({**FIELDS, "full_name": "  Ada Trader "}, TODAY)

    assert who.full_name == "Ada Trader"
    assert who.country == "DE"
    assert who.date_of_birth == date(1990, 5, 17)


@pytest.mark.parametrize(
    "change",
    [
        {"full_name": ""},
        {"address": "a\x00b"},
        {"country": "DEU"},
        {"country": "1A"},
        {"date_of_birth": "1990-13-01"},
        {"date_of_birth": "1899-12-31"},
        {"date_of_birth": "2008-12-04"},  # 18 tomorrow
    ],
)
def test_applicant_when_a_field_is_bad_is_refused_invalid_kyc(change: dict[str, str]) -> None:
    with pytest.raises(DocumentProblem) as refused:
        applicant({**FIELDS, **change}, TODAY)
    assert refused.value.code == "INVALID_KYC"


def test_applicant_when_eighteen_today_is_an_adult() -> None:
    assert applicant({**FIELDS, "date_of_birth": "2008-12-03"}, TODAY).date_of_birth.year == 2008
