"""How results show themselves: in a REPL (``__repr__``, IPython's pretty printer) and in Jupyter
(``_repr_html_``, ``_repr_markdown_``, ``_repr_latex_``), and what ``fit(verbose=...)`` prints."""

from __future__ import annotations

import re

import numpy as np
import pytest
from IPython.core.formatters import DisplayFormatter
from IPython.lib.pretty import pretty

import matgrad as mg
from matgrad import nn, optim
from matgrad import train as training
from matgrad.explain.api import Text
from matgrad.train import History, epoch_line, fit


def formats(obj) -> dict[str, str]:
    """What Jupyter would receive for ``obj`` (mimetype → data)."""
    data, _ = DisplayFormatter().format(obj)
    return data


def abs_explanation():
    def f(X, w):
        return mg.sum(mg.absolute(X @ w)) + 0.5 * mg.sum((X @ w) ** 2)

    return mg.explain(f, np.arange(6.0).reshape(3, 2) / 5, np.ones((2, 1)))


def math_spans(text: str) -> list[str]:
    return re.findall(r"(?<!\\)\$(.+?)(?<!\\)\$", text)


# Explanation


def test_explanation_repr_is_a_one_line_summary():
    e = abs_explanation()
    text = repr(e)
    assert text == (
        "<Explanation 'matgrad explain: f(X, w)': 2 lines, ✓ 2 of 2 checked, worst relative error 0e+00; "
        "print(e) to read it>"
    )
    assert "\n" not in text and "object at 0x" not in text
    assert pretty(e) == text and formats(e)["text/plain"] == text


def test_explanation_repr_names_the_lines_that_disagree(monkeypatch):
    from matgrad.primitives import sigmoid

    monkeypatch.setattr(sigmoid, "vjp", (lambda g, out, x: g * out,))  # forgets the (1 − σ)
    W = mg.tensor(np.random.default_rng(0).standard_normal((2, 3)), requires_grad=True, name="W")
    x = mg.tensor(np.ones((3, 1)), name="x")
    e = mg.explain(mg.sigmoid(W @ x).sum())
    assert not e.ok and "✗ disagreeing: ∂C/∂W" in repr(e)


def test_jupyter_gets_html_latex_and_markdown_for_an_explanation():
    e = abs_explanation()
    shown = formats(e)
    assert {"text/html", "text/latex", "text/markdown", "text/plain"} <= set(shown)
    assert shown["text/latex"] == "$$" + e.to_latex() + "$$" and shown["text/markdown"] == e.to_markdown()


