"""Bounds on what a data file may ask for, and the one error type of the data loaders.

A few bytes of a file can claim a great deal: an IDX header declaring shape (10¹², ), a gzip
member that inflates a thousandfold, a label of 10⁹ that makes the class count 10⁹ (and its
one-hot targets O(C²) memory). Every loader checks such claims against these caps *before*
allocating, and refuses with a ``DataError`` naming the file, the value and the cap.

``MAX_DATA_BYTES``: the most bytes a loader reads or inflates from one file (default 2 GiB;
MNIST's largest file is 47 MB). Loaders take ``max_bytes=`` to raise it.
``MAX_CLASSES``: the most classes labels may imply (default 1,000, ImageNet's count: one-hot
targets are built from a C × C identity, 8 MB at 1,000 and 800 MB at 10,000). Loaders take
``max_classes=`` to raise it.

Why refuse rather than renumber: class labels are class *indices*, so label ``k`` is output
``k`` of the network, ``predict`` prints the labels the file used, and a train and a test file
agree on what each output means. A label of 10⁹ is then almost surely an ID, not an index;
renumbering it silently would change what every prediction means, so the loader says so and
suggests renumbering or text labels (which are numbered in sorted order, names kept).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

MAX_DATA_BYTES = 2 * 1024**3
MAX_CLASSES = 1_000


class DataError(ValueError):
    """A data file or data set that cannot be used: unreadable, malformed, or asking too much."""


def regular_file(path: Path, what: str) -> int:
    """The size of ``path`` in bytes, after checking it is a regular file (not a folder, a FIFO
    or a device such as /dev/zero, which would be read forever)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise DataError(f"{what} {path}: no such file") from None
    except OSError as error:
        raise DataError(f"{what} {path}: cannot be read ({error.strerror})") from None
    if stat.S_ISDIR(info.st_mode):
        raise DataError(f"{what} {path}: is a folder, not a file; name the file itself")
    if not stat.S_ISREG(info.st_mode):
        raise DataError(f"{what} {path}: not a regular file (a device, pipe or socket); copy the data to a file")
    return info.st_size


def check_bytes(path: Path, what: str, claimed: int, max_bytes: int, detail: str) -> None:
    """Refuse ``claimed`` bytes beyond ``max_bytes`` before anything is allocated."""
    if claimed > max_bytes:
        raise DataError(
            f"{what} {path}: {detail} needs {claimed:,} bytes, more than the cap of {max_bytes:,} "
            "(pass max_bytes= to raise it if the file is trusted)"
        )


def check_classes(path: Path | str, what: str, largest: int, max_classes: int, where: str = "") -> None:
    """Refuse a largest label that implies more than ``max_classes`` classes."""
    if largest >= max_classes:
        raise DataError(
            f"{what} {path}{where}: label {largest} implies {largest + 1:,} classes, more than the cap of "
            f"{max_classes:,}; labels are class indices 0..C-1 (renumber them, or write them as text names, "
            "which are numbered in sorted order; max_classes= raises the cap)"
        )
