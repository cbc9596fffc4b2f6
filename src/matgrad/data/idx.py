"""MNIST-format IDX files: read and write, raw or gzip-compressed.

Layout (all big-endian): two zero bytes, a data-type code, the number of dimensions ``k``;
then ``k`` unsigned 32-bit sizes; then the array in C order. Compression is recognised by the
gzip magic bytes, so a decompressed file that kept its ``.gz`` name still reads.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

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


def load_idx(path: PathLike) -> np.ndarray:
    """The array stored in the IDX file at ``path``, in native byte order (shape from the header).

    Raises ``ValueError`` naming the file when it is not IDX, is truncated, or has extra bytes.
    """
    raw = _read_bytes(Path(path))
    shape, dtype, offset = _parse_header(raw, path)
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(raw) - offset
    if found != expected:
        what = "truncated or corrupt" if found < expected else "trailing bytes after the data"
        raise ValueError(
            f"IDX file {path}: expected {expected} bytes of data for shape {shape} of {dtype.name}, "
            f"found {found} ({what})"
        )
    data = np.frombuffer(raw, dtype=dtype, count=expected // dtype.itemsize, offset=offset)
    return data.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


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


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed when it starts with the gzip magic."""
    raw = path.read_bytes()
    if not raw.startswith(GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(f"IDX file {path}: corrupt gzip data ({error})") from error


def _parse_header(raw: bytes, path: PathLike) -> tuple[tuple[int, ...], np.dtype, int]:
    """``(shape, dtype, offset of the data)`` from the magic number and the sizes."""
    if len(raw) < 4:
        raise ValueError(f"IDX file {path}: {len(raw)} bytes is too short for the 4-byte magic number")
    magic = int.from_bytes(raw[:4], "big")
    if raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"IDX file {path}: magic number 0x{magic:08X} is not IDX (its first two bytes must be zero)")
    if raw[2] not in TYPE_CODES:
        known = ", ".join(f"0x{code:02X} ({dtype.name})" for code, dtype in TYPE_CODES.items())
        raise ValueError(
            f"IDX file {path}: magic number 0x{magic:08X} has unknown data type 0x{raw[2]:02X}; known: {known}"
        )
    ndim = raw[3]
    if ndim == 0:
        raise ValueError(f"IDX file {path}: magic number 0x{magic:08X} declares 0 dimensions")
    offset = 4 + 4 * ndim
    if len(raw) < offset:
        raise ValueError(f"IDX file {path}: header declares {ndim} dimensions but the file ends after {len(raw)} bytes")
    shape = tuple(int(size) for size in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    return shape, TYPE_CODES[raw[2]], offset


def _type_code(dtype: np.dtype) -> int:
    """The IDX code of ``dtype``, whatever its byte order."""
    for code, idx_dtype in TYPE_CODES.items():
        if dtype.kind == idx_dtype.kind and dtype.itemsize == idx_dtype.itemsize:
            return code
    supported = ", ".join(dtype.name for dtype in TYPE_CODES.values())
    raise ValueError(f"write_idx: IDX cannot store dtype {dtype}; supported: {supported} (cast the array first)")
