"""Crash-safe files: write to a temporary file in the same folder, fsync, rename over, fsync the folder.

A reader (or the agent after a power cut) sees either the old content or the new, never half of it.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on a directory; the rename is still atomic
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes, *, mode: int = 0o600, durable: bool = True) -> None:
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    if durable:
        fsync_dir(path.parent)


def atomic_write_json(path: Path, data: Any, *, mode: int = 0o600, durable: bool = True) -> None:
    atomic_write_bytes(path, json.dumps(data, separators=(",", ":"), sort_keys=True).encode("utf-8"),
                       mode=mode, durable=durable)


def remove_stale_temporaries(directory: Path) -> None:
    """Temporaries left by a crash between write and rename are garbage."""
    for leftover in Path(directory).glob(".*.tmp"):
        with contextlib.suppress(OSError):
            leftover.unlink()
