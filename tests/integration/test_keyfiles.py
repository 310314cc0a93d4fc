"""Development keys: every process of one installation that starts at once gets the same key."""

from __future__ import annotations

import multiprocessing
import tempfile
from multiprocessing.synchronize import Barrier
from pathlib import Path

from cryptocfd.store.keyfiles import dev_key_file

PROCESSES = 6
ROUNDS = 15


def _read_key(state_dir: str, start: Barrier, out: multiprocessing.Queue[bytes]) -> None:
    start.wait()
    out.put(dev_key_file(Path(state_dir), "secret.key"))


def test_dev_key_when_processes_start_together_is_one_whole_key_for_all() -> None:
    context = multiprocessing.get_context("fork")
    for _ in range(ROUNDS):
        with tempfile.TemporaryDirectory() as state_dir:
            start, out = context.Barrier(PROCESSES), context.Queue()
            workers = [
                context.Process(target=_read_key, args=(state_dir, start, out))
                for _ in range(PROCESSES)
            ]
            for worker in workers:
                worker.start()
            keys = {out.get(timeout=30) for _ in workers}
            for worker in workers:
                worker.join(30)

            assert len(keys) == 1
            assert len(keys.pop()) == 32
            assert [p.name for p in Path(state_dir).iterdir()] == ["secret.key"]
