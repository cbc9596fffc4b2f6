"""MNIST-format IDX files: read and write, raw or gzip-compressed.

Layout (all big-endian): two zero bytes, a data-type code, the number of dimensions ``k``;
then ``k`` unsigned 32-bit sizes; then the array in C order. Compression is recognised by the
gzip magic bytes, so a decompressed file that kept its ``.gz`` name still reads.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .limits import MAX_DATA_BYTES, DataError, check_bytes, regular_file

PathLike = str | os.PathLike

TYPE_CODES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
GZIP_MAGIC = b"\x1f\x8b"


def load_idx(path: PathLike, max_bytes: int = MAX_DATA_BYTES) -> np.ndarray:
    """The array stored in the IDX file at ``path``, in native byte order (shape from the header).

    Raises ``DataError`` naming the file when it is not a regular file or not IDX, is truncated,
    has extra bytes, or declares more than ``max_bytes`` of data (checked from the header, before
    the data is read or inflated).
    """
    path = Path(path)
    regular_file(path, "IDX file")
    with open(path, "rb") as file:
        gzipped = file.read(2) == GZIP_MAGIC
        file.seek(0)
        stream = gzip.GzipFile(fileobj=file, mode="rb") if gzipped else file
        try:
            return _read_idx(stream, path, max_bytes)
        except (OSError, EOFError, zlib.error) as error:
            if gzipped:
                raise DataError(f"IDX file {path}: corrupt gzip data ({error})") from error
            raise DataError(f"IDX file {path}: cannot be read ({error})") from error


def write_idx(path: PathLike, array: np.ndarray) -> Path:
    """Write ``array`` (at least 1-D, dtype uint8, int8, int16, int32, float32 or float64) to ``path``.

    A name ending in ``.gz`` is gzip-compressed. Returns the path written.
    """
    array = np.asarray(array)
    code = _type_code(array.dtype)
    if array.ndim < 1 or array.ndim > 255:
        raise ValueError(f"write_idx: an IDX array has 1 to 255 dimensions, got shape {array.shape}")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    body = np.ascontiguousarray(array, dtype=TYPE_CODES[code]).tobytes()
    path = Path(path)
    if path.suffix == ".gz":
        with open(path, "wb") as file, gzip.GzipFile(fileobj=file, mode="wb", mtime=0) as stream:
            stream.write(header + body)
    else:
        path.write_bytes(header + body)
    return path


def _read_idx(stream: BinaryIO, path: Path, max_bytes: int) -> np.ndarray:
    """Header first, its claim checked against ``max_bytes``, then exactly the data it declares."""
    head = stream.read(4)
    dtype, ndim = _parse_magic(head, path)
    sizes = stream.read(4 * ndim)
    if len(sizes) < 4 * ndim:
        raise DataError(
            f"IDX file {path}: header declares {ndim} dimensions but the file ends after {4 + len(sizes)} bytes"
        )
    shape = tuple(int(size) for size in np.frombuffer(sizes, dtype=">u4"))
    expected = math.prod(shape) * dtype.itemsize
    nominal = math.prod(max(size, 1) for size in shape) * dtype.itemsize  # (0, 2³¹, 2³¹) is no array either
    check_bytes(path, "IDX file", nominal, max_bytes, f"its header's shape {shape} of {dtype.name}")
    body = stream.read(expected)
    found = len(body) + (_count_rest(stream, max_bytes) if len(body) == expected else 0)
    if found != expected:
        what = "truncated or corrupt" if found < expected else "trailing bytes after the data"
        raise DataError(
            f"IDX file {path}: expected {expected} bytes of data for shape {shape} of {dtype.name}, "
            f"found {found} ({what})"
        )
    data = np.frombuffer(body, dtype=dtype)
    return data.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


def _count_rest(stream: BinaryIO, limit: int) -> int:
    """How many bytes are left in ``stream`` (counted in chunks, stopping past ``limit``)."""
    count = 0
    while count <= limit:
        chunk = stream.read(1 << 20)
        if not chunk:
            break
        count += len(chunk)
    return count


def _parse_magic(head: bytes, path: Path) -> tuple[np.dtype, int]:
    """``(dtype, number of dimensions)`` from the 4-byte magic number."""
    if len(head) < 4:
        raise DataError(f"IDX file {path}: {len(head)} bytes is too short for the 4-byte magic number")
    magic = int.from_bytes(head, "big")
    if head[0] != 0 or head[1] != 0:
        raise DataError(f"IDX file {path}: magic number 0x{magic:08X} is not IDX (its first two bytes must be zero)")
    if head[2] not in TYPE_CODES:
        known = ", ".join(f"0x{code:02X} ({dtype.name})" for code, dtype in TYPE_CODES.items())
        raise DataError(
            f"IDX file {path}: magic number 0x{magic:08X} has unknown data type 0x{head[2]:02X}; known: {known}"
        )
    if head[3] == 0:
        raise DataError(f"IDX file {path}: magic number 0x{magic:08X} declares 0 dimensions")
    return TYPE_CODES[head[2]], head[3]


def _type_code(dtype: np.dtype) -> int:
    """The IDX code of ``dtype``, whatever its byte order."""
    for code, idx_dtype in TYPE_CODES.items():
        if dtype.kind == idx_dtype.kind and dtype.itemsize == idx_dtype.itemsize:
            return code
    supported = ", ".join(dtype.name for dtype in TYPE_CODES.values())
    raise ValueError(f"write_idx: IDX cannot store dtype {dtype}; supported: {supported} (cast the array first)")
