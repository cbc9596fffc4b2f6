"""``load_dataset``: the names the CLI accepts, each giving a ``(train, test)`` pair."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from .csv_table import load_csv
from .dataset import Dataset
from .digits import load_digits
from .idx import PathLike
from .limits import MAX_DATA_BYTES, DataError
from .mnist import FILES, load_mnist
from .split import train_test_split
from .synthetic import make_circles, make_moons, make_spirals, make_xor

TEST_SIZE = 0.2  # held-out fraction for every set that has no split of its own

SYNTHETIC: dict[str, Callable[..., Dataset]] = {
    "moons": make_moons,
    "circles": make_circles,
    "spirals": make_spirals,
    "xor": make_xor,
}
DATASET_NAMES = ("digits", *SYNTHETIC, "mnist", "csv:<path>")


def load_dataset(
    name: str, data_dir: PathLike | None = None, seed: int = 0, n: int | None = None, max_bytes: int = MAX_DATA_BYTES
) -> tuple[Dataset, Dataset]:
    """``(train, test)`` for one of ``DATASET_NAMES``.

    - ``"digits"``: scikit-learn's 8×8 digits, stratified 80/20 split (``TEST_SIZE``).
    - ``"moons"``, ``"circles"``, ``"spirals"``, ``"xor"``: generated from ``seed`` with ``n``
      examples (``None``: the generator's default), then split 80/20 stratified.
    - ``"mnist"``: the IDX files in ``data_dir``, with their own train/test split.
    - ``"csv:<path>"``: ``load_csv(path)``, split 80/20 stratified.

    ``n`` applies to the synthetic sets only. Generation and split draw from independent
    streams derived from ``seed``. ``max_bytes`` bounds what a file may hold (``matgrad.data.limits``);
    problems raise ``DataError``.
    """
    data_seed, split_seed = (int(s) for s in np.random.SeedSequence(seed).generate_state(2))
    if n is not None and name not in SYNTHETIC:
        raise DataError(f"load_dataset: n applies to the synthetic sets ({', '.join(SYNTHETIC)}), not {name!r}")
    if name == "mnist":
        if data_dir is None:
            raise DataError(
                "mnist needs data_dir (--data-dir FOLDER on the command line), the folder holding "
                f"{', '.join(FILES.values())} (each may end in .gz); MNIST is not downloaded"
            )
        return load_mnist(data_dir, max_bytes=max_bytes)
    if name == "digits":
        dataset = load_digits()
    elif name in SYNTHETIC:
        size = {} if n is None else {"n": n}
        dataset = SYNTHETIC[name](seed=data_seed, **size)
    elif name.startswith("csv:") and len(name) > len("csv:"):
        dataset = load_csv(Path(name[len("csv:") :]), max_bytes=max_bytes)
    else:
        raise DataError(f"unknown dataset {name!r}; valid names: {', '.join(DATASET_NAMES)}")
    return train_test_split(dataset, test_size=TEST_SIZE, seed=split_seed)
