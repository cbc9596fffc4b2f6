"""matgrad.data: datasets, synthetic sets, IDX and CSV files, splits, batches, standardizing."""

import sys

import numpy as np
import pytest

import matgrad.data as data

SYNTHETIC = [data.make_moons, data.make_circles, data.make_spirals, data.make_xor]


def nearest_neighbour_accuracy(dataset):
    """Leave-one-out 1-NN accuracy: near 1 when the classes are separable."""
    distances = ((dataset.X[:, None, :] - dataset.X[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(distances, np.inf)
    return float(np.mean(dataset.y[distances.argmin(1)] == dataset.y))


def write_mnist(directory, n_train=20, n_test=10, gz=False):
    """Tiny IDX files under the standard names; returns the arrays written."""
    rng = np.random.default_rng(0)
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = np.arange(n, dtype=np.uint8) % 10
        suffix = ".gz" if gz else ""
        data.write_idx(directory / f"{prefix}-images-idx3-ubyte{suffix}", images)
        data.write_idx(directory / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
        arrays[prefix] = images, labels
    return arrays


# ---------------------------------------------------------------- Dataset


def test_dataset_has_a_length_a_subset_and_a_short_repr():
    dataset = data.Dataset(np.arange(12.0).reshape(6, 2), np.array([0, 1, 2, 0, 1, 2]), "toy", 3)
    part = dataset.subset([4, 1])
    assert len(dataset) == 6 and len(part) == 2 and part.classes == 3 and part.name == "toy"
    np.testing.assert_array_equal(part.X, [[8.0, 9.0], [2.0, 3.0]])
    np.testing.assert_array_equal(part.y, [1, 1])
    assert dataset.y.dtype == np.int64
    assert repr(dataset) == "Dataset(name='toy', n=6, features=2, classes=3, dtype=float64)"
    with pytest.raises(AttributeError):
        dataset.classes = 4  # frozen


@pytest.mark.parametrize(
    "X, y, classes, problem",
    [
        (np.zeros(4), np.zeros(4, int), 2, "X must be 2-D"),
        (np.zeros((4, 2)), np.zeros((4, 1), int), 2, "y must be 1-D"),
        (np.zeros((4, 2)), np.zeros(3, int), 2, "X has 4 rows but y has 3 labels"),
        (np.zeros((4, 2)), np.array([0, 1, 2, 1]), 2, r"labels must lie in \[0, 2\), found values from 0 to 2"),
        (np.zeros((4, 2)), np.array([0, -1, 1, 1]), 2, r"labels must lie in \[0, 2\), found values from -1 to 1"),
        (np.zeros((4, 2)), np.zeros(4), 2, "y must hold integer class labels"),
        (np.zeros((4, 2), int), np.zeros(4, int), 2, "X must hold floats"),
        (np.zeros((4, 2)), np.zeros(4, int), 0, "classes must be a positive integer"),
    ],
)
def test_dataset_rejects_bad_fields_naming_the_dataset_and_the_problem(X, y, classes, problem):
    with pytest.raises(ValueError, match="dataset 'broken': " + problem):
        data.Dataset(X, y, "broken", classes)


def test_dataset_label_names_must_match_the_class_count():
    with pytest.raises(ValueError, match="2 names for 3 classes"):
        data.Dataset(np.zeros((3, 1)), np.array([0, 1, 2]), "named", 3, ("a", "b"))


# ---------------------------------------------------------------- digits


def test_digits_are_1797_images_of_64_pixels_in_the_unit_interval_with_10_classes():
    digits = data.load_digits()
    assert digits.X.shape == (1797, 64) and digits.X.dtype == np.float32
    assert digits.X.min() == 0.0 and digits.X.max() == 1.0
    assert digits.classes == 10 and set(np.unique(digits.y)) == set(range(10))
    assert digits.name == "digits" and digits.label_names == tuple("0123456789")
    assert data.load_digits(dtype=np.float64).X.dtype == np.float64


def test_digits_without_scikit_learn_says_which_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r'pip install "matgrad\[cli\]"'):
        data.load_digits()


# ---------------------------------------------------------------- synthetic sets


@pytest.mark.parametrize("make", SYNTHETIC, ids=lambda f: f.__name__)
def test_synthetic_sets_are_2d_balanced_and_deterministic_for_a_seed(make):
    first, again, other = make(seed=3), make(seed=3), make(seed=4)
    assert first.X.shape[1] == 2 and first.X.dtype == np.float32 and first.y.dtype == np.int64
    np.testing.assert_array_equal(first.X, again.X)
    np.testing.assert_array_equal(first.y, again.y)
    assert not np.allclose(first.X, other.X)
    counts = np.bincount(first.y, minlength=first.classes)
    assert counts.min() == counts.max() == len(first) // first.classes


@pytest.mark.parametrize("make", SYNTHETIC, ids=lambda f: f.__name__)
def test_synthetic_sets_of_odd_size_differ_by_at_most_one_per_class(make):
    dataset = make(n=101, seed=0, dtype=np.float64)
    counts = np.bincount(dataset.y, minlength=dataset.classes)
    assert len(dataset) == 101 and counts.max() - counts.min() <= 1 and dataset.X.dtype == np.float64


@pytest.mark.parametrize("make", SYNTHETIC, ids=lambda f: f.__name__)
def test_synthetic_sets_are_separable_at_low_noise_and_shuffled(make):
    dataset = make(noise=0.02)
    assert nearest_neighbour_accuracy(dataset) > 0.95
    assert len(set(dataset.y[:10].tolist())) > 1  # rows are not grouped by class


def test_moons_class_means_differ():
    moons = data.make_moons()
    assert np.linalg.norm(moons.X[moons.y == 0].mean(0) - moons.X[moons.y == 1].mean(0)) > 0.5


def test_circles_inner_class_has_the_smaller_radius():
    circles = data.make_circles(noise=0.0, factor=0.3)
    radius = np.linalg.norm(circles.X, axis=1)
    np.testing.assert_allclose(radius[circles.y == 0], 1.0, rtol=1e-6)
    np.testing.assert_allclose(radius[circles.y == 1], 0.3, rtol=1e-6)


def test_xor_classes_are_the_signs_of_the_coordinate_product():
    xor = data.make_xor(noise=0.0)
    product = xor.X[:, 0] * xor.X[:, 1]
    assert np.all(product[xor.y == 0] >= 0) and np.all(product[xor.y == 1] <= 0)


def test_spirals_take_any_number_of_arms():
    spirals = data.make_spirals(n=500, classes=5)
    assert spirals.classes == 5 and np.bincount(spirals.y).tolist() == [100] * 5


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: data.make_moons(n=1), "n must be an integer of at least 2"),
        (lambda: data.make_xor(noise=-0.1), "noise must be a non-negative"),
        (lambda: data.make_circles(factor=1.5), r"factor must lie in \(0, 1\)"),
        (lambda: data.make_spirals(classes=1), "classes must be an integer of at least 2"),
    ],
)
def test_synthetic_sets_reject_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---------------------------------------------------------------- IDX files


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip(tmp_path, dtype, suffix):
    rng = np.random.default_rng(0)
    array = (rng.standard_normal((3, 4, 5)) * 100).astype(dtype)
    path = data.write_idx(tmp_path / f"array.idx{suffix}", array)
    assert path.read_bytes().startswith(b"\x1f\x8b") == (suffix == ".gz")
    loaded = data.load_idx(path)
    assert loaded.dtype == np.dtype(dtype) and loaded.dtype.isnative and loaded.flags.writeable
    np.testing.assert_array_equal(loaded, array)


