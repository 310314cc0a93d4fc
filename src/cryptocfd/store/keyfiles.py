"""Development keys kept in the state directory, so that every process of one installation
(several gateways, say) signs with the same key without any configuration."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptocfd.settings import Settings

log = logging.getLogger(__name__)


def dev_key_file(state_dir: Path, name: str, nbytes: int = 32) -> bytes:
    """The key in ``state_dir/name``, made on first use (hex text, readable by its owner only)."""
    path = state_dir / name
    if not path.exists():
        state_dir.mkdir(parents=True, exist_ok=True)
        log.warning("no key configured: generated a development key at %s", path)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first; read theirs
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(nbytes))
    return bytes.fromhex(path.read_text().strip())


def server_key(settings: Settings) -> bytes:
    """The server key (``CRYPTOCFD_SECRET_KEY``): it signs tokens and seals the email outbox.

    In ``dev`` without one configured, a key is made in the state directory (settings refuse
    to start ``prod`` without it), so the gateways and the worker share it.
    """
    if settings.secret_key:
        return settings.secret_key.encode()
    return dev_key_file(settings.state_path, "secret.key")
