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
    """The key in ``state_dir/name``, made on first use (hex text, readable by its owner only).

    The key is written in full to a file of this process's own and then hard-linked into place,
    which fails if another process got there first: so no process ever reads a key that is
    still being written, and every process ends up with the same one.
    """
    path = state_dir / name
    if not path.exists():
        state_dir.mkdir(parents=True, exist_ok=True)
        draft = state_dir / f".{name}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(nbytes))
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process made it first; read theirs
        else:
            log.warning("no key configured: generated a development key at %s", path)
        finally:
            draft.unlink()
    return bytes.fromhex(path.read_text().strip())


def server_key(settings: Settings) -> bytes:
    """The server key (``CRYPTOCFD_SECRET_KEY``): it signs tokens and seals the email outbox.

    In ``dev`` without one configured, a key is made in the state directory (settings refuse
    to start ``prod`` without it), so the gateways and the worker share it.
    """
    if settings.secret_key:
        return settings.secret_key.encode()
    return dev_key_file(settings.state_path, "secret.key")
