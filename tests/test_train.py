"""The fit loop: determinism, resuming, history, early stopping, accuracy on real data."""

import numpy as np
import pytest

import matgrad.checkpoint as ckpt
import matgrad.data as data
import matgrad.nn as nn
import matgrad.optim as optim
from matgrad.train import EarlyStopping, History, evaluate, fit, predictions


def moons(seed=0):
    return data.train_test_split(data.make_moons(n=200, noise=0.2, seed=seed), test_size=0.25, seed=seed)


def trained(seed=0, epochs=3, rng=None, history=None, model=None, opt=None):
    train, test = moons()
    model = model or nn.MLP([2, 8, 2], activation="tanh", seed=seed)
    opt = opt or optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    history = fit(
        model, nn.CrossEntropyLoss(), opt, train, epochs, 16, test, seed=seed, rng=rng, history=history, progress=False
    )
    return model, opt, history


def weights(model):
    return [p.data.copy() for p in model.parameters()]


def test_two_runs_with_the_same_seed_give_bit_identical_weights():
    a, _, _ = trained(seed=3)
    b, _, _ = trained(seed=3)
    c, _, _ = trained(seed=4)
    assert all(np.array_equal(x, y) for x, y in zip(weights(a), weights(b)))
    assert not all(np.array_equal(x, y) for x, y in zip(weights(a), weights(c)))


def test_resuming_from_a_checkpoint_reaches_the_uninterrupted_weights(tmp_path):
    full, _, _ = trained(epochs=4)
    rng = np.random.default_rng(0)
    half, opt, history = trained(epochs=2, rng=rng)
    path = ckpt.save_training(tmp_path / "m.npz", half, nn.CrossEntropyLoss(), opt, history=history, rng=rng)
    saved = ckpt.load(path)
    model = ckpt.restore_model(saved)
    resumed_opt = optim.optimizer_from_state(model.parameters(), saved.state("optimizer"))
    _, _, history = trained(
        epochs=2,
        rng=ckpt.restore_rng(saved),
        history=History.from_records(saved.meta["history"]),
        model=model,
        opt=resumed_opt,
    )
    assert len(history) == 4 and history["epoch"] == [1, 2, 3, 4]
    assert all(np.array_equal(x, y) for x, y in zip(weights(full), weights(model)))


def test_history_records_training_and_validation_metrics():
    _, _, history = trained(epochs=3)
    assert len(history) == 3
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds"):
        assert len(history[key]) == 3
    assert history["loss"][-1] < history["loss"][0]
    assert all(0 <= a <= 1 for a in history["val_accuracy"])


def test_evaluate_matches_a_direct_computation():
    model, _, _ = trained(epochs=2)
    _, test = moons()
    metrics = evaluate(model, nn.CrossEntropyLoss(), test, batch_size=7)
    import matgrad as mg

    logits = model(mg.tensor(test.X)).data
    assert metrics["accuracy"] == pytest.approx(np.mean(logits.argmax(1) == test.y))
    expected = float(nn.CrossEntropyLoss()(mg.tensor(logits), test.y).data)
    assert metrics["loss"] == pytest.approx(expected, rel=1e-5)


def test_early_stopping_stops_and_restores_the_best_weights():
    train, test = moons()
    model = nn.MLP([2, 8, 2], activation="tanh", seed=0)
    opt = optim.SGD(model.parameters(), lr=5.0)  # too large: validation stops improving
    stopper = EarlyStopping("val_loss", patience=2)
    history = fit(model, nn.CrossEntropyLoss(), opt, train, 40, 16, test, callbacks=[stopper], progress=False)
    assert len(history) < 40
    assert len(history) - stopper.best_epoch == 2
    best = min(history["val_loss"])
    assert evaluate(model, nn.CrossEntropyLoss(), test)["loss"] == pytest.approx(best, rel=1e-5)


def test_predictions_argmax_and_binary_threshold():
    np.testing.assert_array_equal(predictions(np.array([[0.1, 0.9], [0.8, 0.2]]), False), [1, 0])
    np.testing.assert_array_equal(predictions(np.array([[0.3], [0.7]]), False), [0, 1])
    np.testing.assert_array_equal(predictions(np.array([[-0.1], [0.2]]), True), [0, 1])


def test_bad_arguments_are_rejected():
    model = nn.MLP([2, 2], seed=0)
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="batch_size"):
        fit(model, nn.CrossEntropyLoss(), opt, moons()[0], 1, 0)


def test_seed_network_reaches_95_percent_on_digits():
    """Seed 001's network (sigmoid, ½‖a − y‖², plain SGD η = 3, minibatches of 10) on digits."""
    train, test = data.load_dataset("digits", seed=0)
    model = nn.MLP([64, 30, 10], activation="sigmoid", output_activation="sigmoid", seed=0)
    fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=3.0), train, 30, 10, progress=False)
    assert evaluate(model, nn.MSELoss(), test)["accuracy"] >= 0.95


def test_relu_softmax_cross_entropy_l2_network_reaches_97_5_percent_on_digits():
    """The README's second recipe: 64-256-10 ReLU, softmax cross-entropy, L2 1e-4, Adam, standardized."""
    train, test = data.load_dataset("digits", seed=0)
    scaler = data.Standardizer().fit(train.X)
    train = data.Dataset(scaler.transform(train.X), train.y, "digits", 10)
    test = data.Dataset(scaler.transform(test.X), test.y, "digits", 10)
    model = nn.MLP([64, 256, 10], activation="relu", seed=0)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    fit(model, nn.CrossEntropyLoss(), opt, train, 30, 32, regularizer=nn.L2(1e-4), seed=0, progress=False)
    assert evaluate(model, nn.CrossEntropyLoss(), test)["accuracy"] >= 0.975
