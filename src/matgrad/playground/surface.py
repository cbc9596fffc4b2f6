"""The Surface page: the cost over two weights of a Train session's network, with −∇C and a path.

Two halves, because a request must be stoppable.  In the server, :func:`surface_job` reads what
the picture needs from the live session under its lock (its settings, every weight, and the two
chosen weights' values along the run): a few kilobytes of JSON, cheap.  In a worker process,
under the pool's time limit, :func:`surface` rebuilds the network from that JSON and asks the
engine of ``matgrad plot surface`` (plot/landscape.py: the whole grid in a few batched forward
passes, the gradients in batched backward passes) for the loss grid, the arrows and the path.
The session is only read, so a refused or stopped request leaves training as it was.
"""

from __future__ import annotations

import math
import re
import time
from typing import Any

import numpy as np

from ..nn.linear import Linear
from ..optim import make_optimizer
from ..plot.landscape import compute_surface
from ..plot.weights import layers_of, resolve_weights
from .training import SettingsError, TrainSession, loss_of, network, settings_of, small_int, split_data

MAX_RESOLUTION = 64  # grid points along each weight: 4,096 losses
MAX_ARROWS = 24  # arrows along each weight
MAX_DESCENT_STEPS = 1_000
MAX_SPAN = 1_000.0
#: The surface is the mean loss over at most this many training examples (the first of the shuffled
#: split): its cost grows with them, and a few hundred draw the same picture as the digits' 1,347.
SURFACE_EXAMPLES = 256
PATHS = ("training", "descent", "none")
DEFAULTS = {"params": ["W2[0,1]", "W2[1,2]"], "resolution": 40, "arrows": 12, "path": "training", "steps": 200}
_PARAM_NAME = re.compile(r"^[A-Za-z]\w{0,15}\[\s*\d{1,4}(\s*,\s*\d{1,4})?\s*\]$")


def surface_options(request: dict[str, Any]) -> dict[str, Any]:
    """The picture's options, each checked against its cap; SettingsError names the first bad one.

    ``params`` are two weights named as ``matgrad plot surface --params`` names them
    (``"W2[0,1] W2[1,2]"`` or a list); whether the network has them is checked by :func:`surface_job`."""
    params = request.get("params") or DEFAULTS["params"]
    if isinstance(params, str):
        params = re.findall(r"[^\s,\]]+\[[^\]]*\]", params[:200]) or [params[:40]]
    if not isinstance(params, list) or len(params) != 2 or not all(
            isinstance(p, str) and _PARAM_NAME.match(p.strip()) for p in params):
        raise SettingsError(f"surface: params must be two weights such as W2[0,1] and b1[3], got {str(params)[:60]!r}")
    options = {"params": [p.strip().replace(" ", "") for p in params]}
    for name, high in (("resolution", MAX_RESOLUTION), ("arrows", MAX_ARROWS), ("steps", MAX_DESCENT_STEPS)):
        value = request.get(name, DEFAULTS[name])
        low = 0 if name == "steps" else 2
        if not small_int(value, low, high):
            raise SettingsError(f"surface: {name} must be an integer from {low} to {high:,}, got {str(value)[:20]!r}")
        options[name] = int(value)
    span = request.get("span")
    if span in (None, ""):
        options["span"] = None
    else:
        try:
            options["span"] = float(span)
        except (TypeError, ValueError):
            options["span"] = math.nan
        if not 0 < options["span"] <= MAX_SPAN:
            raise SettingsError(f"surface: span must be a number above 0 and at most {MAX_SPAN:g} "
                                f"(or empty: twice the larger weight), got {str(span)[:20]!r}")
    path = request.get("path", DEFAULTS["path"])
    if path not in PATHS:
        raise SettingsError(f"surface: path must be one of {', '.join(PATHS)}, got {str(path)[:20]!r}")
    options["path"] = path
    return options


def surface_job(session: TrainSession, options: dict[str, Any]) -> dict[str, Any]:
    """What the worker needs, read from the session under its lock (JSON-ready)."""
    with session.lock:
        try:
            weights = resolve_weights(session.net, options["params"])
        except ValueError as error:
            raise SettingsError(str(error).replace("plot: ", "surface: ", 1)) from None
        if not np.all(np.isfinite(session.weights())):
            raise SettingsError(f"surface: the network's weights are no longer finite numbers after step "
                                f"{session.step} (training diverged); lower the learning rate and press Reset on "
                                "the Train page")
        columns = [_flat_index(session, w) for w in weights]
        steps = [step for step, _ in session.trail]
        path = [[float(vector[columns[0]]), float(vector[columns[1]])] for _, vector in session.trail]
        if steps[-1] != session.step:  # the weights now, if not recorded yet
            steps.append(session.step)
            path.append([w.value for w in weights])
        return {
            "settings": session.settings,
            "options": options,
            "parameters": [p.data.tolist() for p in session.net.parameters()],
            "trail": path if options["path"] == "training" else [],
            "trail_steps": steps if options["path"] == "training" else [],
            "step": session.step,
        }


