"""Encrypted engine snapshots on disk: AES-256-GCM, written atomically, kept N deep.

A file is ``MAGIC | header length (4 bytes) | header (msgpack) | ciphertext``. The header says
which log record the image includes and the state hash it must restore to; it is authenticated
as associated data, so neither it nor the image can be altered unnoticed. A snapshot that fails
authentication or will not decode is skipped, with a log line, for the one before it.
"""

from __future__ import annotations

import logging
import mmap
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cryptocfd.store.keyfiles import dev_key_file
from cryptocfd.trading.snapshot.image import EngineImage

log = logging.getLogger(__name__)

MAGIC = b"CCFDSNAP"
FORMAT = 2  # 2: the columnar image (trading/snapshot/image.py); a format 1 file is skipped, logged
KEY_BYTES = 32
SUFFIX = ".snap"
HEADER_READ = 4096  # enough of a file to hold its header


class SnapshotHeader(msgspec.Struct, frozen=True):
    """What a snapshot says about itself, in the clear but authenticated."""

    format: int
    sequence: int
    last_record_id: str  # the newest stream:exnessReceive record the image includes
    state_hash: str
    created_ms: int
    nonce: bytes


@dataclass(frozen=True)
class Snapshot:
    """A snapshot read back and verified."""

    header: SnapshotHeader
    image: EngineImage
    path: Path


class SnapshotClash(Exception):  # noqa: N818 - it names what happened
    """A snapshot of this number is on disk already: another engine (an old leader's child
    still writing at a takeover) got there first, and its file stands."""


class SnapshotError(Exception):
    """A snapshot file that cannot be trusted."""


def parse_key(text: str) -> bytes:
    """A 256-bit key from 64 hex digits."""
    try:
        key = bytes.fromhex(text.strip())
    except ValueError as exc:
        raise ValueError("CRYPTOCFD_SNAPSHOT_KEY must be 64 hex digits") from exc
    if len(key) != KEY_BYTES:
        raise ValueError("CRYPTOCFD_SNAPSHOT_KEY must be 64 hex digits (256 bits)")
    return key


def dev_key(state_dir: Path) -> bytes:
    """The development key kept in the state directory, made on first use."""
    return parse_key(dev_key_file(state_dir, "snapshot.key", KEY_BYTES).hex())


