"""The supervisor's view of its processes, kept in a file of the state directory.

``cryptocfd up`` writes ``<state dir>/supervisor.json`` whenever a process starts or exits,
and deletes it when it stops; the gateway reads it for ``/readyz``. A file (rather than a Redis
key) because the view matters most when Redis is the thing that is down. It is written whole
and renamed into place, so a reader never sees half of it.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import msgspec

FILE = "supervisor.json"


class ProcessView(msgspec.Struct, frozen=True):
    """One supervised process: running or not, how often it was restarted, when next."""

    name: str
    running: bool
    restarts: int = 0
    last_exit_code: int | None = None
    next_start_ms: int | None = None  # when it is down: the wall time of the next try


class SupervisorView(msgspec.Struct, frozen=True):
    """Every supervised process, as of ``updated_ms``, by the supervisor with process id
    ``pid``."""

    updated_ms: int
    processes: list[ProcessView]
    pid: int = 0

    def down(self) -> list[ProcessView]:
        """The processes not running now."""
        return [p for p in self.processes if not p.running]


def view_path(state_dir: Path) -> Path:
    """Where the view of the supervisor of ``state_dir``'s installation is kept."""
    return state_dir / FILE


def write_view(path: Path, view: SupervisorView) -> None:
    """Replace the view at ``path`` in one step."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    draft.write_bytes(msgspec.json.encode(view))
    os.replace(draft, path)


def read_view(path: Path) -> SupervisorView | None:
    """The view at ``path``; None when there is no supervisor: no file, an unreadable one, or
    one left by a supervisor that was killed before it could delete it."""
    try:
        view = msgspec.json.decode(path.read_bytes(), type=SupervisorView)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None
    return view if _alive(view.pid) else None


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, run by another user
    return True


def remove_view(path: Path) -> None:
    """Delete the view (the supervisor has stopped)."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
