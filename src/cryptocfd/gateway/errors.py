"""Errors as the API speaks them: ``{"error": {"code", "message"}}`` with a 4xx status.

Every failure a client can cause has a stable code. The engine's business rejections keep the
engine's code. Anything else reaching the top is a bug: it is logged and answered as a 500
with no detail.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    ValidationException,
)
from redis.exceptions import RedisError

from cryptocfd.bus.client import EngineUnavailable
from cryptocfd.store.database import UNAVAILABLE, unreachable
from cryptocfd.trading.rejections import RejectCode, Rejection

log = logging.getLogger(__name__)


class ErrorDetail(msgspec.Struct, frozen=True):
    """What went wrong: a stable ``code`` to switch on and a ``message`` for people."""

    code: str
    message: str


class ErrorBody(msgspec.Struct, frozen=True):
    """Every error response's body."""

    error: ErrorDetail


class ApiError(Exception):
    """A request the API refuses, with its status and stable code."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> Response[ErrorBody]:
    """A JSON error response."""
    return Response(
        ErrorBody(ErrorDetail(code, message)), status_code=status, headers=dict(headers or {})
    )


def error_json(code: str, message: str) -> bytes:
    """An error body as bytes, for answers written below the framework (limits, sockets)."""
    return msgspec.json.encode(ErrorBody(ErrorDetail(code, message)))


# Engine rejections a client fixes by asking about something else get 404; a request id (an
# idempotency key) already spent on another request gets 409; those that say the request itself
# is malformed get 400; the rest are well-formed but refused now: 422. The gateway's own shape
# check answers with the engine's codes, so it goes through this one table too.
_NOT_FOUND = {RejectCode.ORDER_NOT_FOUND, RejectCode.UNKNOWN_ACCOUNT}
_CONFLICT = {RejectCode.IDEMPOTENCY_KEY_REUSED}
_UNPROCESSABLE = {
    RejectCode.INSUFFICIENT_BALANCE,
    RejectCode.POSITION_TOO_SMALL,
    RejectCode.WOULD_LIQUIDATE,
    RejectCode.SLIPPAGE_EXCEEDED,
    RejectCode.STOP_LOSS_BEYOND_LIQUIDATION,
    RejectCode.PRICE_UNAVAILABLE,
    RejectCode.PRICE_STALE,
    RejectCode.CLOSE_TOO_SMALL,
    RejectCode.ACCOUNT_EXISTS,
    RejectCode.ASSET_CLOSE_ONLY,
    RejectCode.ASSET_HALTED,
    RejectCode.EXPOSURE_LIMIT,
}


def rejected(rejection: Rejection) -> ApiError:
    """The API error for an engine rejection, with the engine's code."""
    if rejection.code in _NOT_FOUND:
        status = 404
    elif rejection.code in _CONFLICT:
        status = 409
    elif rejection.code in _UNPROCESSABLE:
        status = 422
    else:
        status = 400
    return ApiError(status, str(rejection.code), rejection.message)


def _validation_message(exc: ValidationException) -> str:
    extra = exc.extra
    if isinstance(extra, list) and extra:
        parts = []
        for item in extra:
            if isinstance(item, dict):
                key = item.get("key")
                text = item.get("message", "")
                parts.append(f"{key}: {text}" if key else str(text))
        if parts:
            return "; ".join(parts)
    return str(exc.detail)


def _on_api_error(_request: Request[Any, Any, Any], exc: ApiError) -> Response[ErrorBody]:
    return error_response(exc.status, exc.code, exc.message, exc.headers)


def _on_validation(_request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    return error_response(400, "INVALID_REQUEST", _validation_message(exc))


def _on_not_found(_request: Request[Any, Any, Any], _exc: NotFoundException) -> Response[Any]:
    return error_response(404, "NOT_FOUND", "no such route")


def _on_method(_request: Request[Any, Any, Any], exc: MethodNotAllowedException) -> Response[Any]:
    return error_response(405, "METHOD_NOT_ALLOWED", str(exc.detail), exc.headers)


def _on_http(_request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if exc.status_code >= 500:
        log.error("server error: %s", exc.detail)
        return error_response(exc.status_code, "INTERNAL_ERROR", "internal error")
    code = {401: "UNAUTHENTICATED", 403: "FORBIDDEN", 413: "BODY_TOO_LARGE"}.get(
        exc.status_code, "BAD_REQUEST"
    )
    return error_response(exc.status_code, code, str(exc.detail), exc.headers)


def _on_engine(_request: Request[Any, Any, Any], exc: EngineUnavailable) -> Response[Any]:
    return error_response(
        503,
        EngineUnavailable.code,
        f"the trading engine did not answer: {exc}",
        {"Retry-After": "1"},
    )


def _on_redis(_request: Request[Any, Any, Any], exc: RedisError) -> Response[Any]:
    log.error("Redis failed: %s", type(exc).__name__)
    message = "the platform's message bus is unavailable; retry shortly"
    return error_response(503, "SERVICE_UNAVAILABLE", message, {"Retry-After": "1"})


def _on_database(_request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.error("PostgreSQL failed: %s", type(exc).__name__)
    message = "the platform's database is unavailable; retry shortly"
    return error_response(503, "SERVICE_UNAVAILABLE", message, {"Retry-After": "1"})


def _on_os_error(request: Request[Any, Any, Any], exc: OSError) -> Response[Any]:
    """A server out of reach is PostgreSQL being away (Redis's own errors are ``RedisError``);
    any other ``OSError`` is a bug like the rest."""
    if unreachable(exc):
        return _on_database(request, exc)
    return _on_bug(request, exc)


def _on_timeout(_request: Request[Any, Any, Any], _exc: TimeoutError) -> Response[Any]:
    log.error("a backing service timed out")
    message = "a backing service did not answer in time; retry shortly"
    return error_response(503, "SERVICE_UNAVAILABLE", message, {"Retry-After": "1"})


def _on_bug(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "INTERNAL_ERROR", "internal error; it has been logged")


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    ApiError: _on_api_error,
    ValidationException: _on_validation,
    NotFoundException: _on_not_found,
    MethodNotAllowedException: _on_method,
    HTTPException: _on_http,
    EngineUnavailable: _on_engine,
    RedisError: _on_redis,
    # PostgreSQL down, restarting or out of connections.
    **dict.fromkeys(UNAVAILABLE, _on_database),
    OSError: _on_os_error,
    TimeoutError: _on_timeout,  # asyncpg's pool and command timeouts, among others
    Exception: _on_bug,
}