def test_idx_header_is_the_big_endian_mnist_layout(tmp_path):
    path = data.write_idx(tmp_path / "x.idx", np.array([[1, 256]], dtype=np.int16))
    assert path.read_bytes() == bytes([0, 0, 0x0B, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1, 1, 0])


def test_idx_compression_is_recognised_by_its_magic_bytes_not_the_name(tmp_path):
    raw = data.write_idx(tmp_path / "labels.idx", np.arange(5, dtype=np.uint8))
    misnamed = tmp_path / "labels.idx.gz"  # e.g. a browser decompressed it and kept the name
    misnamed.write_bytes(raw.read_bytes())
    np.testing.assert_array_equal(data.load_idx(misnamed), np.arange(5))


def test_truncated_idx_names_the_file_and_the_byte_counts(tmp_path):
    header = bytes([0, 0, 0x08, 3]) + np.array([60000, 28, 28], dtype=">u4").tobytes()
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(header + bytes(1000))
    with pytest.raises(ValueError, match="expected 47040000 bytes of data.*found 1000") as error:
        data.load_idx(path)
    assert str(path) in str(error.value) and "truncated" in str(error.value)


def test_truncated_gzip_idx_is_rejected(tmp_path):
    path = data.write_idx(tmp_path / "big.idx.gz", np.random.default_rng(0).integers(0, 255, 5000, dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(ValueError, match="corrupt gzip data") as error:
        data.load_idx(path)
    assert str(path) in str(error.value)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"PK\x03\x04rest", "magic number 0x504B0304 is not IDX"),
        (bytes([0, 0, 0x07, 1, 0, 0, 0, 1, 5]), r"unknown data type 0x07; known: 0x08 \(uint8\)"),
        (bytes([0, 0, 0x08, 2, 0, 0, 0]), "declares 2 dimensions but the file ends after 7 bytes"),
        (bytes([0, 0]), "too short"),
        (bytes([0, 0, 0x08, 1, 0, 0, 0, 2, 7, 7, 7]), "expected 2 bytes of data.*found 3 .trailing bytes"),
    ],
)
def test_malformed_idx_is_rejected_with_a_clear_message(tmp_path, content, message):
    path = tmp_path / "bad.idx"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as error:
        data.load_idx(path)
    assert str(path) in str(error.value)


