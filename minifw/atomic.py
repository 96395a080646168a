"""Files written atomically: the whole new file, or the old one untouched.

The content goes to a temporary file beside the target, is flushed and fsynced,
then renamed over the target; any exception (a full disk, Ctrl-C) removes the
temporary file and leaves the previous file as it was.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomically(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(file)`` on a temporary file, then rename it to ``path``."""
    target = Path(path)
    handle, temporary = tempfile.mkstemp(
        dir=target.parent if str(target.parent) else ".", prefix=f".{target.name}.", suffix=".tmp"
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
