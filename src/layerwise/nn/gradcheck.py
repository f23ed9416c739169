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
    """Compare backprop's gradients with central finite differences.

    Works on a float64 copy of ``net`` (the network itself is not changed). Dropout
    layers keep one fixed mask for all evaluations. For each parameter, returns the
    relative error ||analytic - numeric|| / (||analytic|| + ||numeric||) over the
    checked entries (all of them, or ``max_checks`` chosen with ``seed``), keyed by
    "<layer index>.weight" / "<layer index>.bias". Below 1e-6 means the gradient is right.

    Parameters
    ----------
    net : Network
        The network whose gradients are checked (in training mode, as fit computes them).
    X : array_like of shape (n_examples, n_features)
        Examples, one per row.
    y : array_like of shape (n_examples,)
        Their class labels, integers 0..K-1.
    l2 : float, default 0.0
        The tutorial's lambda: the loss includes lambda/(2N) sum ||W||^2.
    eps : float, default 1e-6
        The step of the finite differences.
    max_checks : int or None, optional
        Entries checked per parameter, at most (None: all of them).
    seed : int, SeedSequence, Generator or None, default 0
        Chooses the entries when ``max_checks`` is smaller than a parameter.

    Returns
    -------
    dict of str to float
        The relative error of each parameter, by name.

    Raises
    ------
    LayerwiseError
        If X or y are not numeric arrays of the network's shapes, hold NaN or infinite
        values, or labels out of range.

    See Also
    --------
    Network.loss_and_gradients : The backward pass that is checked.

    Notes
    -----
    The numeric derivative of the loss L for an entry w is
    (L(w + eps) - L(w - eps)) / (2 eps), the other entries held fixed; an error of 0 is
    returned where both gradients are zero.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> net = lw.Network.from_spec("4-5-3", activation="tanh", seed=0)
    >>> X = np.random.default_rng(0).random((6, 4))
    >>> errors = lw.gradcheck(net, X, np.arange(6) % 3, l2=0.1)
    >>> sorted(errors)
    ['0.bias', '0.weight', '2.bias', '2.weight']
    >>> max(errors.values()) < 1e-6
    True
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
