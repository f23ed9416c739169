"""Finite-difference check of every parameter's gradient, in float64."""

import numpy as np

from .layers import Dropout
from .losses import l2_penalty
from .network import Network
from .types import ArrayLike, Seed

# The floor of the relative error's denominator, in units of the finite differences'
# rounding error per entry: rounding alone then gives at most 1 / FLOOR_FACTOR = 1e-7.
FLOOR_FACTOR = 1e7


def gradcheck(
    net: Network,
    X: ArrayLike,
    y: ArrayLike,
    l2: float = 0.0,
    eps: float = 1e-6,
    max_checks: int | None = None,
    seed: Seed = 0,
    sample_weight: ArrayLike | None = None,
) -> dict[str, float]:
    """Compare backprop's gradients with central finite differences.

    Works on a float64 copy of ``net`` (the network itself is not changed, and a float32
    network is checked in float64 too). Dropout layers keep one fixed mask for all
    evaluations. For each parameter, returns the relative error

        ||analytic - numeric|| / max(||analytic|| + ||numeric||, floor)

    over its k checked entries (all of them, or ``max_checks`` chosen with ``seed``),
    keyed by "<layer index>.weight" / "<layer index>.bias". The floor, ``1e7 * sqrt(k) *
    delta``, ties the measure to what finite differences resolve: ``delta = 2.2e-16 *
    max(1, |L|, max |score|) / eps`` bounds the rounding error of one numeric derivative
    (L the loss, the scores the network's outputs; delta is about 5e-10 for a loss of 2.3
    and eps = 1e-6). A gradient whose entries are small (root mean square below 1e7 *
    delta, about 5e-3) is measured against the floor instead of its own size, so that
    rounding alone gives at most 1e-7 even where the gradient is near zero.

    Below 1e-6 means the gradient is right: backprop and the finite differences agree to
    1e-6 of the gradient's size, or, for a smaller gradient, to 10 times the rounding
    error. Above 1e-6 it is wrong; a mistake in a backward pass typically gives 1e-3 to
    1 on gradients of ordinary size.

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
    sample_weight : array_like of shape (n_examples,) or None, optional
        A weight per example: the loss checked is then the weighted mean
        sum w_i l_i / sum w_i plus lambda/(2 sum w) sum ||W||^2, as ``fit`` trains with it
        (the weighted computation is checked even when the weights are equal).

    Returns
    -------
    dict of str to float
        The relative error of each parameter, by name.

    Raises
    ------
    LayerwiseError
        If X or y are not numeric arrays of the network's shapes, hold NaN or infinite
        values, or labels out of range; or the weights are invalid
        (``Network.check_sample_weight``).

    See Also
    --------
    Network.loss_and_gradients : The backward pass that is checked.

    Notes
    -----
    The numeric derivative of the loss L for an entry w is
    (L(w + eps) - L(w - eps)) / (2 eps), the other entries held fixed. Its error is the
    rounding of L divided by eps (delta above) plus eps^2 / 6 times L's third derivative;
    with eps = 1e-6 rounding dominates, and the floor covers it (with a much larger eps
    the second term grows, and correct gradients can exceed 1e-6). A parameter whose
    gradient is exactly zero both ways reports 0.

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
    >>> weights = [1.0, 2.0, 0.0, 0.5, 3.0, 1.0]
    >>> max(lw.gradcheck(net, X, np.arange(6) % 3, l2=0.1, sample_weight=weights).values()) < 1e-6
    True
    """
    net64 = net.astype("float64")
    X = net64.check_X(X)
    y = net64.check_y(y, len(X))
    weights = None if sample_weight is None else net64.check_sample_weight(sample_weight, len(X))
    n = len(X) if weights is None else float(weights.sum())
    dropouts = [layer for layer in net64.layers if isinstance(layer, Dropout)]
    for layer in dropouts:
        layer.freeze_mask = False
    net64.train(True)
    # draws the dropout masks and the analytic gradients
    loss0, scores = net64._loss_and_gradients(X, y, l2, weights)
    # the rounding error of one numeric derivative: L's, that of its largest terms, over eps
    scale = max(1.0, abs(loss0), float(np.max(np.abs(scores), initial=0.0)))
    rounding = float(np.finfo(np.float64).eps) * scale / eps
    for layer in dropouts:
        layer.freeze_mask = True
    analytic = {name: p.grad.copy() for name, p in net64.named_parameters()}

    def loss() -> float:
        out = net64.forward(X)
        data_loss = net64.loss.forward(out, y) if weights is None else net64.loss.forward(out, y, weights)
        return data_loss + l2_penalty(net64.parameters(), l2, n)

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
        floor = FLOOR_FACTOR * np.sqrt(len(indices)) * rounding
        denom = max(float(np.linalg.norm(exact) + np.linalg.norm(numeric)), floor)
        errors[name] = float(np.linalg.norm(exact - numeric) / denom)
    return errors
