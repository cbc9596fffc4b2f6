"""The three seed derivations, as tests, each in the seed's own layout and notation.

Every test computes a gradient with matgrad (``Tensor.backward()`` and/or ``mg.grad``) and
compares it with the closed form the seed derives, written out by hand in NumPy.

- seed 000, row layout: ``Y = f(HW + B)``, ``J = ½ (Y − Y*)(Y − Y*)ᵀ``,
  ``∂J/∂W = Hᵀ((Y − Y*) ⊙ f'(HW + B))``, ``∂J/∂B = (Y − Y*) ⊙ f'(HW + B)``.
- seed 001, column layout: ``z = Wx + b``, ``a = σ(z)``, ``C = ½‖y − a²‖²``, the δ equations,
  the Hadamard identity ``vᵀ diag(σ'(z)) = v ⊙ σ'(z)``, VJP vs JVP, one gradient-descent step,
  and a batch of columns (a sum of outer products).
- seed 002, differentials (Goodfellow Alg. 6.4): ``a = b + Wh``, ``L = ℓ(a) + λΩ(θ)``,
  ``∇_W L = g hᵀ + λW``, the Frobenius product ``A : B = tr(AᵀB)`` and its rearrangements,
  ``dL ≈ G : dW``, and the layer recursion ``g ← Wᵀ(g ⊙ f'(a))``.
- softmax + cross-entropy (announced by seed 001 as the next chapter):
  ``∂/∂z mean CE(z, labels) = (softmax(z) − onehot(labels)) / N``.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Sequence

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import matgrad as mg

close = functools.partial(assert_allclose, rtol=1e-12, atol=1e-14)


# ----- hand-written activations and their derivatives (NumPy only) ---------------------------
def sigma(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def sigma_prime(z: np.ndarray) -> np.ndarray:
    return sigma(z) * (1.0 - sigma(z))


def tanh_prime(z: np.ndarray) -> np.ndarray:
    return 1.0 - np.tanh(z) ** 2


# name: (matgrad f, NumPy f, NumPy f')
ACTIVATIONS = {
    "sigmoid": (mg.sigmoid, sigma, sigma_prime),
    "tanh": (mg.tanh, np.tanh, tanh_prime),
}
activations = pytest.mark.parametrize("act", sorted(ACTIVATIONS))


# ----- two ways to get gradients from matgrad ------------------------------------------------
def by_backward(loss: Callable, *arrays: np.ndarray) -> list[np.ndarray]:
    """Leaf tensors, ``loss(...).backward()``, then each leaf's ``.grad``."""
    leaves = [mg.tensor(a, requires_grad=True) for a in arrays]
    out = loss(*leaves)
    assert out.size == 1
    out.backward()
    return [leaf.grad for leaf in leaves]


def by_grad(loss: Callable, *arrays: np.ndarray) -> list[np.ndarray]:
    """``mg.grad(loss, argnums=(0, 1, …))(*arrays)``."""
    return list(mg.grad(loss, argnums=tuple(range(len(arrays))))(*arrays))


ENGINES = {"backward": by_backward, "grad": by_grad}
engines = pytest.mark.parametrize("engine", sorted(ENGINES))