def test_explanation_html_gives_each_formula_one_math_span():
    e = abs_explanation()
    page = e._repr_html_()
    spans = [s.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") for s in math_spans(page)]
    for line in e.lines:
        assert sum(e.formula(line.name, latex=True) in span for span in spans) == 1
    assert "\\left|X \\, w\\right|" in page  # whole, where a Markdown table would split it at the |
    assert page.count("<tr>") == 1 + 1 + 1 + 2  # two header rows, C, two gradients
    assert "Checked 2 of 2 lines numerically" in page


def test_explanation_html_escapes_its_text():
    e = mg.explain(lambda x: mg.sum(x * x), np.ones(3))
    e.title = "a <b> & $5"
    page = e._repr_html_()
    assert "a &lt;b&gt; &amp; \\$5" in page and "<lambda>" not in page


def test_jacobians_and_cost_show_as_text():
    e = abs_explanation()
    for text in (e.jacobians(), e.cost()):
        assert isinstance(text, str) and isinstance(text, Text)
        assert repr(text) == str(text) == pretty(text) == formats(text)["text/plain"]
        assert "\n" in repr(text) and not repr(text).startswith("'")


# ClaimReport


def test_claim_report_repr_starts_with_the_verdict():
    right = mg.check_gradient("sum((y - X@w)**2)", "2*X.T@(X@w - y)", wrt="w", X="6x3", w="3x1", y="6x1")
    wrong = mg.check_gradient("sum((y - X@w)**2)", "-2*X.T@(X@w - y)", wrt="w", X="6x3", w="3x1", y="6x1")
    assert repr(right).startswith("✓ correct: the claim equals ∂f/∂w")
    assert repr(right).endswith("(ClaimReport: ok=True, kind='correct', max_error=0.0e+00, draws=5, wrt='w'; "
                                ".derivation is matgrad's own derivation)")
    assert repr(wrong).startswith("✗ the claim is right up to sign") and "kind='sign'" in repr(wrong)
    assert pretty(wrong) == repr(wrong) and str(wrong) == wrong.diagnosis  # str unchanged


def test_claim_report_markdown_is_the_verdict_then_the_details_as_text():
    wrong = mg.check_gradient("sum((y - X@w)**2)", "X.T@(X@w - y)", wrt="w", X="6x3", w="3x1", y="6x1")
    markdown = formats(wrong)["text/markdown"]
    first, rest = markdown.split("\n", 1)
    assert first == "**✗ the claim is right up to a constant factor: it equals ½ × ∂f/∂w**"
    assert rest == "\n```text\n" + "\n".join(wrong.details) + "\n```"
    assert "as a formula: 2 * (X.T @ (X @ w - y))" in rest  # not escaped inside the code block


def test_claim_report_markdown_escapes_what_markdown_would_read():
    report = mg.check_gradient("sum((y - X@w)**2)", "2*X.T@(X@w - y)", wrt="w", X="6x3", w="3x1", y="6x1")
    report.verdict = "✗ a*b_c $x$ [l](u) |"
    assert report._repr_markdown_() == "**✗ a\\*b\\_c \\$x\\$ \\[l\\](u) \\|**"


# History


def records(n: int) -> list[dict[str, float]]:
    return [{"epoch": k, "lr": 0.1, "loss": 1 / k, "accuracy": 0.5, "seconds": 0.25} for k in range(1, n + 1)]


def test_history_repr():
    assert repr(History()) == "History(no epochs yet)"
    one = "History(1 epoch; last: epoch 1, loss 1.0000, accuracy 0.5000, lr 0.1, seconds 0.25)"
    assert repr(History(records(1))) == one
    assert repr(History(records(3))).startswith("History(3 epochs; last: epoch 3, loss 0.3333")
    assert pretty(History(records(3))) == repr(History(records(3)))
    assert History(records(2)) == History(records(2))  # still a dataclass


def test_history_html_is_a_table_of_epochs():
    page = formats(History(records(3)))["text/html"]
    assert page.startswith("<table><caption>History: 3 epochs</caption>")
    assert re.findall(r"<th>(\w+)</th>", page) == ["epoch", "loss", "accuracy", "lr", "seconds"]
    assert page.count("<tr>") == 4 and "<td>3</td><td>0.3333</td><td>0.5000</td><td>0.1</td><td>0.25</td>" in page
    assert History()._repr_html_() == "<p>History: no epochs yet</p>"


def test_a_long_history_shows_its_first_and_last_epochs():
    page = History(records(50))._repr_html_()
    epochs = [int(e) for e in re.findall(r"<tr><td>(\d+)</td>", page)]
    assert epochs == [1, 2, 3, 4, 5, *range(41, 51)] and "⋮" in page and "50 epochs" in page


def test_a_history_with_validation_added_later_leaves_cells_empty():
    history = History([{"epoch": 1, "loss": 1.0}, {"epoch": 2, "loss": 0.5, "val_loss": 0.7}])
    assert "<tr><td>1</td><td>1.0000</td><td></td></tr>" in history._repr_html_()


# Picture


def test_picture_repr():
    from matgrad.plot import training_curves

    epochs = [{"epoch": 1, "loss": 1.0, "accuracy": 0.5}, {"epoch": 2, "loss": 0.5, "accuracy": 0.75}]
    picture = training_curves(History(epochs))
    assert repr(picture).startswith("<Picture 10×4 in, 2 axes: ") and "savefig" in repr(picture)
    assert formats(picture)["image/png"][:4] == b"\x89PNG"


# fit(verbose=...)


def problem(seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((40, 2)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    net = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2))
    return net, nn.CrossEntropyLoss(), optim.SGD(net.parameters(), lr=0.5), (X, y)


LINE = re.compile(r"^epoch (\d)/(\d) - loss \d\.\d{4} - accuracy \d\.\d{4}( - val_loss \d\.\d{4} - val_accuracy "
                  r"\d\.\d{4})? - lr 0\.5 - \d+\.\d\d s$")


def test_verbose_0_is_silent(capsys):
    net, loss, opt, data = problem()
    fit(net, loss, opt, data, 2, 16, verbose=0)
    assert capsys.readouterr() == ("", "")


def test_verbose_2_prints_one_line_per_epoch(capsys):
    net, loss, opt, data = problem()
    history = fit(net, loss, opt, data, 2, 16, val=data, verbose=2)
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert [LINE.match(line).groups()[:2] for line in lines] == [("1", "2"), ("2", "2")] and err == ""
    assert lines[-1] == epoch_line(history.last(), 2)
    fit(net, loss, opt, data, 1, 16, history=history, verbose=2)
    assert capsys.readouterr().out.startswith("epoch 3/3 - ")  # a continued history counts on


def test_verbose_1_bars_stay_and_lines_follow(capsys):
    net, loss, opt, data = problem()
    fit(net, loss, opt, data, 2, 16, verbose=1)
    out, err = capsys.readouterr()
    assert [LINE.match(line).groups()[:2] for line in out.splitlines()] == [("1", "2"), ("2", "2")]
    for k in (1, 2):  # each bar ends at 3/3 on a newline: left standing, not erased
        assert re.search(rf"epoch {k}/2: 100%\|[^\r\n]*3/3[^\r\n]*\n", err), err


def test_progress_is_mapped_onto_verbose(capsys):
    net, loss, opt, data = problem()
    fit(net, loss, opt, data, 1, 16, progress=False)
    assert capsys.readouterr() == ("", "")
    fit(net, loss, opt, data, 1, 16, progress=True)
    out, err = capsys.readouterr()
    assert out.startswith("epoch 1/1 - ") and "100%" in err
    with pytest.raises(ValueError, match="not both"):
        fit(net, loss, opt, data, 1, 16, progress=True, verbose=2)
    with pytest.raises(ValueError, match="verbose must be"):
        fit(net, loss, opt, data, 1, 16, verbose=3)


def test_verbose_auto_is_silent_off_a_terminal_and_shows_in_a_notebook(capsys, monkeypatch):
    net, loss, opt, data = problem()
    fit(net, loss, opt, data, 1, 16)  # pytest captures: not a terminal, not a kernel
    assert capsys.readouterr() == ("", "")
    monkeypatch.setattr(training, "_in_notebook", lambda: True)
    monkeypatch.setattr(training, "_has_widgets", lambda: False)
    fit(net, loss, opt, data, 1, 16)
    out, err = capsys.readouterr()
    assert out.startswith("epoch 1/1 - ") and "100%" in err


def test_verbose_without_tqdm_still_prints_the_lines(capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name.startswith("tqdm"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    net, loss, opt, data = problem()
    fit(net, loss, opt, data, 1, 16, verbose=1)
    out, err = capsys.readouterr()
    assert out.startswith("epoch 1/1 - ") and err == ""
