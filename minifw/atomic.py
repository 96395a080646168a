"""Files written atomically: the whole new file, or the old one untouched.

The content goes to a temporary file beside the target, is flushed and fsynced,
then renamed over the target; any exception (a full disk, Ctrl-C) removes the
temporary file and leaves the previous file as it was. A process killed outright
(SIGKILL, a power cut) cannot clean up: its temporary file, named
``.<target>.<pid>.<random>.tmp``, is removed by the next write to the same target
once no process of that id runs on this machine.
"""

from __future__ import annotations

import contextlib
import glob
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomically(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(file)`` on a temporary file, then rename it to ``path``."""
    target = Path(path)
    folder = target.parent
    if not folder.is_dir():
        raise FileNotFoundError(
            f"Cannot write {str(path)!r}: the folder {str(folder)!r} does not exist "
            "(create it first, e.g. os.makedirs)."
        )
    _remove_stale_temporaries(target)
    handle, temporary = tempfile.mkstemp(
        dir=folder, prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:  # including KeyboardInterrupt: never leave a partial file behind
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _remove_stale_temporaries(target: Path) -> None:
    """Remove the temporary files of earlier writes to ``target`` whose process is gone."""
    prefix = f".{target.name}."
    for candidate in target.parent.glob(f"{glob.escape(prefix)}*.tmp"):
        pid = candidate.name[len(prefix) :].split(".", 1)[0]
        if pid.isdigit() and not _running(int(pid)):
            with contextlib.suppress(OSError):
                candidate.unlink()


def _running(pid: int) -> bool:
    """Whether a process with this id runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, owned by another user
        return True
    return True
