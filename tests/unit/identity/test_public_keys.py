"""Ed25519 public keys as uploaded: the two forms taken, the points refused (small order,
off the curve, not canonical), and signatures checked with ``cryptography``'s real keys."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from cryptocfd.identity.apikeys import HmacVerifier, KeyKind, Signed, replay_key, signature
from cryptocfd.identity.public_keys import (
    SMALL_ORDER_Y,
    Ed25519Verifier,
    InvalidPublicKey,
    check_point,
    parse_public_key,
    signature_holds,
)

P = 2**255 - 19
NOW = "1767225600000"


def raw_of(private: Ed25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def encoding(y: int, x_negative: bool = False) -> bytes:
    return (y | (x_negative << 255)).to_bytes(32, "little")


def test_parse_public_key_when_pem_or_raw_base64_gives_the_same_32_bytes() -> None:
    private = Ed25519PrivateKey.generate()
    pem = private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)

    assert parse_public_key(pem.decode()) == raw_of(private)
    assert parse_public_key("\n  " + pem.decode() + "\n") == raw_of(private)
    assert parse_public_key(base64.b64encode(raw_of(private)).decode()) == raw_of(private)


@pytest.mark.parametrize("y", sorted(SMALL_ORDER_Y))
@pytest.mark.parametrize("x_negative", [False, True])
def test_check_point_when_of_small_order_refuses_it(y: int, x_negative: bool) -> None:
    with pytest.raises(InvalidPublicKey, match="small order"):
        check_point(encoding(y, x_negative))


def test_a_small_order_key_is_refused_because_anyone_could_sign_for_it() -> None:
    # Why the check exists: the identity point verifies (R = identity, S = 0) for any message.
    identity = encoding(1)
    forged = identity + bytes(32)

    assert signature_holds(
        Ed25519PublicKey.from_public_bytes(identity),
        b"any request",
        base64.b64encode(forged).decode(),
    )
    with pytest.raises(InvalidPublicKey):
        parse_public_key(base64.b64encode(identity).decode())


def test_small_order_ys_are_those_whose_points_have_order_eight_at_most() -> None:
    # The two order-8 ys are each other's negation, and their points double to the order-4 points
    # (y = 0): y(2P) = (y^2 + x^2) / (2 + x^2 - y^2) on -x^2 + y^2 = 1 + d x^2 y^2 with x^2 from y.
    d = -121665 * pow(121666, -1, P) % P
    order_8 = sorted(SMALL_ORDER_Y - {0, 1, P - 1})

    for y in order_8:
        x2 = (y * y - 1) * pow(d * y * y + 1, -1, P) % P
        assert (y * y + x2) * pow(2 + x2 - y * y, -1, P) % P == 0
    assert sum(order_8) == P


def test_check_point_when_not_canonical_or_off_the_curve_refuses_it() -> None:
    off_curve = next(y for y in range(2, 100) if _not_square(y))

    with pytest.raises(InvalidPublicKey, match="canonical"):
        check_point(encoding(P + 2))
    with pytest.raises(InvalidPublicKey, match="not a point"):
        check_point(encoding(off_curve))


def _not_square(y: int) -> bool:
    d = -121665 * pow(121666, -1, P) % P
    x2 = (y * y - 1) * pow(d * y * y + 1, -1, P) % P
    return pow(x2, (P - 1) // 2, P) != 1


def test_parse_public_key_when_base64_is_not_canonical_refuses_it() -> None:
    text = base64.b64encode(raw_of(Ed25519PrivateKey.generate())).decode()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    respelled = text[:42] + alphabet[alphabet.index(text[42]) ^ 1] + text[43:]  # unused bits

    with pytest.raises(InvalidPublicKey):
        parse_public_key(respelled)
    with pytest.raises(InvalidPublicKey):
        parse_public_key(text.rstrip("="))


def test_ed25519_verifier_when_signed_by_its_private_key_holds_and_otherwise_not() -> None:
    private = Ed25519PrivateKey.generate()
    verifier = Ed25519Verifier(raw_of(private))
    message = f"{NOW}cfd_k5000".encode() + b'{"a":1}'
    good = base64.b64encode(private.sign(message)).decode()

    assert verifier.kind is KeyKind.ED25519
    assert verifier.matches(Signed("cfd_k", NOW, "5000", good, b'{"a":1}'))
    assert not verifier.matches(Signed("cfd_k", NOW, "5000", good, b'{"a":2}'))
    assert not verifier.matches(Signed("cfd_k", NOW, "4999", good, b'{"a":1}'))
    assert not verifier.matches(Signed("cfd_k", NOW, "5000", good.rstrip("="), b'{"a":1}'))
    assert not verifier.matches(Signed("cfd_k", NOW, "5000", "", b'{"a":1}'))


def test_replay_key_when_a_signature_is_respelled_stays_the_same() -> None:
    hmac_signed = Signed("cfd_k", NOW, "5000", "", b"q=1")
    hex_signature = signature("s3cret", hmac_signed)
    lower = Signed("cfd_k", NOW, "5000", hex_signature, b"q=1")
    upper = Signed("cfd_k", NOW, "5000", hex_signature.upper(), b"q=1")
    other = Signed("cfd_k", NOW, "5000", hex_signature, b"q=2")

    assert HmacVerifier("s3cret").matches(upper)
    assert replay_key(lower) == replay_key(upper) != replay_key(other)
