"""Parse a formula typed as text into a :class:`Formula`, by an explicit whitelist over ``ast``.

Nothing is ever evaluated as Python: ``ast.parse(text, mode="eval")`` gives a syntax tree, and
:class:`_Builder` accepts only numeric literals, names, ``+ - * / ** @``, unary ``- +``, calls of
whitelisted functions by bare name (their literal parameters, such as ``axis=0``, ``keepdims=True``,
``reshape(x, (3, 2))``'s shape, ``mode="same"`` or einsum's subscripts ``"ij,jk->ik"``, are
numbers, strings, ``True``/``False``/``None``, ``inf`` or tuples of them, never expressions), a
list of expressions ``[A, B]`` as the argument of ``concatenate``, ``stack`` and the like only,
``.T``, indexing with literal ints and slices, one comparison at a time (``z > 0``: a 0/1 mask,
with no derivative), ``eye(n)`` with a literal n, and ``I`` (also ``𝐈``), the identity of the
size its use fixes (``X + 2*I``).  Anything else is a :class:`FormulaError` naming the construct
and its column.

A name is a function if the table has it: ``diff`` or ``pad`` cannot also be a variable, so
that ``exp + 1`` is caught as a missing call rather than read as a variable named exp.
"""

from __future__ import annotations

import ast
import difflib
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..tensor import Tensor
from .functions import CALLS, COMPARISONS, FUNCTIONS, LITERAL_KINDS, UNSUPPORTED, Function
from .guards import prepared_args, rough_depth
from .identity import CARRIED, Unsized, size_for
from .render import to_text
from .tree import Const, FormulaError, Node, Op, Slice, Var, walk

_BINARY = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow", ast.MatMult: "matmul"}
_SYMBOLS = {
    ast.FloorDiv: "//", ast.Mod: "%", ast.LShift: "<<", ast.RShift: ">>", ast.BitAnd: "&", ast.BitOr: "|",
    ast.BitXor: "^", ast.Not: "not", ast.Invert: "~", ast.And: "and", ast.Or: "or",
    ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
    ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in",
}
_SYNTAX = {
    ast.Lambda: "lambda", ast.IfExp: "if-else expression", ast.NamedExpr: ":=", ast.JoinedStr: "f-string",
    ast.ListComp: "comprehension", ast.SetComp: "comprehension", ast.DictComp: "comprehension",
    ast.GeneratorExp: "comprehension", ast.List: "list", ast.Tuple: "tuple", ast.Dict: "dict", ast.Set: "set",
    ast.Starred: "*", ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield", ast.Slice: "slice",
}
_COMPARE = {ast.Gt: "gt", ast.GtE: "ge", ast.Lt: "lt", ast.LtE: "le", ast.Eq: "eq", ast.NotEq: "ne"}
_FLAT = str.maketrans("\t\n\r\f\v", "     ")  # one line, same length: columns stay true
MAX_DEPTH = 200
#: The longest formula parsed.  ast.parse itself runs out of memory on a few thousand nested
#: operators (``x**x**…``, ``----x``), before the depth of the tree can be checked: so the text is
#: capped in length, and its nesting bounded by :func:`rough_depth` before ast.parse too.
MAX_LENGTH = 100_000
IDENTITY = "I"  # the identity matrix; Python reads 𝐈 as I too (identifiers are NFKC-normalized)
_CONSTANTS = {"identity", "eye", *COMPARISONS}  # nodes whose value has no derivative


