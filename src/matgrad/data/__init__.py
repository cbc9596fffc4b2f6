"""Data for training: embedded digits, synthetic 2-D sets, MNIST-format IDX files, CSV; batching.

NumPy only, except ``load_digits``, which imports scikit-learn (the ``cli`` extra) when called.
Every loader returns a ``Dataset`` (``X`` of shape ``(n, d)``, integer labels ``y`` of shape ``(n,)``).
"""

from .batching import batches, one_hot
from .csv_table import load_csv
from .dataset import Dataset
from .digits import load_digits
from .idx import load_idx, write_idx
from .limits import MAX_CLASSES, MAX_DATA_BYTES, DataError
from .mnist import load_mnist
from .registry import DATASET_NAMES, TEST_SIZE, load_dataset
from .split import train_test_split
from .standardize import Standardizer
from .synthetic import make_circles, make_moons, make_spirals, make_xor

__all__ = [
    "DATASET_NAMES", "MAX_CLASSES", "MAX_DATA_BYTES", "DataError",
    "Dataset", "Standardizer", "TEST_SIZE", "batches", "load_csv", "load_dataset",
    "load_digits", "load_idx", "load_mnist", "make_circles", "make_moons", "make_spirals", "make_xor",
    "one_hot", "train_test_split", "write_idx",
]
