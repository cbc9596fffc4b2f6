"""Files replaced in one step: a checkpoint, history.json or a picture is either the old file or
the whole new one, never a torn mix, and a killed writer leaves no temporary file behind.

The new contents go to an unnamed temporary file in the target's folder (``O_TMPFILE`` where the
system has it, else a named ``.<name>.<pid>.<random>.tmp``), are flushed to disk, named, and
renamed over the target (``os.replace`` is atomic).  A named leftover whose writer is dead is
removed by the next write of the same target.  Files are created with mode 0666 less the user's
umask, as ``open`` would.
"""

from __future__ import annotations

import glob
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def atomic_writer(target: Path) -> Iterator[BinaryIO]:
    """A binary file that replaces ``target`` in one step when the block ends without error.

    On any error (or interrupt) the temporary file is removed and ``target`` is untouched.
    Stale temporary files of ``target`` left by killed processes are removed first.
    """
    target = Path(target)
    _remove_stale_temporaries(target)
    fd, temporary = _open_temporary(target)
    try:
        with os.fdopen(fd, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
            if temporary is None:  # unnamed (O_TMPFILE): give it a name only now, when it is whole
                temporary = _temporary_name(target)
                _name_unnamed(file.fileno(), temporary)
        os.replace(temporary, target)
    except BaseException:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
        raise


def _name_unnamed(fd: int, name: Path) -> None:
    """Link the ``O_TMPFILE`` file open as ``fd`` at ``name`` (linkat through /proc/self/fd, as
    open(2) describes; ``os.link`` calls linkat, which follows the link, only given a dir fd)."""
    descriptors = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.link(str(fd), name, src_dir_fd=descriptors, follow_symlinks=True)
    finally:
        os.close(descriptors)


def _temporary_name(target: Path) -> Path:
    """``.<name>.<pid>.<random>.tmp`` beside ``target``: the pid tells a stale one from a live one."""
    return target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp")


def _open_temporary(target: Path) -> tuple[int, Path | None]:
    """A descriptor open for writing and its name (``None`` for an unnamed ``O_TMPFILE`` file)."""
    unnamed = getattr(os, "O_TMPFILE", 0)
    if unnamed and os.path.isdir("/proc/self/fd"):
        try:
            return os.open(target.parent, unnamed | os.O_WRONLY, 0o666), None
        except OSError:  # a file system without O_TMPFILE support: fall back to a named file
            pass
    name = _temporary_name(target)
    return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), name


def _remove_stale_temporaries(target: Path) -> None:
    """Remove ``.<name>.*.tmp`` beside ``target`` whose writer is gone (killed mid-save)."""
    for leftover in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        pid = leftover.name[len(target.name) + 2 :].split(".")[0]
        if pid.isdigit() and _running(int(pid)):
            continue  # another process is saving the same checkpoint right now
        leftover.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:  # it exists, and belongs to another user
        return True
    return True