@dataclass(frozen=True)
class Formula:
    """A parsed formula: ``text`` as typed, free variable ``names`` in order of first appearance,
    and ``tree`` of :class:`Const`, :class:`Var` and :class:`Op` nodes.

    ``formula(W=..., h=...)`` (or ``.evaluate``) computes it with matgrad: a Tensor if any value
    is a Tensor, else a NumPy array.
    """

    text: str
    names: tuple[str, ...]
    tree: Node
    line: str = field(repr=False, compare=False)  # ``text`` on one line: spans index into it

    def segment(self, node: Node) -> str:
        """The text a node was parsed from (e.g. ``"X@w"``)."""
        return self.line[node.span[0] : node.span[1]]

    def evaluate(self, **values: Any) -> Any:
        check_names(self, values, "value")
        env = {name: value if isinstance(value, Tensor) else np.asarray(value) for name, value in values.items()}
        tensors = any(isinstance(value, Tensor) for value in env.values())
        out = self._run(self.tree, env, tensors)
        if isinstance(out, Unsized):
            at = next(node for node in walk(self.tree) if isinstance(node, Op) and node.name == "identity")
            raise FormulaError("cannot tell the size of I", self.line, at.span[0] + 1,
                               "nothing in the formula fixes it; write eye(n) with the size, e.g. eye(3)")
        return out if isinstance(out, Tensor) else np.asarray(out)

    __call__ = evaluate

    def _run(self, node: Node, env: dict[str, Any], tensors: bool) -> Any:
        if isinstance(node, Const):
            return float(node.value)  # math, not Python: 2 ** -1 is 0.5
        if isinstance(node, Var):
            return env[node.name]
        if node.name == "identity":
            return Unsized(lambda n, dtype: self._apply(node, [], tensors, {"n": n, "dtype": dtype}))
        args = [self._run(arg, env, tensors) for arg in node.args]
        if any(isinstance(arg, Unsized) for arg in args):
            return self._sized(node, args, tensors)
        return self._apply(node, args, tensors)

    def _apply(self, node: Op, args: list[Any], tensors: bool, params: dict[str, Any] | None = None) -> Any:
        try:
            args = prepared_args(node, args)
            out = CALLS["eye" if node.name == "identity" else node.name](*args, **(params or dict(node.params)))
        except (ValueError, TypeError, IndexError, OverflowError) as error:
            where = f"cannot compute {self.segment(node)!r}"
            raise FormulaError(where, self.line, node.span[0] + 1, detail=str(error)) from error
        if tensors and not (isinstance(out, Tensor) and out.requires_grad) and _holds_a_constant(node):
            return Tensor(out, name=_constant_name(node))  # shown by name in explain's notation
        return out

    def _sized(self, node: Op, args: list[Any], tensors: bool) -> Any:
        """Apply ``node`` to arguments of which some still need the size of I: fix it from an
        array beside it, or carry it on (``2*I``), or refuse (``exp(I)``)."""
        try:
            sized = size_for(node.name, args)
        except ValueError as error:
            where = f"cannot compute {self.segment(node)!r}"
            raise FormulaError(where, self.line, node.span[0] + 1, str(error)) from None

        def at(n: int, dtype: np.dtype) -> Any:
            return self._apply(node, [arg.at(n, dtype) if isinstance(arg, Unsized) else arg for arg in args], tensors)

        if sized is not None:
            return at(*sized)
        if node.name in CARRIED:
            return Unsized(at)
        raise FormulaError(f"cannot tell the size of I in {self.segment(node)!r}", self.line, node.span[0] + 1,
                           "I takes its size from an array beside it (X + I, I @ A); write eye(n), e.g. eye(3)")


def _holds_a_constant(node: Op) -> bool:
    return any(isinstance(each, Op) and each.name in _CONSTANTS for each in walk(node))


def _constant_name(node: Node) -> str:
    """How explain shows a constant: ``I``, ``𝟙[z > 0]``, ``2 I``, else the formula text."""
    if isinstance(node, Op) and node.name in ("identity", "eye"):
        return IDENTITY
    text = to_text(node)
    if isinstance(node, Op) and node.name in COMPARISONS:
        return f"𝟙[{text}]"
    if isinstance(node, Op) and node.name == "mul" and isinstance(node.args[1], Op) and node.args[1].name == "identity":
        return to_text(Op("mul", (node.args[0], Var(IDENTITY)))).replace(" * ", " ")  # 2 I, (a + b) I
    return text


def check_names(formula: Formula, given: dict[str, Any], what: str) -> None:
    """Refuse missing and extra names, suggesting the closest given name for each missing one."""
    missing = [name for name in formula.names if name not in given]
    extra = [name for name in given if name not in formula.names]
    if not missing and not extra:
        return
    parts = []
    if missing:
        hints = [did_you_mean(name, extra) for name in missing]
        parts.append(f"no {what} for {', '.join(repr(n) + h for n, h in zip(missing, hints))}")
    if extra:
        identity = f" ({IDENTITY} is the identity matrix in a formula: name the input otherwise)" * (IDENTITY in extra)
        parts.append(f"{what}s given for names not in the formula: {', '.join(map(repr, extra))}{identity}")
    raise FormulaError(f"{'; '.join(parts)} (formula uses {', '.join(formula.names) or 'no names'})")