def test_write_idx_refuses_a_dtype_idx_cannot_hold(tmp_path):
    with pytest.raises(ValueError, match="cannot store dtype int64"):
        data.write_idx(tmp_path / "x.idx", np.arange(3, dtype=np.int64))


# ---------------------------------------------------------------- MNIST


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_flattens_and_scales_the_standard_files(tmp_path, gz):
    written = write_mnist(tmp_path, gz=gz)
    train, test = data.load_mnist(tmp_path)
    assert train.X.shape == (20, 784) and test.X.shape == (10, 784) and train.X.dtype == np.float32
    assert train.classes == test.classes == 10 and train.name == "mnist"
    np.testing.assert_allclose(train.X, written["train"][0].reshape(20, 784) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(test.y, written["t10k"][1])
    assert 0.0 <= train.X.min() and train.X.max() <= 1.0


def test_missing_mnist_file_names_the_file_the_directory_and_the_names_tried(tmp_path):
    write_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte not found") as error:
        data.load_mnist(tmp_path)
    message = str(error.value)
    assert str(tmp_path) in message and "t10k-labels-idx1-ubyte.gz" in message


def test_mnist_with_more_labels_than_images_is_rejected(tmp_path):
    write_mnist(tmp_path)
    data.write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(21, dtype=np.uint8))
    with pytest.raises(ValueError, match="MNIST train: 20 images but 21 labels"):
        data.load_mnist(tmp_path)


# ---------------------------------------------------------------- CSV


def test_csv_with_a_header_and_string_labels(tmp_path):
    path = tmp_path / "flowers.csv"
    path.write_text("length,width,species\n6.0,2.5,virginica\n1.5,0.2,setosa\n4.7,1.4,versicolor\n1.3,0.2,setosa\n")
    flowers = data.load_csv(path)
    assert flowers.name == "flowers" and flowers.X.shape == (4, 2) and flowers.X.dtype == np.float32
    assert flowers.label_names == ("setosa", "versicolor", "virginica") and flowers.classes == 3  # sorted
    np.testing.assert_array_equal(flowers.y, [2, 0, 1, 0])
    np.testing.assert_allclose(flowers.X[2], [4.7, 1.4], rtol=1e-6)


