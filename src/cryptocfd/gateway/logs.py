"""JSON logs with request ids, and nothing secret in them.

Every line is one JSON object (structlog), the standard library's loggers included. Each
request's id is bound to every line logged while it is served (``edge.Edge``). Paths are
logged without their query string, where sign-in tokens travel; headers and bodies are never
logged.

Values are escaped where they are printed: JSON lines escape control characters themselves,
and the other processes' plain-text lines go through ``EscapingFormatter``, so a value holding
ESC, BEL or a newline can neither drive a terminal nor forge a log line.
"""

from __future__ import annotations

import copy
import logging
import re
import sys
from typing import Any

import structlog

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
PLAIN_FORMAT = "%(asctime)s %(name)s %(message)s"


def escape_controls(text: str) -> str:
    """``text`` with every control character written as ``\\xNN``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


class EscapingFormatter(logging.Formatter):
    """Plain-text lines whose logged values (the ``%s`` arguments) have control characters
    escaped; the message templates are ours and keep theirs."""

    def format(self, record: logging.LogRecord) -> str:
        """The line, with the record's string arguments escaped."""
        args = record.args
        if isinstance(args, tuple) and args:
            record = copy.copy(record)
            record.args = tuple(escape_controls(a) if isinstance(a, str) else a for a in args)
        return super().format(record)


def configure_plain_logging(level: int = logging.INFO) -> None:
    """Route the standard library's logging to plain-text lines on stderr, values escaped."""
    handler = logging.StreamHandler()
    handler.setFormatter(EscapingFormatter(PLAIN_FORMAT))
    logging.basicConfig(level=level, handlers=[handler])


def configure_logging(level: int = logging.INFO) -> None:
    """Route structlog and the standard library's logging to JSON lines on stdout."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # Our access line replaces uvicorn's, which prints the query string (sign-in tokens).
    access = logging.getLogger("uvicorn.access")
    access.handlers[:] = []
    access.propagate = False
