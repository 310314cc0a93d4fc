"""Know your customer: what an application holds, and which documents it may carry.

A document is judged by its content, never by its name or the type a browser declared: its
first bytes must be a PDF's, a PNG's or a JPEG's (their magic numbers), and the type the
client declared must name the same one, so a mislabeled file is refused rather than stored
under a type it is not. Limits are per document (``MAX_DOCUMENT_BYTES``) and per application
(``MAX_DOCUMENTS``).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

import msgspec

MAX_DOCUMENTS = 2
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
MAX_FIELD_CHARS = {"full_name": 200, "country": 2, "address": 500}
OLDEST_BIRTH_YEAR = 1900
ADULT_AGE = 18


class KycStatus(StrEnum):
    """Where a user's verification stands: ``none`` until they apply."""

    NONE = "none"
    SUBMITTED = "submitted"
    VERIFIED = "verified"
    REJECTED = "rejected"


class DocumentType(StrEnum):
    """The document types accepted, by their media type."""

    PDF = "application/pdf"
    PNG = "image/png"
    JPEG = "image/jpeg"


# Each type's magic number: PDF 1.x "%PDF-", PNG's 8-byte signature, JPEG's SOI marker
# followed by the first marker's 0xFF.
_MAGIC = (
    (DocumentType.PDF, b"%PDF-"),
    (DocumentType.PNG, b"\x89PNG\r\n\x1a\n"),
    (DocumentType.JPEG, b"\xff\xd8\xff"),
)
# What browsers and tools declare for the same types.
_DECLARED_ALIASES = {"image/jpg": DocumentType.JPEG, "image/pjpeg": DocumentType.JPEG}


class DocumentProblem(ValueError):  # noqa: N818 - a refusal, with the API's code
    """A document that may not be stored; ``code`` is the API's."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def sniff(content: bytes) -> DocumentType | None:
    """The type ``content`` is, by its first bytes; ``None`` for none accepted."""
    for kind, magic in _MAGIC:
        if content.startswith(magic):
            return kind
    return None


def checked_document(content: bytes, declared: str | None) -> DocumentType:
    """The type of a document that may be stored, or ``DocumentProblem``: empty, over
    ``MAX_DOCUMENT_BYTES``, not a PDF, PNG or JPEG by content, or declared as another type."""
    if not content:
        raise DocumentProblem("DOCUMENT_EMPTY", "a document is empty")
    if len(content) > MAX_DOCUMENT_BYTES:
        limit = MAX_DOCUMENT_BYTES // (1024 * 1024)
        raise DocumentProblem("DOCUMENT_TOO_LARGE", f"each document is at most {limit} MB")
    kind = sniff(content)
    if kind is None:
        raise DocumentProblem(
            "DOCUMENT_TYPE_UNSUPPORTED", "documents must be PDF, PNG or JPEG files"
        )
    media = (declared or "").split(";", 1)[0].strip().lower()
    if _DECLARED_ALIASES.get(media, media) != kind:
        raise DocumentProblem(
            "DOCUMENT_TYPE_MISMATCH",
            f"a document declared as {media or 'nothing'} is a {kind.name} by its content",
        )
    return kind


def checked_documents(documents: list[tuple[bytes, str | None]]) -> list[DocumentType]:
    """Each document's type (``checked_document``), or ``DocumentProblem``: none at all, or
    more than ``MAX_DOCUMENTS``."""
    if not documents:
        raise DocumentProblem("DOCUMENT_REQUIRED", "send one or two documents[]")
    if len(documents) > MAX_DOCUMENTS:
        message = f"at most {MAX_DOCUMENTS} documents per application"
        raise DocumentProblem("TOO_MANY_DOCUMENTS", message)
    return [checked_document(content, declared) for content, declared in documents]


class Applicant(msgspec.Struct, frozen=True, kw_only=True):
    """Who applies: their name, date of birth, country (ISO 3166-1 alpha-2) and address."""

    full_name: str
    date_of_birth: date
    country: str
    address: str


def applicant(fields: dict[str, str], today: date) -> Applicant:
    """The applicant ``fields`` describe, or ``DocumentProblem`` with code ``INVALID_KYC``
    saying which field is wrong (every field is required; an adult born after 1900)."""
    values = {name: fields.get(name, "").strip() for name in (*MAX_FIELD_CHARS, "date_of_birth")}
    for name, limit in MAX_FIELD_CHARS.items():
        if not values[name] or len(values[name]) > limit or not values[name].isprintable():
            raise DocumentProblem("INVALID_KYC", f"{name}: required, up to {limit} characters")
    country = values["country"].upper()
    if not (country.isascii() and country.isalpha()):
        raise DocumentProblem("INVALID_KYC", "country: a two-letter ISO 3166 code, e.g. DE")
    try:
        born = date.fromisoformat(values["date_of_birth"])
    except ValueError as exc:
        raise DocumentProblem("INVALID_KYC", "date_of_birth: YYYY-MM-DD") from exc
    adult_on = date(born.year + ADULT_AGE, born.month, 28 if born.month == 2 else born.day)
    if born.year < OLDEST_BIRTH_YEAR or adult_on > today:
        raise DocumentProblem("INVALID_KYC", f"date_of_birth: applicants are {ADULT_AGE} or over")
    return Applicant(
        full_name=values["full_name"],
        date_of_birth=born,
        country=country,
        address=values["address"],
    )
