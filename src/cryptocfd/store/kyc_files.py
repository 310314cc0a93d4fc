"""KYC documents at rest: files in the state directory, never under the web root, each sealed
with the server key (AES-256-GCM, ``store.sealing``) and bound to its application and place,
so a file copied over another one, or the directory without the key, opens nothing.

A file is written whole under a temporary name and renamed into place (readable by its owner
only); its name is random, so it says nothing about whose it is.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptocfd.store.sealing import Sealer

_SEAL_INFO = b"cryptocfd kyc documents v1"
DIRECTORY = "kyc"


def _bound(request_id: int, position: int) -> bytes:
    return f"kyc:{request_id}:{position}".encode()


def documents_dir(state_dir: Path) -> Path:
    """Where the sealed documents are kept."""
    return state_dir / DIRECTORY


def write_document(
    state_dir: Path, server_key: bytes, request_id: int, position: int, content: bytes
) -> str:
    """Seal and store ``content``; the name it is stored as."""
    directory = documents_dir(state_dir)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.sealed"
    sealed = Sealer(server_key, _SEAL_INFO).seal(content, _bound(request_id, position))
    draft = directory / f".{name}.part"
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(sealed)
        out.flush()
        os.fsync(out.fileno())
    draft.rename(directory / name)
    return name


def read_document(
    state_dir: Path, server_key: bytes, request_id: int, position: int, stored_as: str
) -> bytes:
    """The content ``write_document`` stored as ``stored_as`` (``Unsealable`` if the file is
    not that document under this key)."""
    sealed = (documents_dir(state_dir) / Path(stored_as).name).read_bytes()
    return Sealer(server_key, _SEAL_INFO).open(sealed, _bound(request_id, position))