def closest(name: str, choices: Any) -> str | None:
    """The choice most like ``name``: the same but for case, else the nearest by difflib."""
    choices = list(choices)
    same = [choice for choice in choices if choice.lower() == name.lower()]
    close = same or difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(name: str, choices: Any) -> str:
    """`` (did you mean 'sigmoid'?)`` for the closest choice, or ``""``."""
    close = closest(name, choices)
    return f" (did you mean {close!r}?)" if close else ""


def parse(text: str) -> Formula:
    """Parse ``text`` into a :class:`Formula`; anything outside the whitelist is a FormulaError."""
    if not isinstance(text, str):
        raise TypeError(f"parse: a formula is a str, got {type(text).__name__}")
    line = text.translate(_FLAT)
    body = line.lstrip()
    if not body.strip():
        raise FormulaError("empty formula")
    if len(body) > MAX_LENGTH:
        hint = "write it shorter (sum(x, axis=0) for many terms), or check it was pasted once and whole"
        raise FormulaError(f"formula is too long ({len(body):,} characters, more than {MAX_LENGTH:,})", detail=hint)
    if rough_depth(body) > MAX_DEPTH:
        raise FormulaError(f"formula is nested too deeply (more than {MAX_DEPTH} levels)")
    builder = _Builder(line, len(line) - len(body))
    try:
        root = builder.build(ast.parse(body, mode="eval").body)
    except SyntaxError as error:
        raise builder.syntax_error(error) from None
    except ValueError as error:  # e.g. a NUL byte in the source
        if isinstance(error, FormulaError):
            raise
        raise FormulaError(f"cannot parse the formula ({error})") from None
    except RecursionError:
        raise FormulaError(f"formula is nested too deeply (more than {MAX_DEPTH} levels)") from None
    if depth(root) > MAX_DEPTH:  # evaluation and rendering recurse: keep well inside Python's limit
        raise FormulaError(f"formula is nested too deeply (more than {MAX_DEPTH} levels)")
    return Formula(text, tuple(builder.names), root, line)


def depth(node: Node) -> int:
    """Levels of the tree (a leaf is 1), counted without recursion."""
    deepest, stack = 0, [(node, 1)]
    while stack:
        current, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(current, Op):
            stack.extend((arg, level + 1) for arg in current.args)
    return deepest