class SnapshotStore:
    """The snapshots of one engine, in one directory."""

    def __init__(self, directory: Path, key: bytes, keep: int = 3) -> None:
        if keep < 1:
            raise ValueError("keep at least one snapshot")
        self.directory = directory
        self._aead = AESGCM(key)
        self.keep = keep

    def paths(self) -> list[Path]:
        """Snapshot files, newest first."""
        if not self.directory.exists():
            return []
        return sorted(self.directory.glob(f"snapshot-*{SUFFIX}"), reverse=True)

    def oldest_record_id(self) -> str | None:
        """The smallest last-record id among the snapshots' headers, if any.

        Headers are read without decrypting (that would pause the engine for every image);
        taking the minimum over all of them means one altered header cannot trim too far.
        """
        ids = []
        for path in self.paths():
            try:
                with open(path, "rb") as snapshot:
                    prefix = snapshot.read(HEADER_READ)
                ids.append(self._header(prefix, path)[0].last_record_id)
            except (SnapshotError, OSError):
                continue
        return min(ids, key=lambda i: tuple(int(p) for p in i.split("-"))) if ids else None

    def newest_sequence(self) -> int:
        """The highest sequence number on disk (0 with none), valid or not."""
        numbers = [int(p.stem.removeprefix("snapshot-")) for p in self.paths()]
        return max(numbers, default=0)

    def remove_partial(self) -> int:
        """Delete temporary files left by a writer that died mid-write; say how many."""
        if not self.directory.exists():
            return 0
        leftovers = list(self.directory.glob("snapshot-*.tmp"))
        for leftover in leftovers:
            log.warning("removing %s, left by a snapshot writer that died", leftover.name)
            leftover.unlink(missing_ok=True)
        return len(leftovers)

    def write(self, image_bytes: bytes, header: SnapshotHeader) -> Path:
        """Encrypt and write a snapshot atomically, then drop all but the newest ``keep``.

        Two engines can write the same number: a leader fenced out at a takeover may still
        have a child writing while the new leader writes its first. Each writes its own
        temporary file, and the snapshot is published with a hard link, which never replaces
        a file: the second writer gets ``SnapshotClash`` and its file is dropped, so no
        snapshot is ever overwritten after the streams were trimmed behind it.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        header_bytes = msgspec.msgpack.encode(header)
        preamble = MAGIC + len(header_bytes).to_bytes(4, "big") + header_bytes
        sealed = self._aead.encrypt(header.nonce, image_bytes, preamble)
        path = self.directory / f"snapshot-{header.sequence:012d}{SUFFIX}"
        temporary = path.with_name(f"{path.stem}.{os.getpid()}.tmp")
        try:
            with open(temporary, "wb") as out:
                out.write(preamble)
                out.write(sealed)
                out.flush()
                os.fsync(out.fileno())
            os.link(temporary, path)
        except FileExistsError as exc:
            raise SnapshotClash(f"{path.name} exists: another engine wrote it first") from exc
        finally:
            temporary.unlink(missing_ok=True)
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself must survive a power cut
        finally:
            os.close(directory)
        for old in self.paths()[self.keep :]:
            old.unlink(missing_ok=True)
        return path

    def _header(self, data: bytes, path: Path) -> tuple[SnapshotHeader, int]:
        """The header of a snapshot's bytes, and where the ciphertext starts."""
        if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 4:
            raise SnapshotError(f"{path.name}: not a snapshot")
        size = int.from_bytes(data[len(MAGIC) : len(MAGIC) + 4], "big")
        end = len(MAGIC) + 4 + size
        try:
            header = msgspec.msgpack.decode(data[len(MAGIC) + 4 : end], type=SnapshotHeader)
        except msgspec.MsgspecError as exc:
            raise SnapshotError(f"{path.name}: unreadable header") from exc
        if header.format != FORMAT:
            raise SnapshotError(f"{path.name}: format {header.format} is not {FORMAT}")
        return header, end

    def read(self, path: Path) -> Snapshot:
        """Read, authenticate and decode one snapshot, or raise ``SnapshotError``.

        The file is mapped rather than read: decryption reads the page cache directly, saving
        a copy of the whole file.
        """
        with open(path, "rb") as file:
            if os.fstat(file.fileno()).st_size < len(MAGIC) + 4:
                raise SnapshotError(f"{path.name}: not a snapshot")
            with (
                mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data,
                memoryview(data) as view,
            ):
                header, end = self._header(data[:HEADER_READ], path)
                try:
                    plain = self._aead.decrypt(header.nonce, view[end:], view[:end])
                except InvalidTag as exc:
                    raise SnapshotError(f"{path.name}: failed authentication") from exc
        try:
            image = msgspec.msgpack.decode(plain, type=EngineImage)
        except msgspec.MsgspecError as exc:
            raise SnapshotError(f"{path.name}: unreadable image") from exc
        return Snapshot(header, image, path)

    def valid(self) -> Iterator[Snapshot]:
        """Snapshots that authenticate and decode, newest first; the others are logged."""
        for path in self.paths():
            try:
                yield self.read(path)
            except (SnapshotError, OSError) as exc:
                log.error("skipping snapshot %s: %s", path, exc)  # noqa: TRY400 - no traceback helps


def new_header(
    sequence: int, last_record_id: str, state_hash: str, created_ms: int
) -> SnapshotHeader:
    """A header with a fresh random nonce."""
    return SnapshotHeader(FORMAT, sequence, last_record_id, state_hash, created_ms, os.urandom(12))
