"""Real questions from Q&A sites (issue #13): explain derives each, check judges each answer.

tests/learner_questions.json holds questions collected from math.stackexchange, stats/cs/
datascience.stackexchange, stackoverflow and forums (and their mirrors): the page's URL, the
question's formula in the asker's notation and in matgrad's syntax, the gradient an answer (or
the asker's own attempt) gives, and whether it is right.  Every verdict was checked independently
with JAX (tools/learner_questions/verify_with_jax.py).

For each question: ``matgrad explain`` derives ∂f/∂wrt with every line checked, and
``check_gradient`` accepts a right answer and rejects a wrong one with the expected diagnosis.
"""

import json
from pathlib import Path

import pytest

from matgrad.claim import check_gradient
from matgrad.claim.api import ClaimReport
from matgrad.explain.command import formula_explanation

PATH = Path(__file__).resolve().parent / "learner_questions.json"
QUESTIONS = json.loads(PATH.read_text(encoding="utf-8"))
KINDS = {
    "shape", "layout", "transpose", "sign", "factor", "symmetric", "symmetric convention", "term",
    "some draws", "entries",
}
FIELDS = {"id", "url", "title", "question", "formula", "shapes", "constraints", "wrt", "claim", "right",
          "expected_kinds", "note"}
IDS = [q["id"] for q in QUESTIONS]


def test_the_collection_is_complete():
    assert len(QUESTIONS) >= 30
    assert sum(not q["right"] for q in QUESTIONS) >= 8
    assert len(set(IDS)) == len(IDS)
    for q in QUESTIONS:
        assert set(q) == FIELDS, q["id"]
        assert q["url"].startswith(("http://", "https://")), q["id"]
        assert q["wrt"] in q["shapes"], q["id"]
        assert set(q["constraints"]) <= set(q["shapes"]), q["id"]
        assert isinstance(q["right"], bool), q["id"]
        if q["right"]:
            assert q["expected_kinds"] == [], q["id"]
        else:
            assert q["expected_kinds"] and set(q["expected_kinds"]) <= KINDS, q["id"]


@pytest.mark.parametrize("q", QUESTIONS, ids=IDS)
def test_explain_derives_it_with_every_line_checked(q):
    shapes = [f"{name}={shape}" for name, shape in q["shapes"].items()]
    explanation = formula_explanation(q["formula"], shapes, [q["wrt"]], seed=0, constraints=q["constraints"])
    failing = [f"{line.name}: {line.problem or f'error {line.error:.1e}'}" for line in explanation.lines if not line.ok]
    assert explanation.ok and not failing, f"{q['id']}: lines not checked ok: {failing}\n{explanation}"
    wrt = [line for line in explanation.lines if line.quantity.name == q["wrt"]]  # ∂f/∂X, or δ for a z
    assert wrt, f"{q['id']}: no line for {q['wrt']} among {[line.name for line in explanation.lines]}"


def check(q) -> ClaimReport:
    return check_gradient(q["formula"], q["claim"], wrt=q["wrt"], constraints=q["constraints"], **q["shapes"])


@pytest.mark.parametrize("q", QUESTIONS, ids=IDS)
def test_check_judges_the_answer(q):
    report = check(q)
    if q["right"]:
        assert report.ok, f"{q['id']}: a right answer was rejected:\n{report.diagnosis}"
        assert report.kinds == ()
    else:
        assert not report.ok, f"{q['id']}: a wrong answer was accepted:\n{report.diagnosis}"
        missing = [kind for kind in q["expected_kinds"] if kind not in report.kinds]
        assert not missing, (f"{q['id']}: expected the diagnosis {q['expected_kinds']}, got {report.kinds}:\n"
                             f"{report.diagnosis}")
