"""Finite-difference check of every parameter's gradient, in float64."""

import numpy as np

from .layers import Dropout
from .losses import l2_penalty
from .network import Network
from .types import ArrayLike, Seed


def gradcheck(
    net: Network,
    X: ArrayLike,
    y: ArrayLike,
    l2: float = 0.0,
    eps: float = 1e-6,
    max_checks: int | None = None,
    seed: Seed = 0,
) -> dict[str, float]:
    """Compares backprop's gradients with central finite differences.

    Works on a float64 copy of ``net`` (the network itself is not changed). Dropout
    layers keep one fixed mask for all evaluations. For each parameter, returns the
    relative error ||analytic - numeric|| / (||analytic|| + ||numeric||) over the
    checked entries (all of them, or ``max_checks`` chosen with ``seed``), keyed by
    "<layer index>.weight" / "<layer index>.bias". Below 1e-6 means the gradient is right.
    """
    net64 = net.astype("float64")
    X = net64.check_X(X)
    y = net64.check_y(y, len(X))
    dropouts = [layer for layer in net64.layers if isinstance(layer, Dropout)]
    for layer in dropouts:
        layer.freeze_mask = False
    net64.train(True)
    net64._loss_and_gradients(X, y, l2)  # draws the dropout masks and the analytic gradients
    for layer in dropouts:
        layer.freeze_mask = True
    analytic = {name: p.grad.copy() for name, p in net64.named_parameters()}

    def loss() -> float:
        out = net64.forward(X)
        return net64.loss.forward(out, y) + l2_penalty(net64.parameters(), l2, len(X))

    rng = np.random.default_rng(seed)
    errors = {}
    for name, p in net64.named_parameters():
        flat = p.value.reshape(-1)
        indices = np.arange(flat.size)
        if max_checks is not None and flat.size > max_checks:
            indices = np.sort(rng.choice(flat.size, max_checks, replace=False))
        numeric = np.empty(len(indices))
        for j, i in enumerate(indices):
            keep = flat[i]
            flat[i] = keep + eps
            up = loss()
            flat[i] = keep - eps
            down = loss()
            flat[i] = keep
            numeric[j] = (up - down) / (2 * eps)
        exact = analytic[name].reshape(-1)[indices]
        denom = np.linalg.norm(exact) + np.linalg.norm(numeric)
        errors[name] = float(np.linalg.norm(exact - numeric) / denom) if denom > 0 else 0.0
    return errors
