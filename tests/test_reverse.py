"""The backward sweep: order, accumulation, graph lifetime, grad modes, higher order, anomalies."""

import gc
import weakref

import numpy as np
import pytest

import matgrad as mg


def leaf(*shape, seed=0):
    return mg.tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


def test_a_chain_of_100000_operations_does_not_hit_the_recursion_limit():
    x = leaf(3)
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 0.0
    y.sum().backward()
    np.testing.assert_allclose(x.grad, np.ones(3))


def test_a_node_used_several_times_accumulates_its_gradients():
    x = leaf(4)
    h = mg.sigmoid(x)
    out = (h * h + 3.0 * h + mg.tanh(h)).sum()  # h feeds four consumers
    out.backward()
    s = 1 / (1 + np.exp(-x.data))
    expected = (2 * s + 3 + (1 - np.tanh(s) ** 2)) * s * (1 - s)
    np.testing.assert_allclose(x.grad, expected, rtol=1e-12)


def test_each_vjp_runs_once_with_the_full_gradient_of_all_its_uses():
    # the sweep takes the newest pending node first (creation order is a topological order);
    # skip connections make a node's uses come much later than the node itself
    from matgrad.primitives.core import Primitive
    from matgrad.primitives.elementwise import identity

    received = []

    def watch_vjp(g, out, x):
        received.append(g.copy())
        return g

    watch = Primitive("watch", lambda x: x, vjp=[watch_vjp], jvp="linear", notation=identity.notation)
    x = leaf(3)
    h = watch(x)
    skip = h * 2.0
    deep = h
    for _ in range(5):
        deep = mg.tanh(deep) + skip  # h reaches the output through every layer and the skips
    unused = mg.exp(h)  # a use no gradient reaches: never visited
    deep.sum().backward()
    assert len(received) == 1
    np.testing.assert_allclose(received[0], x.grad)
    reference = mg.grad(lambda v: _skip_net(v).sum())(x.data)
    np.testing.assert_allclose(x.grad, reference, rtol=1e-12)
    assert unused._parents is not None  # not freed: the sweep never came to it


def _skip_net(v):
    skip = v * 2.0
    deep = v
    for _ in range(5):
        deep = mg.tanh(deep) + skip
    return deep


def test_backward_of_a_leaf_gives_it_a_writable_gradient_of_ones():
    x = leaf()
    x.backward()
    x.backward()
    assert x.grad.flags.writeable and x.grad == 2.0


def test_diamond_graph_gets_both_paths():
    x = leaf(3)
    a, b = x * 2.0, x * 5.0
    (a * b).sum().backward()  # 10 x² → 20 x
    np.testing.assert_allclose(x.grad, 20 * x.data)


def test_leaf_gradients_accumulate_across_backward_calls_like_pytorch():
    x = leaf(3)
    (x * 2.0).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad, np.full(3, 5.0))


def test_leaves_never_share_gradient_memory():
    x, y = leaf(3), leaf(3, seed=1)
    (x + y).sum().backward()
    assert not np.shares_memory(x.grad, y.grad)
    x.grad *= 2  # in-place updates of one leaf's gradient leave the other alone
    np.testing.assert_allclose(y.grad, np.ones(3))


def test_broadcast_gradient_is_a_writable_array():
    b = leaf(1, 3)
    (b + np.zeros((4, 3))).sum().backward()
    assert b.grad.shape == (1, 3) and b.grad.flags.writeable
    np.testing.assert_allclose(b.grad, np.full((1, 3), 4.0))


def test_second_backward_needs_retain_graph():
    x = leaf(3)
    y = (mg.exp(x) * 2.0).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_pass():
    x = leaf(3)
    y = (mg.exp(x) * 2.0).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad, 4 * np.exp(x.data))


def test_backward_frees_the_graph_so_intermediates_can_be_collected():
    x = leaf(50)
    hidden = mg.sigmoid(x * 2.0)
    probe = weakref.ref(hidden)
    loss = (hidden * 3.0).sum()
    del hidden
    loss.backward()
    gc.collect()
    assert probe() is None  # loss no longer holds the intermediate node


def test_nonscalar_backward_needs_a_seed_and_uses_it():
    x = leaf(2, 3)
    y = x * 4.0
    with pytest.raises(RuntimeError, match="not a scalar"):
        y.backward()
    v = np.arange(6.0).reshape(2, 3)
    y.backward(v)
    np.testing.assert_allclose(x.grad, 4 * v)


