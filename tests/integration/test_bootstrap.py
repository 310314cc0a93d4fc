"""``scripts/bootstrap``, which ``make setup`` runs first: it installs what a fresh machine lacks,
or, without the rights to, names the exact packages and stops before anything else runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

BOOTSTRAP = Path(__file__).resolve().parents[2] / "scripts" / "bootstrap"
# What the script itself runs; everything else it checks for is left out on purpose.
SHELL_TOOLS = ("bash", "env", "id")


@pytest.fixture
def place() -> Iterator[Path]:
    """A directory that ``nobody`` can read (pytest's own are root's alone), holding a copy of
    the script."""
    directory = Path(tempfile.mkdtemp(prefix="cryptocfd-bootstrap-"))
    directory.chmod(0o755)
    shutil.copy(BOOTSTRAP, directory / "bootstrap")
    (directory / "bootstrap").chmod(0o755)
    yield directory
    shutil.rmtree(directory)


def _bare_bin(directory: Path, *tools: str) -> str:
    """A PATH of one directory holding only ``tools`` (links to this machine's own)."""
    directory.mkdir()
    directory.chmod(0o755)
    for tool in tools:
        found = shutil.which(tool)
        assert found is not None, tool
        (directory / tool).symlink_to(found)
    return str(directory)


def _as_unprivileged(argv: list[str], path: str) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` as a user who is neither root nor able to sudo (``nobody`` when we are
    root, ourselves otherwise), with nothing but ``path`` on PATH."""
    prefix = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
    return subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [*prefix, "/usr/bin/env", "-i", f"PATH={path}", "HOME=/tmp", *argv],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_bootstrap_when_packages_are_missing_and_no_root_names_them_and_stops(
    place: Path,
) -> None:
    path = _bare_bin(place / "bin", *SHELL_TOOLS)

    done = _as_unprivileged([str(place / "bootstrap"), "test"], path)

    assert done.returncode == 1, done
    lines = done.stderr.splitlines()
    install = next(line.strip() for line in lines if "apt-get install -y" in line)
    named = install.removeprefix("apt-get install -y").split()
    assert {"python3", "python3-venv", "python3-pip", "nodejs", "npm", "chromium"} <= set(named)
    assert "redis-server" in named  # the tests start private Redis servers of their own
    assert done.stdout == ""  # nothing was installed or built


def test_bootstrap_when_the_browser_is_missing_names_chromium_for_tests_not_for_run(
    place: Path,
) -> None:
    path = _bare_bin(place / "bin", *SHELL_TOOLS, "node", "npm", "redis-server")

    for_test = _as_unprivileged([str(place / "bootstrap"), "test"], path)
    for_run = _as_unprivileged([str(place / "bootstrap"), "run"], path)

    assert (for_test.returncode, for_run.returncode) == (1, 1), (for_test, for_run)
    assert "chromium" in for_test.stderr
    assert "chromium" not in for_run.stderr
    assert "nodejs" not in for_test.stderr  # what is there is not asked for


def test_bootstrap_when_the_machine_has_everything_does_nothing_and_says_nothing() -> None:
    done = subprocess.run(  # noqa: S603 - our own script
        [str(BOOTSTRAP), "test"], capture_output=True, text=True, timeout=30, check=False
    )

    assert done.returncode == 0, done
    assert done.stdout == ""
    assert done.stderr == ""
