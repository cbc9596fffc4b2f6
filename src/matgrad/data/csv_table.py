"""Classification data from a CSV file: numeric feature columns and one target column."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .dataset import Dataset
from .idx import PathLike
from .limits import MAX_CLASSES, MAX_DATA_BYTES, DataError, check_bytes, check_classes, regular_file

Row = tuple[int, list[str]]  # (line number in the file, cells)


def load_csv(
    path: PathLike,
    target: int | str = -1,
    header: bool | Literal["auto"] = "auto",
    dtype: Any = np.float32,
    max_bytes: int = MAX_DATA_BYTES,
    max_classes: int = MAX_CLASSES,
) -> Dataset:
    """A ``Dataset`` whose ``X`` (shape ``(rows, columns - 1)``) is every column but ``target``.

    ``target``: the label column, by index (negative counts from the end) or by header name.
    ``header``: ``True``, ``False``, or ``"auto"``: the first row is a header when one of its cells
    is not a number while the cell below it is (or, for a one-row file, when none is a number).
    Labels that are all integers (``3`` or ``3.0``, none negative) are used as they are, with
    ``classes = max + 1``; otherwise every label is a name, mapped to ``0..k-1`` in sorted order
    and kept in ``label_names``. A feature that is not a finite number raises ``ValueError``
    naming its line and column. The dataset is named after the file's stem.

    Every problem raises ``DataError`` (a ``ValueError``). ``path`` must be a regular file of at
    most ``max_bytes`` bytes, and integer labels may imply at most ``max_classes`` classes
    (see ``matgrad.data.limits``: a label of 10⁹ is refused, not given 10⁹ outputs).
    """
    path = Path(path)
    size = regular_file(path, "CSV")
    check_bytes(path, "CSV", size, max_bytes, "the file")
    rows = _read_rows(path)
    if header not in (True, False, "auto"):
        raise DataError(f"CSV {path}: header must be True, False or 'auto', got {header!r}")
    names = rows.pop(0)[1] if (header is True or (header == "auto" and _looks_like_header(rows))) else None
    if not rows:
        raise DataError(f"CSV {path}: no data rows")
    width = len(names) if names is not None else len(rows[0][1])
    for line, cells in rows:
        if len(cells) != width:
            raise DataError(f"CSV {path}, line {line}: expected {width} columns, found {len(cells)}")
    column = _target_column(path, target, names, width)
    X = _features(path, rows, column, names).astype(dtype)
    y, classes, label_names = _labels(path, [(line, cells[column].strip()) for line, cells in rows], max_classes)
    return Dataset(X, y, path.stem, classes, label_names)


def _read_rows(path: Path) -> list[Row]:
    """Non-blank rows with their line numbers (a UTF-8 byte-order mark is dropped)."""
    rows = []
    with open(path, newline="", encoding="utf-8-sig") as file:
        reader = csv.reader(file)
        try:
            for cells in reader:
                if any(cell.strip() for cell in cells):
                    rows.append((reader.line_num, cells))
        except (csv.Error, UnicodeDecodeError) as error:  # a binary file, a NUL byte, a runaway quoted field
            line = reader.line_num + 1
            raise DataError(f"CSV {path}, line {line}: not readable as UTF-8 CSV text ({error})") from None
    if not rows:
        raise DataError(f"CSV {path}: the file holds no rows")
    return rows


def _looks_like_header(rows: list[Row]) -> bool:
    """Whether the first row names the columns (see ``load_csv``)."""
    first = rows[0][1]
    if len(rows) == 1:
        return not any(_is_number(cell) for cell in first)
    second = rows[1][1]
    return any(not _is_number(a) and _is_number(b) for a, b in zip(first, second))


def _target_column(path: Path, target: int | str, names: list[str] | None, width: int) -> int:
    """The target's column index in ``[0, width)``."""
    if width < 2:
        raise DataError(f"CSV {path}: needs at least two columns (features and a target), found {width}")
    if isinstance(target, str):
        if names is None:
            raise DataError(f"CSV {path}: target {target!r} is a column name but the file has no header")
        stripped = [name.strip() for name in names]
        if target.strip() not in stripped:
            raise DataError(f"CSV {path}: no column named {target!r}; columns: {', '.join(stripped)}")
        return stripped.index(target.strip())
    if not -width <= target < width:
        raise DataError(f"CSV {path}: target column {target} is out of range for {width} columns")
    return target % width


def _features(path: Path, rows: list[Row], column: int, names: list[str] | None) -> np.ndarray:
    """Every column but ``column`` as float64, shape ``(len(rows), width - 1)``."""
    X = np.empty((len(rows), len(rows[0][1]) - 1))
    for i, (line, cells) in enumerate(rows):
        values = cells[:column] + cells[column + 1 :]
        try:
            X[i] = [float(value) for value in values]
        except ValueError:
            X[i] = [float(value) if _is_number(value) else math.nan for value in values]
        bad = np.flatnonzero(~np.isfinite(X[i]))
        if bad.size:
            j = int(bad[0]) + (int(bad[0]) >= column)  # back to the file's column index
            label = f"column {j + 1}" + (f" ({names[j].strip()!r})" if names is not None else "")
            raise DataError(f"CSV {path}, line {line}, {label}: {cells[j]!r} is not a finite number")
    return X


def _labels(
    path: Path, labels: list[tuple[int, str]], max_classes: int
) -> tuple[np.ndarray, int, tuple[str, ...] | None]:
    """``(y, classes, label_names)`` from the target cells (see ``load_csv``)."""
    for line, label in labels:
        if not label:
            raise DataError(f"CSV {path}, line {line}: the target value is empty")
    if not all(_is_number(label) for _, label in labels):
        names = tuple(sorted({label for _, label in labels}))
        code = {name: k for k, name in enumerate(names)}
        return np.array([code[label] for _, label in labels], dtype=np.int64), len(names), names
    for line, label in labels:
        value = float(label)
        if not value.is_integer() or value < 0:
            raise DataError(
                f"CSV {path}, line {line}: class label {label!r} is not a non-negative integer "
                "(numeric labels must be 0, 1, 2, ...; text labels are mapped to integers)"
            )
    line, largest = max(((line, int(float(label))) for line, label in labels), key=lambda pair: pair[1])
    check_classes(path, "CSV", largest, max_classes, f", line {line}")
    y = np.array([int(float(label)) for _, label in labels], dtype=np.int64)
    return y, largest + 1, None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