class _Builder:
    """Walks an ``ast`` expression, accepting only the whitelist, building the tree."""

    def __init__(self, line: str, lead: int) -> None:
        self.line = line
        self.lead = lead  # characters of leading whitespace stripped before ast.parse
        self.body = line[lead:].encode()
        self.names: list[str] = []

    # ----- positions ------------------------------------------------------------------------
    def char(self, byte_offset: int) -> int:
        """ast's byte offset in the stripped line → character offset in ``line``."""
        return self.lead + len(self.body[:byte_offset].decode("utf-8", errors="ignore"))

    def span(self, node: ast.AST) -> tuple[int, int]:
        return self.char(node.col_offset), self.char(node.end_col_offset)

    def error(self, reason: str, at: ast.AST | int, detail: str = "") -> FormulaError:
        start = at if isinstance(at, int) else self.span(at)[0]
        return FormulaError(reason, self.line, start + 1, detail)

    def between(self, left: ast.AST, right: ast.AST, symbol: str) -> int:
        """Where ``symbol`` is written between two operands (an operator has no position in ast)."""
        start, end = self.span(left)[1], self.span(right)[0]
        found = self.line.find(symbol, start, end)
        return found if found >= 0 else start

    def syntax_error(self, error: SyntaxError) -> FormulaError:
        offset = error.offset or 0
        column = self.lead + offset if 1 <= offset <= len(self.line) - self.lead else len(self.line.rstrip()) + 1
        if offset < 1:
            return FormulaError("incomplete formula", self.line, column, "it ends before an expression is complete")
        return FormulaError("syntax error", self.line, column, error.msg)

    # ----- nodes ----------------------------------------------------------------------------
    def build(self, node: ast.expr) -> Node:
        method = _WHITELIST.get(type(node))
        if method is None:
            what = _SYNTAX.get(type(node), type(node).__name__)
            at = self.between(node.body, node.test, "if") if isinstance(node, ast.IfExp) else node
            raise self.error(f"unsupported syntax {what!r}", at)
        return method(self, node)

    def build_Constant(self, node: ast.Constant) -> Const:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            kind = {bool: "boolean", str: "string", bytes: "bytes", complex: "complex"}.get(type(value), "")
            raise self.error(f"unsupported {kind or repr(value)} constant{f' {value!r}' if kind else ''}", node)
        if abs(value) > sys.float_info.max:  # 1e999 is inf; so is an int of 400 digits
            raise self.error("unsupported constant", node, "it is too large for a float (at most about 1.8e308)")
        return Const(value, self.span(node))

    def build_Name(self, node: ast.Name) -> Var | Op:
        name = node.id
        if name == IDENTITY:
            return Op("identity", (), span=self.span(node))
        if name.startswith("__") or name.endswith("__"):
            raise self.error(f"unsupported name {name!r}", node, "dunder names are not allowed")
        if name in FUNCTIONS or name in UNSUPPORTED:
            hint = f"call it, as in {name}(x); a variable needs another name, e.g. {name}_"
            raise self.error(f"function {name!r} used as a variable", node, hint)
        if name not in self.names:
            self.names.append(name)
        return Var(name, self.span(node))

    def build_BinOp(self, node: ast.BinOp) -> Op:
        name = _BINARY.get(type(node.op))
        if name is None:
            symbol = _SYMBOLS[type(node.op)]
            raise self.error(f"unsupported operator {symbol!r}", self.between(node.left, node.right, symbol))
        return Op(name, (self.build(node.left), self.build(node.right)), span=self.span(node))

    def build_UnaryOp(self, node: ast.UnaryOp) -> Node:
        if isinstance(node.op, (ast.Not, ast.Invert)):
            raise self.error(f"unsupported operator {_SYMBOLS[type(node.op)]!r}", node)
        operand = self.build(node.operand)
        if isinstance(node.op, ast.UAdd):
            return operand
        if isinstance(operand, Const):  # fold -2 into one literal
            return Const(-operand.value, self.span(node))
        return Op("neg", (operand,), span=self.span(node))

    def build_Compare(self, node: ast.Compare) -> Op:
        """``z > 0``: a mask of 0. and 1., as ``relu'(z)`` is written by hand."""
        operands = [node.left, *node.comparators]
        for k, op in enumerate(node.ops):
            symbol = _SYMBOLS[type(op)]
            at = self.between(operands[k], operands[k + 1], symbol)
            if type(op) not in _COMPARE:
                raise self.error(f"unsupported comparison {symbol!r}", at, "use > >= < <= == or !=")
            if k > 0:
                raise self.error("unsupported chained comparison", at,
                                 "compare two things at a time and multiply the masks, e.g. (a < x)*(x < b)")
        name = _COMPARE[type(node.ops[0])]
        return Op(name, (self.build(node.left), self.build(node.comparators[0])), span=self.span(node))

    def build_BoolOp(self, node: ast.BoolOp) -> Node:
        symbol = _SYMBOLS[type(node.op)]
        raise self.error(f"unsupported operator {symbol!r}", self.between(node.values[0], node.values[1], symbol))

    def build_Attribute(self, node: ast.Attribute) -> Op:
        value = self.build(node.value)  # report what is left of the dot first
        if node.attr != "T":
            at = self.span(node)[1] - len(node.attr)
            raise self.error(f"unsupported attribute '.{node.attr}'", at, "only .T, the transpose, is allowed")
        return Op("transpose", (value,), span=self.span(node))

    def build_Subscript(self, node: ast.Subscript) -> Op:
        value = self.build(node.value)
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        index = tuple(self.index_item(item) for item in items)
        return Op("index", (value,), (("index", index),), span=self.span(node))

    def index_item(self, item: ast.expr) -> int | Slice:
        if isinstance(item, ast.Slice):
            bounds = (item.lower, item.upper, item.step)
            return Slice(*(None if part is None else self.literal_int(part, "slice bound") for part in bounds))
        return self.literal_int(item, "index")

    def literal_int(self, node: ast.expr, role: str) -> int:
        """A literal int, possibly negated: ``2`` or ``-1``."""
        inner = node.operand if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) else node
        if isinstance(inner, ast.Constant) and type(inner.value) is int:
            return -inner.value if inner is not node else inner.value
        text = self.line[slice(*self.span(node))]
        hints = {"size": "eye(n) takes a literal int, e.g. eye(3); or write I, sized by its use (X + I)"}
        hint = hints.get(role, "only literal integers and slices, e.g. x[0], x[:, -1] or x[1:3]")
        raise self.error(f"unsupported {role} {text!r}", node, hint)

    def build_Call(self, node: ast.Call) -> Op:
        if not isinstance(node.func, ast.Name):
            self.build(node.func)  # the callee's own problem first, e.g. __import__('os').system
            raise self.error("unsupported call", node, "call a function by its name, e.g. sum(x)")
        spelled = node.func.id
        function = self.function(spelled, node.func)
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.error("unsupported syntax '*' in a call", arg)
        keywords = dict(self.keyword(function, spelled, kw) for kw in node.keywords)
        if function.name == "eye":
            self.count(function, spelled, node, len(node.args) == 1)
            return Op("eye", (), (("n", self.size(node.args[0])),), span=self.span(node))
        arrays, literals = self.arguments(function, spelled, node, keywords)
        literals.update((key, value) for key, value in keywords.items() if key not in literals)
        args = tuple(self.build(arg) for arg in arrays)
        return Op(function.name, args, tuple(literals.items()), span=self.span(node))

    def arguments(
        self, function: Function, spelled: str, node: ast.Call, keywords: dict[str, Any]
    ) -> tuple[list[ast.expr], dict[str, Any]]:
        """The argument nodes that are arrays, and the literal parameters written positionally
        (in the table's order, with those given by keyword): as Python binds a signature."""
        positional = list(node.args)
        unnamed = [name for name in function.literals if name not in keywords]
        if function.arrays == "variadic":  # einsum(subscripts, *operands): the literals lead
            literal_nodes, arrays = positional[: len(unnamed)], positional[len(unnamed) :]
            self.count(function, spelled, node, len(literal_nodes) == len(unnamed) and len(arrays) >= 1)
        else:
            arrays, literal_nodes = positional[: len(function.params)], positional[len(function.params) :]
            twice = [name for name in function.literals[: len(literal_nodes)] if name in keywords]
            if twice:
                raise self.error(f"{spelled} got {twice[0]} twice, by position and by keyword", node.func)
            right = len(arrays) == len(function.params) and len(literal_nodes) == len(unnamed)
            self.count(function, spelled, node, right)
            unnamed = function.literals[: len(literal_nodes)]
        if function.arrays == "list":
            arrays = self.listed(arrays[0], spelled)
        literals = {name: self.literal(each, name) for name, each in zip(unnamed, literal_nodes)}
        ordered = {name: literals.get(name, keywords.get(name)) for name in function.literals}
        return arrays, ordered

    def count(self, function: Function, spelled: str, node: ast.Call, right: bool) -> None:
        """Refuse a call with the wrong number of positional arguments, showing the signature."""
        if right:
            return
        expected = len(function.literals) + (1 if function.arrays != "fixed" else len(function.params))
        at_least = "at least " * (function.arrays == "variadic")
        reason = f"{spelled} takes {at_least}{expected} argument{'s' * (expected != 1)}, got {len(node.args)}"
        raise self.error(reason, node.func, f"use {function.signature(spelled)}")

    def listed(self, node: ast.expr, spelled: str) -> list[ast.expr]:
        """The arrays of ``concatenate([A, B])``: a list (or tuple) literal of expressions."""
        if not isinstance(node, (ast.List, ast.Tuple)) or not node.elts:
            example = f"{spelled}([A, B])"
            raise self.error(f"{spelled} takes a list of arrays", node, f"write them in brackets, e.g. {example}")
        return list(node.elts)

    def literal(self, node: ast.expr, name: str) -> Any:
        """The literal value of parameter ``name``, of the kind it takes (``LITERAL_KINDS``)."""
        kind = LITERAL_KINDS.get(name, "ints")
        value = _literal_value(node)
        if value is _NOT_LITERAL or not _KINDS[kind][0](value):
            text = self.line[slice(*self.span(node))]
            raise self.error(f"unsupported {name} {text!r}", node, _KINDS[kind][1].format(name=name))
        return value

    def size(self, node: ast.expr) -> int:
        """The literal n of ``eye(n)``."""
        n = self.literal_int(node, "size")
        if n < 1:
            raise self.error(f"unsupported size {n} for eye", node, "eye(n) takes n ≥ 1, e.g. eye(3)")
        return n

    def function(self, spelled: str, node: ast.Name) -> Function:
        if spelled in FUNCTIONS:
            return FUNCTIONS[spelled]
        if spelled.startswith("__") or spelled.endswith("__"):
            raise self.error(f"unsupported name {spelled!r}", node, "dunder names are not allowed")
        if spelled in UNSUPPORTED:
            raise self.error(f"unsupported function {spelled!r}", node, UNSUPPORTED[spelled])
        close = closest(spelled, FUNCTIONS)
        known = (f"did you mean {close!r}? " if close else "") + f"known: {', '.join(sorted(FUNCTIONS))}"
        raise self.error(f"unknown function {spelled!r}", node, known)

    def keyword(self, function: Function, spelled: str, kw: ast.keyword) -> tuple[str, Any]:
        if kw.arg is None:
            raise self.error("unsupported syntax '**' in a call", kw)
        names = (*function.literals, *function.keywords)
        if kw.arg not in names:
            allowed = f"allowed: {', '.join(names)}" if names else "it takes none"
            raise self.error(f"unsupported keyword {kw.arg!r} for {spelled}", kw, allowed)
        return kw.arg, self.literal(kw.value, kw.arg)