def check_grads(got: Sequence[np.ndarray], want: Sequence[np.ndarray]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert isinstance(g, np.ndarray)
        assert g.shape == w.shape
        close(g, w)


# ============================================================================================
# Seed 000: row layout, Y = f(HW + B), J = ½ (Y − Y*)(Y − Y*)ᵀ
# ============================================================================================
h, y_ = 5, 3  # the seed's dimensions: H is 1×h, W is h×y, B and Y are 1×y


def seed000_data(batch: int | None = None, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    rows = 1 if batch is None else batch
    return {
        "H": rng.standard_normal((rows, h)),
        "W": rng.standard_normal((h, y_)) * 0.7,
        "B": rng.standard_normal((1, y_)),
        "Ystar": rng.uniform(-0.9, 0.9, size=(rows, y_)),
    }


@activations
@engines
def test_seed000_dJ_dW_and_dJ_dB_single_row(act: str, engine: str) -> None:
    f, f_np, f_prime = ACTIVATIONS[act]
    d = seed000_data()
    H, Ystar = d["H"], d["Ystar"]

    def J(W, B):  # ½ (Y − Y*)(Y − Y*)ᵀ: a 1×1 matrix, as in the seed
        Y = f(H @ W + B)
        return 0.5 * ((Y - Ystar) @ (Y - Ystar).T)

    assert J(d["W"], d["B"]).shape == (1, 1)
    dW, dB = ENGINES[engine](J, d["W"], d["B"])

    Z = H @ d["W"] + d["B"]
    dJ_dB = (f_np(Z) - Ystar) * f_prime(Z)  # (Y − Y*) ⊙ f'(HW + B), 1×y
    dJ_dW = H.T @ dJ_dB  # Hᵀ(…): h×1 times 1×y, an outer product
    check_grads([dW, dB], [dJ_dW, dJ_dB])


@activations
def test_seed000_index_form(act: str) -> None:
    """[∂J/∂W]_kl = H_k [Y − Y*]_l [f'(HW + B)]_l and [∂J/∂B]_k = [Y − Y*]_k [f'(HW + B)]_k."""
    f, f_np, f_prime = ACTIVATIONS[act]
    d = seed000_data(seed=1)
    H, W, B, Ystar = d["H"], d["W"], d["B"], d["Ystar"]

    def J(W, B):
        Y = f(H @ W + B)
        return 0.5 * ((Y - Ystar) @ (Y - Ystar).T)

    dW, dB = mg.grad(J, argnums=(0, 1))(W, B)
    Y_i = [f_np(sum(H[0, j] * W[j, i] for j in range(h)) + B[0, i]) for i in range(y_)]
    fp_i = [f_prime(sum(H[0, j] * W[j, i] for j in range(h)) + B[0, i]) for i in range(y_)]
    for k in range(h):
        for col in range(y_):  # the seed's l
            close(dW[k, col], H[0, k] * (Y_i[col] - Ystar[0, col]) * fp_i[col])
    for k in range(y_):
        close(dB[0, k], (Y_i[k] - Ystar[0, k]) * fp_i[k])


def test_seed000_dJ_dY_is_Y_minus_Ystar() -> None:
    """∂J/∂Y_i = ½ Σ_j 2(Y_j − Y*_j) δ_ij = [Y − Y*]_i."""
    rng = np.random.default_rng(2)
    Y, Ystar = rng.standard_normal((1, y_)), rng.standard_normal((1, y_))
    dY = mg.grad(lambda Y: 0.5 * ((Y - Ystar) @ (Y - Ystar).T))(Y)
    close(dY, Y - Ystar)
    # and J is ½ Σ_i (Y_i − Y*_i)²
    close(0.5 * ((Y - Ystar) @ (Y - Ystar).T)[0, 0], 0.5 * np.sum((Y - Ystar) ** 2))


@pytest.mark.parametrize("bias_shape", [(1, y_), (y_,)], ids=["B_1xy", "B_y"])
@activations
@engines
def test_seed000_batch_first(act: str, engine: str, bias_shape: tuple[int, ...]) -> None:
    """H is N×h: ∂J/∂W = Hᵀ(…) sums the outer products of the rows; ∂J/∂B sums over rows."""
    f, f_np, f_prime = ACTIVATIONS[act]
    N = 7
    d = seed000_data(batch=N, seed=3)
    H, Ystar = d["H"], d["Ystar"]
    B0 = d["B"].reshape(bias_shape)

    def J(W, B):  # Σ_n ½ (Y_n − Y*_n)(Y_n − Y*_n)ᵀ
        E = f(H @ W + B) - Ystar
        return 0.5 * mg.sum(E * E)

    dW, dB = ENGINES[engine](J, d["W"], B0)

    Z = H @ d["W"] + B0
    D = (f_np(Z) - Ystar) * f_prime(Z)  # N×y, row n is (Y_n − Y*_n) ⊙ f'(H_n W + B)
    dJ_dW = H.T @ D
    close(dJ_dW, sum(np.outer(H[n], D[n]) for n in range(N)))  # Hᵀ D is a sum of outer products
    dJ_dB = D.sum(axis=0).reshape(bias_shape)
    check_grads([dW, dB], [dJ_dW, dJ_dB])

    # the batch gradient is the sum of the single-row gradients of seed 000
    per_row = [
        mg.grad(
            lambda W, B, n=n: 0.5 * mg.sum((f(H[n : n + 1] @ W + B) - Ystar[n : n + 1]) ** 2),
            argnums=(0, 1),
        )(d["W"], B0)
        for n in range(N)
    ]
    close(sum(g[0] for g in per_row), dW)
    close(sum(g[1] for g in per_row), dB)


# ============================================================================================
# Seed 001: column layout, z¹ = W¹x + b¹, a¹ = σ(z¹), z² = W²a¹ + b², a² = σ(z²),
#           C = ½‖y − a²‖²
# ============================================================================================
n_in, n_hid, n_out = 4, 5, 3


def seed001_params(seed: int = 10) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "W1": rng.standard_normal((n_hid, n_in)),
        "b1": rng.standard_normal((n_hid, 1)),
        "W2": rng.standard_normal((n_out, n_hid)),
        "b2": rng.standard_normal((n_out, 1)),
        "x": rng.standard_normal((n_in, 1)),
        "y": rng.uniform(size=(n_out, 1)),
    }


def cost001(W1, b1, W2, b2, x, y):  # arrays or Tensors
    a1 = mg.sigmoid(W1 @ x + b1)
    a2 = mg.sigmoid(W2 @ a1 + b2)
    return 0.5 * mg.sum((y - a2) ** 2)


def forward001(p: dict[str, np.ndarray], x: np.ndarray) -> dict[str, np.ndarray]:
    """The forward pass by hand (NumPy)."""
    z1 = p["W1"] @ x + p["b1"]
    a1 = sigma(z1)
    z2 = p["W2"] @ a1 + p["b2"]
    a2 = sigma(z2)
    return {"z1": z1, "a1": a1, "z2": z2, "a2": a2}


def deltas001(p: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """δ² = (a² − y) ⊙ σ'(z²), δ¹ = ((W²)ᵀδ²) ⊙ σ'(z¹)."""
    fw = forward001(p, x)
    delta2 = (fw["a2"] - y) * sigma_prime(fw["z2"])
    delta1 = (p["W2"].T @ delta2) * sigma_prime(fw["z1"])
    return delta1, delta2


def test_seed001_delta2_is_dC_dz2() -> None:
    """δ² ≡ ∂C/∂z² = ∂C/∂a² ⊙ ∂a²/∂z² = (a² − y) ⊙ σ'(z²), C written as a function of z²."""
    p = seed001_params()
    z2 = forward001(p, p["x"])["z2"]
    y = p["y"]
    got = mg.grad(lambda z2: 0.5 * mg.sum((y - mg.sigmoid(z2)) ** 2))(z2)
    close(got, (sigma(z2) - y) * sigma_prime(z2))
    close(got, deltas001(p, p["x"], y)[1])
    # ∂C/∂a² = a² − y
    a2 = sigma(z2)
    close(mg.grad(lambda a2: 0.5 * mg.sum((y - a2) ** 2))(a2), a2 - y)


def test_seed001_delta1_is_dC_dz1() -> None:
    """δ¹ ≡ ∂C/∂z¹ = ((W²)ᵀδ²) ⊙ σ'(z¹): δ² propagated back through (W²)ᵀ, then ⊙ σ'(z¹)."""
    p = seed001_params(11)
    z1 = forward001(p, p["x"])["z1"]
    W2, b2, y = p["W2"], p["b2"], p["y"]
    got = mg.grad(lambda z1: 0.5 * mg.sum((y - mg.sigmoid(W2 @ mg.sigmoid(z1) + b2)) ** 2))(z1)
    delta1, delta2 = deltas001(p, p["x"], y)
    close(got, delta1)
    close(got, (W2.T @ delta2) * sigma_prime(z1))


@engines
def test_seed001_weight_and_bias_gradients(engine: str) -> None:
    """∂C/∂W² = δ²(a¹)ᵀ, ∂C/∂b² = δ², ∂C/∂W¹ = δ¹xᵀ (= δ¹(a⁰)ᵀ), ∂C/∂b¹ = δ¹."""
    p = seed001_params(12)
    x, y = p["x"], p["y"]
    got = ENGINES[engine](lambda W1, b1, W2, b2: cost001(W1, b1, W2, b2, x, y), p["W1"], p["b1"], p["W2"], p["b2"])
    a1 = forward001(p, x)["a1"]
    delta1, delta2 = deltas001(p, x, y)
    want = [delta1 @ x.T, delta1, delta2 @ a1.T, delta2]
    check_grads(got, want)
    # the outer product, entry by entry: ∂C/∂W²_ik = δ²_i a¹_k
    dW2 = got[2]
    for i in range(n_out):
        for k in range(n_hid):
            close(dW2[i, k], delta2[i, 0] * a1[k, 0])


@activations
@pytest.mark.parametrize("as_column", [False, True], ids=["vector", "column"])
def test_seed001_hadamard_identity(act: str, as_column: bool) -> None:
    """∂a/∂z of an elementwise σ is diag(σ'(z)); vᵀ diag(σ'(z)) = v ⊙ σ'(z), diag(σ'(z)) t = σ'(z) ⊙ t."""
    f, _, f_prime = ACTIVATIONS[act]
    rng = np.random.default_rng(13)
    n = 6
    shape = (n, 1) if as_column else (n,)
    z, v, t = (rng.standard_normal(shape) for _ in range(3))
    D = np.diag(f_prime(z).ravel())

    jac = mg.jacrev(f)(z)
    assert jac.shape == shape + shape
    jac = jac.reshape(n, n)
    close(jac, D)
    assert_array_equal(jac[~np.eye(n, dtype=bool)], 0.0)  # all off-diagonal entries are zero
    close(mg.jacfwd(f)(z).reshape(n, n), D)

    value, vjp_fn = mg.vjp(f, z)
    (vjp_v,) = vjp_fn(v)
    close(vjp_v.ravel(), v.ravel() @ D)  # vᵀ diag(σ'(z)) …
    close(vjp_v, v * f_prime(z))  # … is the Hadamard product v ⊙ σ'(z)
    close(value, ACTIVATIONS[act][1](z))
    _, jvp_t = mg.jvp(f, (z,), (t,))
    close(jvp_t.ravel(), D @ t.ravel())
    close(jvp_t, f_prime(z) * t)


def test_seed001_vjp_and_jvp_of_a_chain() -> None:
    """y = f(g(h(x))): J_total = J_f J_g J_h; vjp gives uᵀ J_total, jvp gives J_total v."""
    rng = np.random.default_rng(14)
    A, Bm, c, Cm = (
        rng.standard_normal((5, 4)),
        rng.standard_normal((6, 5)),
        rng.standard_normal(6),
        rng.standard_normal((3, 6)),
    )

    def h_(x):
        return mg.tanh(A @ x)  # R⁴ → R⁵

    def g_(u):
        return mg.sigmoid(Bm @ u + c)  # R⁵ → R⁶

    def f_(w):
        return mg.softmax(Cm @ w, axis=0)  # R⁶ → R³

    def chain(x):
        return f_(g_(h_(x)))

    x = rng.standard_normal(4)
    hx = np.tanh(A @ x)
    ghx = sigma(Bm @ hx + c)
    J_h, J_g, J_f = mg.jacrev(h_)(x), mg.jacrev(g_)(hx), mg.jacrev(f_)(ghx)
    assert (J_f.shape, J_g.shape, J_h.shape) == ((3, 6), (6, 5), (5, 4))
    # each piece's Jacobian in closed form: diag(f'(…)) times the weight matrix
    close(J_h, np.diag(tanh_prime(A @ x)) @ A)
    close(J_g, np.diag(sigma_prime(Bm @ hx + c)) @ Bm)
    s = np.exp(Cm @ ghx) / np.exp(Cm @ ghx).sum()
    close(J_f, (np.diag(s) - np.outer(s, s)) @ Cm)

    J_total = J_f @ J_g @ J_h
    close(mg.jacrev(chain)(x), J_total)
    close(mg.jacfwd(chain)(x), J_total)

    u, v = rng.standard_normal(3), rng.standard_normal(4)
    value, vjp_fn = mg.vjp(chain, x)
    close(value, s)
    close(vjp_fn(u)[0], u @ J_total)
    close(vjp_fn(u)[0], ((u @ J_f) @ J_g) @ J_h)  # left to right: vector × matrix, three times
    close(mg.jvp(chain, (x,), (v,))[1], J_total @ v)
    close(mg.jvp(chain, (x,), (v,))[1], J_f @ (J_g @ (J_h @ v)))


def test_seed001_gradient_descent_step_decreases_C() -> None:
    """W ← W − η ∂C/∂W lowers C, by about η‖∂C/∂W‖² for a small η."""
    p = seed001_params(15)
    x, y = p["x"], p["y"]
    names = ["W1", "b1", "W2", "b2"]
    params = [p[k] for k in names]

    def C(params):
        return cost001(*params, x, y)

    grads = mg.grad(C)(params)
    assert isinstance(grads, list) and len(grads) == 4
    C0 = float(C(params))
    eta = 1e-3
    stepped = [w - eta * g for w, g in zip(params, grads)]
    C1 = float(C(stepped))
    assert C1 < C0
    predicted = eta * sum(float(np.sum(g * g)) for g in grads)
    assert abs((C0 - C1) - predicted) < 0.01 * predicted

    # many steps with a moderate η: C goes down every time
    costs = [C0]
    for _ in range(30):
        params = [w - 0.5 * g for w, g in zip(params, mg.grad(C)(params))]
        costs.append(float(C(params)))
    assert all(b < a for a, b in itertools.pairwise(costs))
    assert costs[-1] < costs[0] - 0.01


@engines
def test_seed001_batch_of_columns_sums_outer_products(engine: str) -> None:
    """X is n×N (one example per column): ∂C/∂W² = Δ²(A¹)ᵀ = Σ_n δ²_n (a¹_n)ᵀ."""
    p = seed001_params(16)
    N = 6
    rng = np.random.default_rng(17)
    X = rng.standard_normal((n_in, N))
    Y = rng.uniform(size=(n_out, N))

    got = ENGINES[engine](lambda W1, b1, W2, b2: cost001(W1, b1, W2, b2, X, Y), p["W1"], p["b1"], p["W2"], p["b2"])

    fw = forward001(p, X)  # b¹, b² (columns) broadcast over the N columns
    Delta2 = (fw["a2"] - Y) * sigma_prime(fw["z2"])
    Delta1 = (p["W2"].T @ Delta2) * sigma_prime(fw["z1"])
    A1 = fw["a1"]
    close(Delta2 @ A1.T, sum(np.outer(Delta2[:, n], A1[:, n]) for n in range(N)))
    want = [Delta1 @ X.T, Delta1.sum(axis=1, keepdims=True), Delta2 @ A1.T, Delta2.sum(axis=1, keepdims=True)]
    check_grads(got, want)

    # and the batch gradient is the sum of the per-example gradients of seed 001
    per_example = [
        mg.grad(cost001, argnums=(0, 1, 2, 3))(
            p["W1"], p["b1"], p["W2"], p["b2"], X[:, n : n + 1], Y[:, n : n + 1]
        )
        for n in range(N)
    ]
    for j in range(4):
        close(sum(g[j] for g in per_example), got[j])


# ============================================================================================
# Seed 002: differentials, Goodfellow Alg. 6.4: a = b + W h, L = ℓ(a) + λΩ(θ), Ω = ½‖W‖²_F
# ============================================================================================
m_out, n_prev, lam = 4, 5, 0.1


def frob(A, B):
    """A : B = Σ_ij A_ij B_ij."""
    return mg.sum(A * B)


def seed002_data(seed: int = 20) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "W": rng.standard_normal((m_out, n_prev)),
        "b": rng.standard_normal((m_out, 1)),
        "h": rng.standard_normal((n_prev, 1)),
        "y": rng.uniform(size=(m_out, 1)),
    }


LABEL = np.array([2])  # the class of the single column, for the cross-entropy ℓ


def ell_mse(a, y):
    """ℓ(a) = ½‖σ(a) − y‖²."""
    return 0.5 * mg.sum((mg.sigmoid(a) - y) ** 2)


def ell_ce(a, y):
    """ℓ(a) = −log softmax(a)_label: a softmax cross-entropy over the column a."""
    return mg.cross_entropy(a, LABEL, axis=0)


def g_mse(a, y):
    return (sigma(a) - y) * sigma_prime(a)


def g_ce(a, y):
    s = np.exp(a - a.max()) / np.exp(a - a.max()).sum()
    return s - mg.one_hot(LABEL, m_out).T


# name: (ℓ, g = ∂ℓ/∂a by hand)
LOSSES = {"mse_sigmoid": (ell_mse, g_mse), "softmax_ce": (ell_ce, g_ce)}
losses = pytest.mark.parametrize("loss", sorted(LOSSES))


@losses
def test_seed002_g_is_dl_da(loss: str) -> None:
    ell, g_hand = LOSSES[loss]
    d = seed002_data()
    a = d["b"] + d["W"] @ d["h"]
    close(mg.grad(ell)(a, d["y"]), g_hand(a, d["y"]))


@losses
@engines
def test_seed002_grad_W_is_g_hT_plus_lambda_W(loss: str, engine: str) -> None:
    """∇_W L = g hᵀ + λ ∇_W Ω = g hᵀ + λW, and ∇_b L = g."""
    ell, g_hand = LOSSES[loss]
    d = seed002_data(21)
    h_, y = d["h"], d["y"]

    def L(W, b):
        return ell(b + W @ h_, y) + lam * 0.5 * mg.sum(W * W)

    dW, db = ENGINES[engine](L, d["W"], d["b"])
    g = g_hand(d["b"] + d["W"] @ h_, y)
    check_grads([dW, db], [g @ h_.T + lam * d["W"], g])


def test_seed002_differential_derivation_step_by_step() -> None:
    """dL = g : da = g : dW h = g hᵀ : dW, each equality checked for one random dW."""
    d = seed002_data(22)
    rng = np.random.default_rng(23)
    dW = rng.standard_normal(d["W"].shape)
    a = d["b"] + d["W"] @ d["h"]
    g = mg.grad(ell_mse)(a, d["y"])
    da = dW @ d["h"]  # a = b + W h, so da = dW h
    steps = [frob(g, da), frob(g, dW @ d["h"]), frob(g @ d["h"].T, dW)]
    for s in steps[1:]:
        close(s, steps[0])
    # and the same number is the directional derivative of ℓ(b + W h) along dW (forward mode)
    _, directional = mg.jvp(lambda W: ell_mse(d["b"] + W @ d["h"], d["y"]), (d["W"],), (dW,))
    close(directional, steps[0])


def test_seed002_frobenius_product_identities() -> None:
    """A : B = tr(AᵀB); A : BC = BᵀA : C = ACᵀ : B; A : B = B : A = Bᵀ : Aᵀ."""
    rng = np.random.default_rng(24)
    A = rng.standard_normal((3, 5))
    B = rng.standard_normal((3, 4))
    C = rng.standard_normal((4, 5))
    X = rng.standard_normal((3, 5))
    close(frob(A, X), np.trace(A.T @ X))
    close(frob(A, X), frob(X, A))
    close(frob(A, X), frob(X.T, A.T))
    close(frob(A, B @ C), frob(B.T @ A, C))
    close(frob(A, B @ C), frob(A @ C.T, B))


def test_seed002_frobenius_rearrangement_is_the_gradient() -> None:
    """φ(B, C) = A : BC is linear in each factor, so ∂φ/∂C = BᵀA and ∂φ/∂B = ACᵀ."""
    rng = np.random.default_rng(25)
    A = rng.standard_normal((3, 5))
    B = rng.standard_normal((3, 4))
    C = rng.standard_normal((4, 5))
    dB, dC = mg.grad(lambda B, C: frob(A, B @ C), argnums=(0, 1))(B, C)
    close(dC, B.T @ A)
    close(dB, A @ C.T)
    # A : Bᵀ = Aᵀ : B
    close(mg.grad(lambda Bt: frob(A, Bt.T))(rng.standard_normal((5, 3))), A.T)


def _taylor_remainders(L: Callable, W: np.ndarray, G: np.ndarray, dW: np.ndarray) -> list[float]:
    eps = [1e-2, 1e-3, 1e-4]
    L0 = float(L(W))
    return [abs(float(L(W + e * dW)) - L0 - e * float(np.sum(G * dW))) for e in eps]


@losses
def test_seed002_first_order_taylor(loss: str) -> None:
    """dL ≈ G : dW with an error O(‖dW‖²); a wrong G leaves an O(‖dW‖) error."""
    ell, _ = LOSSES[loss]
    d = seed002_data(26)
    rng = np.random.default_rng(27)
    dW = rng.standard_normal(d["W"].shape)

    def L(W):
        return ell(d["b"] + W @ d["h"], d["y"]) + lam * 0.5 * mg.sum(W * W)

    G = mg.grad(L)(d["W"])
    r = _taylor_remainders(L, d["W"], G, dW)
    # second order: each tenfold smaller step leaves a hundredfold smaller remainder
    assert 50 < r[0] / r[1] < 200
    assert 50 < r[1] / r[2] < 200
    # a gradient missing the regularizer's λW is only right to zeroth order
    r_bad = _taylor_remainders(L, d["W"], G - lam * d["W"], dW)
    assert 5 < r_bad[1] / r_bad[2] < 20
    assert r_bad[2] > 1e3 * r[2]


LAYERS = [4, 6, 5, 3]  # n⁰ (input), then three layers
LAYER_ACTS = ["tanh", "sigmoid", "tanh"]


def deep_params(seed: int = 30) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    params = []
    for n_from, n_to in itertools.pairwise(LAYERS):
        params += [rng.standard_normal((n_to, n_from)) / np.sqrt(n_from), rng.standard_normal((n_to, 1))]
    return params


def deep_loss(params, H0, Y):
    """h⁰ = x; a^k = b^k + W^k h^(k−1), h^k = f(a^k); L = ½‖h³ − y‖² + λ Σ_k ½‖W^k‖²_F."""
    hk = H0
    for k, name in enumerate(LAYER_ACTS):
        W, b = params[2 * k], params[2 * k + 1]
        hk = ACTIVATIONS[name][0](b + W @ hk)
    omega = sum(0.5 * mg.sum(params[2 * k] * params[2 * k]) for k in range(len(LAYER_ACTS)))
    return 0.5 * mg.sum((hk - Y) ** 2) + lam * omega


def algorithm_6_4(params: list[np.ndarray], H0: np.ndarray, Y: np.ndarray):
    """Goodfellow et al. Alg. 6.3 (forward) and 6.4 (backward), in NumPy."""
    hs, as_ = [H0], []
    for k, name in enumerate(LAYER_ACTS):
        as_.append(params[2 * k + 1] + params[2 * k] @ hs[-1])
        hs.append(ACTIVATIONS[name][1](as_[-1]))
    g = hs[-1] - Y  # g ← ∇_ŷ L
    grads: list[np.ndarray | None] = [None] * len(params)
    g_h = [None] * len(LAYER_ACTS)  # ∇_{h^k} L, before each ⊙ f'
    for k in reversed(range(len(LAYER_ACTS))):
        g_h[k] = g
        g = g * ACTIVATIONS[LAYER_ACTS[k]][2](as_[k])  # g ← ∇_{a^k} L = g ⊙ f'(a^k)
        grads[2 * k + 1] = g.sum(axis=1, keepdims=True)  # ∇_{b^k} L = g (summed over columns)
        grads[2 * k] = g @ hs[k].T + lam * params[2 * k]  # ∇_{W^k} L = g h^(k−1)ᵀ + λ W^k
        g = params[2 * k].T @ g  # g ← ∇_{h^(k−1)} L = W^kᵀ g
    return grads, g_h, hs, g


@pytest.mark.parametrize("N", [1, 5])
@engines
def test_seed002_three_layer_recursion(engine: str, N: int) -> None:
    params = deep_params()
    rng = np.random.default_rng(31 + N)
    H0 = rng.standard_normal((LAYERS[0], N))
    Y = rng.uniform(size=(LAYERS[-1], N))
    got = ENGINES[engine](lambda *ps: deep_loss(list(ps), H0, Y), *params)
    want, _, _, _ = algorithm_6_4(params, H0, Y)
    check_grads(got, want)
    # the pytree form: mg.grad of a list of parameters returns a list
    as_list = mg.grad(deep_loss)(params, H0, Y)
    assert isinstance(as_list, list)
    check_grads(as_list, want)


def test_seed002_recursion_g_is_gradient_wrt_each_hidden_layer() -> None:
    """After layer k's step, g = W^kᵀ (g ⊙ f'(a^k)) is ∂L/∂h^(k−1): checked for every k."""
    params = deep_params(32)
    rng = np.random.default_rng(33)
    H0 = rng.standard_normal((LAYERS[0], 3))
    Y = rng.uniform(size=(LAYERS[-1], 3))
    _, g_h, hs, g_input = algorithm_6_4(params, H0, Y)

    def tail(hk, k):  # the data term of L as a function of h^k (Ω does not depend on h)
        for j in range(k, len(LAYER_ACTS)):
            hk = ACTIVATIONS[LAYER_ACTS[j]][0](params[2 * j + 1] + params[2 * j] @ hk)
        return 0.5 * mg.sum((hk - Y) ** 2)

    for k in range(len(LAYER_ACTS)):
        # g_h[k] is ∇_{h^(k+1)} L, the g entering layer k+1 (1-based) from above
        close(mg.grad(tail)(hs[k + 1], k + 1), g_h[k])
    # the last W⁽¹⁾ᵀ g is the gradient with respect to the input h⁰ = x
    close(mg.grad(lambda H0: deep_loss(params, H0, Y))(H0), g_input)


# ============================================================================================
# Softmax + cross-entropy (seed 001's next chapter): ∂/∂z mean CE = (softmax(z) − onehot) / N
# ============================================================================================
def softmax_np(z: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("N,K", [(1, 3), (8, 5), (16, 10)])
@engines
def test_cross_entropy_gradient_rows(engine: str, N: int, K: int) -> None:
    rng = np.random.default_rng(40 + N)
    z = rng.standard_normal((N, K)) * 2
    labels = rng.integers(0, K, size=N)
    (got,) = ENGINES[engine](lambda z: mg.cross_entropy(z, labels), z)
    onehot = np.eye(K)[labels]
    close(got, (softmax_np(z) - onehot) / N)
    close(got.sum(axis=1), np.zeros(N))  # each row of softmax(z) − onehot sums to 0
    # the value: mean_n −log softmax(z_n)_{label_n}
    close(mg.cross_entropy(z, labels), -np.mean(np.log(softmax_np(z)[np.arange(N), labels])))


def test_cross_entropy_column_layout_and_reductions() -> None:
    """Logits as columns (axis=0), sum reduction (no 1/N), probability targets."""
    rng = np.random.default_rng(50)
    K, N = 4, 6
    Z = rng.standard_normal((K, N))
    labels = rng.integers(0, K, size=N)
    onehot_cols = np.eye(K)[labels].T
    close(mg.grad(lambda Z: mg.cross_entropy(Z, labels, axis=0))(Z), (softmax_np(Z, axis=0) - onehot_cols) / N)
    z = Z.T.copy()
    close(mg.grad(lambda z: mg.cross_entropy(z, labels, reduction="sum"))(z), softmax_np(z) - np.eye(K)[labels])
    P = softmax_np(rng.standard_normal((N, K)))
    close(mg.grad(lambda z: mg.cross_entropy(z, P))(z), (softmax_np(z) - P) / N)
    # written out as −mean Σ onehot ⊙ log_softmax(z): the same gradient
    close(
        mg.grad(lambda z: -mg.mean(mg.sum(np.eye(K)[labels] * mg.log_softmax(z, axis=1), axis=1)))(z),
        (softmax_np(z) - np.eye(K)[labels]) / N,
    )


def test_cross_entropy_large_logits_are_stable() -> None:
    """softmax is shift invariant, so a +1000 shift changes neither the loss nor its gradient."""
    rng = np.random.default_rng(51)
    z = rng.standard_normal((5, 4))
    labels = rng.integers(0, 4, size=5)
    g0 = mg.grad(lambda z: mg.cross_entropy(z, labels))(z)
    g1 = mg.grad(lambda z: mg.cross_entropy(z, labels))(z + 1000.0)
    assert np.all(np.isfinite(g1))
    assert_allclose(g1, g0, rtol=1e-9, atol=1e-12)
    assert_allclose(float(mg.cross_entropy(z + 1000.0, labels)), float(mg.cross_entropy(z, labels)), rtol=1e-9)


@engines
def test_seed001_network_with_softmax_output(engine: str) -> None:
    """Seed 001's network with a softmax + cross-entropy output: δ² = softmax(z²) − y."""
    p = seed001_params(52)
    x = p["x"]
    label = np.array([1])
    y = np.eye(n_out)[label].T  # one-hot column

    def C(W1, b1, W2, b2):
        a1 = mg.sigmoid(W1 @ x + b1)
        return mg.cross_entropy(W2 @ a1 + b2, label, axis=0)

    got = ENGINES[engine](C, p["W1"], p["b1"], p["W2"], p["b2"])
    fw = forward001(p, x)
    delta2 = softmax_np(fw["z2"], axis=0) - y
    delta1 = (p["W2"].T @ delta2) * sigma_prime(fw["z1"])
    check_grads(got, [delta1 @ x.T, delta1, delta2 @ fw["a1"].T, delta2])