def test_csv_without_a_header_and_integer_labels(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("0,1.0,2.0\n2,3.0,4.0\n\n1, 5.0 ,6.0\n")  # a blank line and spaces are fine
    plain = data.load_csv(path, target=0, dtype=np.float64)
    np.testing.assert_array_equal(plain.X, [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    np.testing.assert_array_equal(plain.y, [0, 2, 1])
    assert plain.classes == 3 and plain.label_names is None


def test_csv_target_by_header_name_in_the_middle(tmp_path):
    path = tmp_path / "mid.csv"
    path.write_text("a,label,b\n1,1,2\n3,0,4\n")
    mid = data.load_csv(path, target="label")
    np.testing.assert_array_equal(mid.X, [[1, 2], [3, 4]])
    np.testing.assert_array_equal(mid.y, [1, 0])


def test_csv_bad_value_names_its_line_and_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("x,y,label\n1,2,a\n\n3,oops,b\n")
    with pytest.raises(ValueError, match=r"line 4, column 2 \('y'\): 'oops' is not a finite number") as error:
        data.load_csv(path)
    assert "bad.csv" in str(error.value)


@pytest.mark.parametrize(
    "text, kwargs, message",
    [
        ("1,2,0\n3,4\n", {}, "line 2: expected 3 columns, found 2"),
        ("1,2,0\n3,4,-1\n", {}, "line 2: class label '-1' is not a non-negative integer"),
        ("1,2,0\n3,4,0.5\n", {}, "line 2: class label '0.5'"),
        ("1,2,0\n3,4,1\n", {"target": "label"}, "is a column name but the file has no header"),
        ("a,b,c\n1,2,0\n", {"target": "d"}, "no column named 'd'; columns: a, b, c"),
        ("1,2,0\n", {"target": 3}, "target column 3 is out of range for 3 columns"),
        ("1,inf,0\n", {}, r"line 1, column 2: 'inf' is not a finite number"),
        ("a,b,c\n", {"header": True}, "no data rows"),
        ("a,b,c\n", {}, "no data rows"),  # a lone row of names is a header
    ],
)
def test_csv_problems_are_reported_precisely(tmp_path, text, kwargs, message):
    path = tmp_path / "problem.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        data.load_csv(path, **kwargs)


def test_csv_header_can_be_forced_off(tmp_path):
    path = tmp_path / "names.csv"
    path.write_text("1,2,cat\n3,4,dog\n")
    assert len(data.load_csv(path, header=False)) == 2
    assert len(data.load_csv(path, header=True)) == 1


# ---------------------------------------------------------------- train/test split


def imbalanced(n_per_class=(50, 30, 20, 2)):
    y = np.repeat(np.arange(len(n_per_class)), n_per_class)
    X = np.random.default_rng(0).standard_normal((len(y), 3))
    return data.Dataset(X, y, "imbalanced", len(n_per_class))


def test_stratified_split_keeps_class_proportions_and_every_class_in_both_parts():
    train, test = data.train_test_split(imbalanced(), test_size=0.2, seed=0)
    assert np.bincount(test.y, minlength=4).tolist() == [10, 6, 4, 1]
    assert np.bincount(train.y, minlength=4).tolist() == [40, 24, 16, 1]
    assert np.any(np.diff(train.y) < 0)  # shuffled, not grouped by class as the source is


def test_split_parts_are_disjoint_cover_the_set_and_are_deterministic():
    dataset = imbalanced()
    train, test = data.train_test_split(dataset, seed=7)
    rows = {tuple(row) for row in np.concatenate([train.X, test.X])}
    assert len(train) + len(test) == len(dataset) and len(rows) == len(dataset)
    again, other = data.train_test_split(dataset, seed=7), data.train_test_split(dataset, seed=8)
    np.testing.assert_array_equal(again[1].X, test.X)
    assert not np.array_equal(other[1].X, test.X)


def test_unstratified_split_takes_the_requested_count():
    train, test = data.train_test_split(imbalanced(), test_size=13, stratify=False)
    assert (len(train), len(test)) == (89, 13)


@pytest.mark.parametrize("test_size", [0.0, 1.0, 0, 102, True])
def test_split_rejects_sizes_that_leave_a_part_empty(test_size):
    with pytest.raises(ValueError, match="train_test_split\\('imbalanced'\\)"):
        data.train_test_split(imbalanced(), test_size=test_size)


# ---------------------------------------------------------------- batches and one-hot


def test_batches_cover_every_example_once_with_a_partial_last_batch():
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    sizes, seen = [], []
    for X_batch, y_batch in data.batches(X, y, batch_size=4, rng=np.random.default_rng(0)):
        np.testing.assert_array_equal(X_batch[:, 0], 2 * y_batch)  # rows stay paired with labels
        sizes.append(len(y_batch))
        seen.extend(y_batch.tolist())
    assert sizes == [4, 4, 2] and sorted(seen) == list(range(10)) and seen != list(range(10))


def test_batches_without_shuffle_keep_the_order():
    y = np.arange(7)
    assert [b.tolist() for _, b in data.batches(y[:, None], y, 3, shuffle=False)] == [[0, 1, 2], [3, 4, 5], [6]]


def order(rng, n=50):
    y = np.arange(n)
    return np.concatenate([b for _, b in data.batches(y[:, None], y, 8, rng=rng)]).tolist()


def test_batches_are_deterministic_for_a_seed_and_differ_across_seeds():
    assert order(np.random.default_rng(1)) == order(np.random.default_rng(1)) == order(1)
    assert order(np.random.default_rng(1)) != order(np.random.default_rng(2))


def test_one_generator_gives_a_new_order_each_epoch():
    rng = np.random.default_rng(0)
    assert order(rng) != order(rng)


def test_batches_check_their_arguments_when_called():
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        data.batches(np.zeros((3, 1)), np.zeros(3), 0)  # raised before any iteration
    with pytest.raises(ValueError, match="X has 3 rows but y has 2"):
        data.batches(np.zeros((3, 1)), np.zeros(2), 2)


def test_one_hot():
    encoded = data.one_hot(np.array([2, 0, 1]), 4)
    assert encoded.dtype == np.float32
    np.testing.assert_array_equal(encoded, [[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]])
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        data.one_hot(np.array([3]), 3)


# ---------------------------------------------------------------- Standardizer


def test_standardizer_gives_zero_mean_unit_std_and_maps_constant_features_to_zero():
    X = np.column_stack([np.linspace(0, 10, 50), np.full(50, 0.1), np.random.default_rng(0).normal(5, 3, 50)])
    scaler = data.Standardizer()
    Z = scaler.fit_transform(X.astype(np.float32))
    assert Z.dtype == np.float32 and np.all(np.isfinite(Z))
    np.testing.assert_allclose(Z.mean(0), 0.0, atol=1e-6)
    np.testing.assert_allclose(Z.std(0), [1.0, 0.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(scaler.std[1], 1.0)
    np.testing.assert_allclose(scaler.inverse_transform(Z), X, rtol=1e-5, atol=1e-6)


def test_standardizer_state_dict_round_trip():
    X = np.random.default_rng(1).normal(2, 4, (30, 3))
    fitted = data.Standardizer().fit(X)
    state = fitted.state_dict()
    state["mean"][0] = 1e9  # a copy: changing it leaves the fitted scaler alone
    restored = data.Standardizer().load_state_dict(fitted.state_dict())
    np.testing.assert_array_equal(restored.transform(X), fitted.transform(X))
    assert set(fitted.state_dict()) == {"mean", "std"}


def test_standardizer_refuses_use_before_fit_and_the_wrong_width():
    with pytest.raises(RuntimeError, match="call fit first"):
        data.Standardizer().transform(np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"expected shape \(n, 2\), got \(4, 3\)"):
        data.Standardizer().fit(np.ones((4, 2))).transform(np.ones((4, 3)))
    with pytest.raises(ValueError, match="missing std"):
        data.Standardizer().load_state_dict({"mean": np.zeros(2)})


# ---------------------------------------------------------------- registry


@pytest.mark.parametrize("name", ["moons", "circles", "spirals", "xor"])
def test_load_dataset_generates_and_splits_synthetic_sets_80_20(name):
    train, test = data.load_dataset(name, seed=5, n=300)
    assert (len(train), len(test)) == (240, 60) and train.name == name
    np.testing.assert_array_equal(data.load_dataset(name, seed=5, n=300)[1].X, test.X)
    assert not np.array_equal(data.load_dataset(name, seed=6, n=300)[1].X, test.X)


def test_load_dataset_digits_csv_and_mnist(tmp_path):
    train, test = data.load_dataset("digits")
    assert (len(train), len(test)) == (1438, 359) and train.features == 64
    path = tmp_path / "table.csv"
    path.write_text("".join(f"{i},{i % 3}\n" for i in range(30)))
    train, test = data.load_dataset(f"csv:{path}")
    assert (len(train), len(test)) == (24, 6) and np.bincount(test.y).tolist() == [2, 2, 2]
    write_mnist(tmp_path)
    train, test = data.load_dataset("mnist", data_dir=tmp_path)
    assert (len(train), len(test)) == (20, 10)


@pytest.mark.parametrize(
    "name, kwargs, message",
    [
        ("imagenet", {}, "unknown dataset 'imagenet'; valid names: digits, moons, circles, spirals, xor, mnist"),
        ("csv:", {}, "unknown dataset 'csv:'"),
        ("mnist", {}, "needs data_dir"),
        ("digits", {"n": 100}, "n applies to the synthetic sets"),
    ],
)
def test_load_dataset_rejects_unknown_names_and_misplaced_arguments(name, kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.load_dataset(name, **kwargs)


# ---------------------------------------------------------------- hostile files (issue #14)


def test_labels_are_class_indices_so_a_gap_keeps_its_output(tmp_path):
    path = tmp_path / "gap.csv"
    path.write_text("0.1,0\n0.2,2\n0.3,2\n0.4,0\n")
    dataset = data.load_csv(path)
    assert dataset.classes == 3 and sorted(set(dataset.y.tolist())) == [0, 2]


def test_the_class_cap_is_documented_and_can_be_raised_for_a_trusted_file(tmp_path):
    path = tmp_path / "many.csv"
    largest = data.MAX_CLASSES
    path.write_text(f"0.1,0\n0.2,{largest}\n")
    with pytest.raises(data.DataError, match=f"label {largest} implies {largest + 1:,} classes"):
        data.load_csv(path)
    assert data.load_csv(path, max_classes=largest + 1).classes == largest + 1


def test_a_csv_bigger_than_max_bytes_is_refused_before_reading(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("0.5,1\n" * 1000)
    with pytest.raises(data.DataError, match="the file needs 6,000 bytes, more than the cap of 5,000"):
        data.load_csv(path, max_bytes=5000)


def test_idx_max_bytes_bounds_what_the_header_may_declare(tmp_path):
    path = data.write_idx(tmp_path / "x.idx.gz", np.zeros((10, 10), np.float64))
    assert data.load_idx(path, max_bytes=800).shape == (10, 10)
    with pytest.raises(data.DataError, match=r"shape \(10, 10\) of float64 needs 800 bytes, more than the cap of 799"):
        data.load_idx(path, max_bytes=799)


def test_every_loader_problem_is_a_data_error_which_is_a_value_error(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2\n3\n")
    for call in (lambda: data.load_csv(bad), lambda: data.load_dataset("nonsense"),
                 lambda: data.load_idx(bad), lambda: data.Dataset(np.ones((2, 2)), np.array([0, 5]), "x", 2)):
        with pytest.raises(data.DataError) as error:
            call()
        assert isinstance(error.value, ValueError)


def test_an_endless_quoted_field_in_a_csv_is_a_data_error(tmp_path):
    path = tmp_path / "endless.csv"
    path.write_text('1,2\n"' + "x" * 200_000 + "\n")
    with pytest.raises(data.DataError, match="field larger than field limit"):
        data.load_csv(path)


def test_an_idx_header_with_a_zero_size_and_huge_others_is_refused(tmp_path):
    path = tmp_path / "empty.idx"
    path.write_bytes(bytes([0, 0, 0x08, 4]) + np.array([0, 2**21, 2**21, 2**21], ">u4").tobytes())
    with pytest.raises(data.DataError, match=r"shape \(0, 2097152, 2097152, 2097152\) of uint8 needs"):
        data.load_idx(path)