def parameter_names(session: TrainSession) -> list[dict[str, Any]]:
    """The names a Surface request may use, with their shapes: ``W1`` (2, 8), ``b1`` (8,), …"""
    names, ordinal = [], 0
    for module in layers_of(session.net):
        if isinstance(module, Linear):
            ordinal += 1
            names += [{"name": f"{kind}{ordinal}", "shape": list(getattr(module, kind).shape)}
                      for kind in ("W", "b") if getattr(module, kind) is not None]
    return names


def _flat_index(session: TrainSession, weight: Any) -> int:
    """Where ``weight`` sits in :meth:`TrainSession.weights`' flat vector."""
    offset = 0
    for parameter in session.net.parameters():
        if parameter is weight.tensor:
            return offset + int(np.ravel_multi_index(weight.index, parameter.shape))
        offset += parameter.data.size
    raise SettingsError(f"surface: {weight.label} is not among the network's parameters")


def surface(job: dict[str, Any]) -> dict[str, Any]:
    """The loss grid, −∇C at the arrows and the path, for the job :func:`surface_job` wrote.

    Runs in a worker, which trusts nothing it reads: the settings and options are checked again,
    and each parameter's shape against the network the settings describe."""
    started = time.perf_counter()
    if not isinstance(job, dict):
        raise SettingsError("surface: expected a JSON object")
    settings = settings_of(job.get("settings") if isinstance(job.get("settings"), dict) else {})
    options = surface_options(job.get("options") if isinstance(job.get("options"), dict) else {})
    train, _ = split_data(settings)
    net = network(settings, train.X.shape[1], train.classes)
    _load_parameters(net, job.get("parameters"))
    path, optimizer = None, None
    trail = np.asarray(job.get("trail") or np.empty((0, 2)), dtype=np.float64)
    if options["path"] == "training" and trail.ndim == 2 and trail.shape[1:] == (2,) and len(trail) >= 2:
        path = trail[-(MAX_DESCENT_STEPS + 1):]  # no longer than a descent, whatever the job says
    elif options["path"] == "descent":
        name, lr = settings["optimizer"], settings["lr"]
        optimizer = lambda params: make_optimizer(name, params, lr=lr)  # the session's own kind and rate
    sample = (train.X[:SURFACE_EXAMPLES], train.y[:SURFACE_EXAMPLES])
    result = compute_surface(net, loss_of(settings), sample, options["params"], path=path,
                             optimizer=optimizer, steps=options["steps"], span=options["span"],
                             resolution=options["resolution"], arrows=options["arrows"])
    answer = _as_json(result, settings, options, path is not None, job, time.perf_counter() - started)
    return {**answer, "examples": len(sample[1])}


def _load_parameters(net: Any, values: Any) -> None:
    parameters = list(net.parameters())
    if not isinstance(values, list) or len(values) != len(parameters):
        raise SettingsError(f"surface: expected {len(parameters)} parameter arrays for this network")
    for parameter, value in zip(parameters, values):
        array = np.asarray(value, dtype=np.float64)
        if array.shape != parameter.data.shape:
            raise SettingsError(f"surface: a parameter of shape {array.shape} where the network has "
                                f"{parameter.data.shape}")
        parameter.data[...] = array


def _as_json(result: Any, settings: dict[str, Any], options: dict[str, Any], trained: bool, job: dict[str, Any],
             seconds: float) -> dict[str, Any]:
    if trained:
        label = "training: the two weights every few steps of the run (the others moved too)"
    elif options["path"] == "descent":
        label = f"descent on this slice: {options['steps']} full-batch steps of the session's optimizer"
    elif options["path"] == "training":
        label = "training: no path yet, train some steps first"
    else:
        label = ""
    loss = result.loss
    finite = loss[np.isfinite(loss)]
    return {
        "labels": list(result.labels),
        "w1": _values(result.w1[0]),
        "w2": _values(result.w2[:, 0]),
        "loss": [_values(row) for row in loss],  # loss[i][j] at (w1[j], w2[i])
        "range": [_number(finite.min()), _number(finite.max())] if finite.size else [None, None],
        "centre": _values(result.centre),
        "arrows": {"points": [_values(p) for p in result.arrow_points],
                   "gradient": [_values(g) for g in result.gradient]},
        "path": [_values(p) for p in result.path],
        "path_loss": _values(result.path_loss),
        "path_steps": list(job.get("trail_steps") or [])[-len(result.path):] if trained else [],
        "path_label": label,
        "loss_name": "mean squared error ½‖σ(z) − y‖²" if settings["loss"] == "mse" else "mean cross-entropy",
        "l2": settings["l2"],  # the surface is the data's loss: the λ term is left out
        "step": job.get("step", 0) if isinstance(job.get("step"), int) else 0,
        "grid": options["resolution"],
        "seconds": round(seconds, 3),
    }


def _values(array: Any) -> list[Any]:
    return [_number(v) for v in np.ravel(array)]


def _number(value: Any) -> float | None:
    """A float for JSON (6 significant digits: a picture), None for NaN or ±inf."""
    value = float(value)
    return float(f"{value:.6g}") if math.isfinite(value) else None
