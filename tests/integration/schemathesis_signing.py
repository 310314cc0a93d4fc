"""A schemathesis hooks file (``SCHEMATHESIS_HOOKS``) that signs every request with an API key,
as the docs say a client must: HMAC-SHA256 under the key's secret of ``timestamp + api_key +
recv_window + payload``, computed here with hmac alone.

The run names the key with ``--header "X-CFD-API-KEY: ..."`` (so schemathesis knows it as the
operation's declared credential) and the secret in ``CRYPTOCFD_FUZZ_SECRET``. The signature is
made as the request leaves, by a ``requests`` auth callable that ``before_call`` hands to the
transport: it sees the prepared request, so it signs the exact query string and body bytes
sent, whatever schemathesis generated. A request without the key's header is left unsigned:
the probes of the ``ignored_auth`` check strip the header and must be refused.

Each answer's operation, method and status is appended to the file ``CRYPTOCFD_FUZZ_ANSWERS`` names,
so the test can tell that signed requests got through (a signer that never matched would
leave schemathesis with nothing but 401s, which it only warns about).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from typing import Any
from urllib.parse import urlsplit

import schemathesis

SECRET_ENV = "CRYPTOCFD_FUZZ_SECRET"  # noqa: S105 - the variable that holds it
ANSWERS_ENV = "CRYPTOCFD_FUZZ_ANSWERS"
KEY_HEADER = "X-CFD-API-KEY"
RECV_WINDOW = "5000"


def sign(request: Any) -> Any:
    """Add the signature headers to a prepared request that names the key (``requests`` calls
    this with the ``PreparedRequest`` once its URL and body are final)."""
    api_key = request.headers.get(KEY_HEADER)
    if api_key is None:
        return request
    if request.method in ("GET", "HEAD", "DELETE"):
        payload = urlsplit(request.url).query.encode()
    else:
        body = request.body or b""
        payload = body.encode() if isinstance(body, str) else bytes(body)
    stamp = str(time.time_ns() // 1_000_000)
    text = (stamp + api_key + RECV_WINDOW).encode() + payload
    secret = os.environ[SECRET_ENV].encode()
    request.headers["X-CFD-TIMESTAMP"] = stamp
    request.headers["X-CFD-RECV-WINDOW"] = RECV_WINDOW
    request.headers["X-CFD-SIGNATURE"] = hmac.new(secret, text, hashlib.sha256).hexdigest()
    return request


@schemathesis.hook
def before_call(
    context: schemathesis.HookContext, case: schemathesis.Case[Any], kwargs: dict[str, Any]
) -> None:
    """Sign the request as it is sent."""
    del context, case
    kwargs["auth"] = sign


@schemathesis.hook
def after_call(
    context: schemathesis.HookContext, case: schemathesis.Case[Any], response: schemathesis.Response
) -> None:
    """Note the operation, the method sent (the ``unsupported_method`` check sends others) and
    the status of the answer."""
    del context
    with open(os.environ[ANSWERS_ENV], "a", encoding="utf-8") as answers:
        answers.write(
            f"{case.operation.label}\t{response.request.method}\t{response.status_code}\n"
        )