_NOT_LITERAL = object()  # what _literal_value gives for an expression that is not a literal


def _literal_value(node: ast.expr) -> Any:
    """A literal written in a formula: a number, string, True/False/None, ``inf``, a negated
    number, or a tuple (or list) of literals; else ``_NOT_LITERAL``."""
    if isinstance(node, ast.Constant) and (node.value is None or type(node.value) in (int, float, str, bool)):
        return node.value
    if isinstance(node, ast.Name) and node.id == "inf":
        return float("inf")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _literal_value(node.operand)
        if not _is_number(inner):
            return _NOT_LITERAL
        return -inner if isinstance(node.op, ast.USub) else inner
    if isinstance(node, (ast.Tuple, ast.List)):
        items = tuple(_literal_value(item) for item in node.elts)
        return _NOT_LITERAL if any(item is _NOT_LITERAL for item in items) else items
    return _NOT_LITERAL


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)


def _nested(test: Any) -> Any:
    """``test`` of a value, or of every item of a tuple of them, nested: ``(1, (2, 3))``."""
    return lambda value: all(map(_nested(test), value)) if isinstance(value, tuple) else test(value)


_INTS = _nested(lambda value: type(value) is int)
#: Each kind of literal parameter (``LITERAL_KINDS``): the test a value must pass, and the hint.
_KINDS = {
    "ints": (_INTS, "{name} takes a literal int or a tuple of ints, e.g. {name}=2 or {name}=(3, 2)"),
    "axis": (lambda value: value is None or _INTS(value), "axis takes a literal int, a tuple of ints or None, e.g. "
             "axis=0 or axis=(0, 1)"),
    "bool": (lambda value: type(value) is bool, "{name}= takes the literal True or False"),
    "string": (lambda value: type(value) is str, "{name}= takes a string literal, e.g. {name}='same'"),
    "subscripts": (lambda value: type(value) is str, "einsum's subscripts are a string literal, e.g. "
                   "einsum('ij,jk->ik', A, B)"),
    "order": (lambda value: _is_number(value) or type(value) is str, "ord= takes a number, inf, -inf, 'fro' or 'nuc'"),
    "bound": (lambda value: value is None or _is_number(value), "{name} takes a literal number or None, e.g. "
              "clip(x, -1, 1)"),
    "numbers": (_nested(_is_number), "{name}= takes a literal number or a tuple of numbers, e.g. {name}=(1, 2, 3)"),
    "padding": (lambda value: type(value) is str or _INTS(value), "padding= takes an int, a tuple of ints, "
                "'valid' or 'same'"),
}


#: The node types a formula may contain, each with the method that checks and converts it.
_WHITELIST = {
    ast.Constant: _Builder.build_Constant, ast.Name: _Builder.build_Name, ast.BinOp: _Builder.build_BinOp,
    ast.UnaryOp: _Builder.build_UnaryOp, ast.Call: _Builder.build_Call, ast.Attribute: _Builder.build_Attribute,
    ast.Subscript: _Builder.build_Subscript,
    ast.Compare: _Builder.build_Compare, ast.BoolOp: _Builder.build_BoolOp,  # refused with the operator's column
}