def test_seed_of_wrong_shape_is_rejected():
    y = leaf(2, 3) * 1.0
    with pytest.raises(ValueError, match=r"seed gradient has shape \(3,\)"):
        y.backward(np.ones(3))


def test_backward_on_a_constant_says_why():
    with pytest.raises(RuntimeError, match="does not require grad"):
        mg.tensor([1.0, 2.0]).sum().backward()


def test_no_grad_records_nothing_and_enable_grad_reenables():
    x = leaf(3)
    with mg.no_grad():
        y = x * 2.0
        with mg.enable_grad():
            z = x * 2.0
    assert not y.requires_grad and y.is_leaf
    assert z.requires_grad and not z.is_leaf


def test_constant_branches_get_no_gradient_work():
    x = leaf(3)
    c = mg.tensor(np.ones(3))  # no requires_grad
    (x * mg.exp(c)).sum().backward()
    assert c.grad is None
    np.testing.assert_allclose(x.grad, np.exp(np.ones(3)))


def test_create_graph_gives_second_and_third_derivatives():
    x = mg.tensor(np.array([0.3, -1.2]), requires_grad=True)
    y = (x**4 + mg.exp(x)).sum()
    y.backward(create_graph=True)
    g1 = x.grad
    assert isinstance(g1, mg.Tensor) and g1.requires_grad
    np.testing.assert_allclose(g1.data, 4 * x.data**3 + np.exp(x.data))
    (g2,) = mg.grad_of([g1.sum()], [x], [np.ones(())], create_graph=True)
    np.testing.assert_allclose(g2.data, 12 * x.data**2 + np.exp(x.data))
    (g3,) = mg.grad_of([g2.sum()], [x], [np.ones(())])
    np.testing.assert_allclose(g3, 24 * x.data + np.exp(x.data))


def test_create_graph_through_sigmoid_uses_the_saved_output_correctly():
    # σ'' = σ'(1 − 2σ): the VJP g ⊙ σ(1−σ) must be differentiated through σ itself
    x = leaf(5)
    (g,) = mg.grad_of([mg.sigmoid(x).sum()], [x], [np.ones(())], create_graph=True)
    (h,) = mg.grad_of([g.sum()], [x], [np.ones(())])
    s = 1 / (1 + np.exp(-x.data))
    np.testing.assert_allclose(h, s * (1 - s) * (1 - 2 * s), rtol=1e-12)


def test_grad_of_an_input_the_output_ignores_is_zero():
    x, unused = leaf(3), leaf(2)
    gx, gu = mg.grad_of([(x * 2.0).sum()], [x, unused], [np.ones(())])
    np.testing.assert_allclose(gx, 2 * np.ones(3))
    np.testing.assert_array_equal(gu, np.zeros(2))


def test_anomaly_mode_names_the_primitive_that_made_a_nan_in_backward():
    x = mg.tensor(np.array([0.0, 4.0]), requires_grad=True)
    with mg.detect_anomaly(), np.errstate(divide="ignore"), pytest.raises(FloatingPointError, match="sqrt"):
        mg.sqrt(x).sum().backward()


def test_anomaly_mode_catches_forward_nan_and_is_off_by_default():
    x = mg.tensor(np.array([-1.0, 4.0]), requires_grad=True)
    with np.errstate(invalid="ignore"):
        assert np.isnan(mg.log(x).data[0])  # off: no error
        with mg.detect_anomaly(), pytest.raises(FloatingPointError, match="forward of log"):
            mg.log(x)


def test_missing_derivative_is_a_clear_error():
    cond = mg.tensor(np.array([1.0, 0.0]), requires_grad=True)  # a float condition that requires grad
    out = mg.where(cond, np.ones(2), np.zeros(2))
    with pytest.raises(TypeError, match="where has no derivative with respect to its argument 0"):
        out.sum().backward()


def test_a_scalar_leaf_used_twice_gets_an_array_gradient():
    # x * x sends two 0-d gradients to x; NumPy adds them into a scalar, .grad stays an array
    x = leaf()
    (x * x).backward()
    assert type(x.grad) is np.ndarray and x.grad.flags.writeable
    np.testing.assert_allclose(x.grad, 2 * x.data)
