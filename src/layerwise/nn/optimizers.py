"""Optimizers (SGD with momentum or Nesterov, Adam) and learning-rate schedules.

An optimizer sees only a list of Parameters: ``step(parameters)`` updates each value in
place from its grad. It owns its state (velocities, moments), which ``state_dict()`` and
``load_state_dict()`` save and restore.
"""

import math
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

import numpy as np

from ..errors import LayerwiseError
from .layers import Parameter, flat_block
from .types import Array, Schedule

State: TypeAlias = dict[str, Array]
"""An optimizer's state for one parameter: its arrays by name (velocity; m and v; scratch)."""

# --- learning-rate schedules: epoch -> multiplier of the initial learning rate -----------


class ConstantLR:
    """Keep the learning rate at its initial value: the multiplier is 1 at every epoch.

    A schedule is called with an epoch number (from 0) and returns the multiplier of the
    optimizer's initial learning rate for that epoch; ``ConstantLR()(epoch)`` is always
    1.0. It is the schedule of an optimizer given none.

    See Also
    --------
    StepLR : Multiply the learning rate by ``gamma`` every ``step_size`` epochs.
    CosineAnnealingLR : Cosine decay over ``T_max`` epochs.
    make_schedule : A schedule from its name.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> schedule = lw.ConstantLR()
    >>> [schedule(epoch) for epoch in (0, 1, 100)]
    [1.0, 1.0, 1.0]
    >>> lw.SGD(lr=0.1).schedule
    ConstantLR()
    """

    def __call__(self, epoch: int) -> float:
        return 1.0

    def __repr__(self) -> str:
        return "ConstantLR()"


class StepLR:
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs.

    Called with an epoch number (from 0), the schedule returns the multiplier of the
    optimizer's initial learning rate for that epoch: ``gamma ** (epoch // step_size)``.

    Parameters
    ----------
    step_size : int
        Epochs between two reductions; at least 1.
    gamma : float, default 0.1
        The factor of each reduction; positive.

    Raises
    ------
    LayerwiseError
        If ``step_size`` is below 1 or ``gamma`` is not positive.

    See Also
    --------
    CosineAnnealingLR : Cosine decay over ``T_max`` epochs.
    make_schedule : A schedule from its name.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> schedule = lw.StepLR(step_size=2, gamma=0.5)
    >>> [schedule(epoch) for epoch in range(6)]
    [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    >>> optimizer = lw.SGD(lr=0.1, schedule=schedule)
    >>> optimizer.set_epoch(4)
    >>> optimizer.lr
    0.025
    """

    def __init__(self, step_size: int, gamma: float = 0.1) -> None:
        if int(step_size) < 1 or gamma <= 0:
            raise LayerwiseError("StepLR needs step_size >= 1 and gamma > 0")
        self.step_size, self.gamma = int(step_size), float(gamma)

    def __call__(self, epoch: int) -> float:
        return self.gamma ** (epoch // self.step_size)

    def __repr__(self) -> str:
        return f"StepLR(step_size={self.step_size}, gamma={self.gamma})"


class CosineAnnealingLR:
    """Cosine decay from the initial rate to ``eta_min`` (a fraction of it) over ``T_max`` epochs.

    Called with an epoch number (from 0), the schedule returns the multiplier of the
    optimizer's initial learning rate for that epoch,
    ``eta_min + (1 - eta_min) * (1 + cos(pi * t / T_max)) / 2`` with ``t = min(epoch, T_max)``:
    1 at epoch 0, ``eta_min`` from epoch ``T_max`` on.

    Parameters
    ----------
    T_max : int
        Epochs of the decay; at least 1.
    eta_min : float, default 0.0
        The final multiplier, a fraction of the initial rate in [0, 1].

    Raises
    ------
    LayerwiseError
        If ``T_max`` is below 1 or ``eta_min`` is outside [0, 1].

    See Also
    --------
    StepLR : Multiply the learning rate by ``gamma`` every ``step_size`` epochs.
    make_schedule : A schedule from its name.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> schedule = lw.CosineAnnealingLR(T_max=4)
    >>> [round(schedule(epoch), 3) for epoch in range(6)]
    [1.0, 0.854, 0.5, 0.146, 0.0, 0.0]
    >>> round(lw.CosineAnnealingLR(T_max=4, eta_min=0.1)(4), 3)
    0.1
    """

    def __init__(self, T_max: int, eta_min: float = 0.0) -> None:  # noqa: N803 (the name users know)
        if int(T_max) < 1 or not 0 <= eta_min <= 1:
            raise LayerwiseError("CosineAnnealingLR needs T_max >= 1 and eta_min in [0, 1]")
        self.T_max, self.eta_min = int(T_max), float(eta_min)

    def __call__(self, epoch: int) -> float:
        t = min(epoch, self.T_max) / self.T_max
        return self.eta_min + (1 - self.eta_min) * 0.5 * (1 + math.cos(math.pi * t))

    def __repr__(self) -> str:
        return f"CosineAnnealingLR(T_max={self.T_max}, eta_min={self.eta_min})"


def make_schedule(
    name: str | None, epochs: int, step_size: int | None = None, gamma: float = 0.1
) -> Schedule:
    """A schedule from its name: "constant", "step" or "cosine".

    Parameters
    ----------
    name : str or None
        "constant" (or None): ``ConstantLR``; "step": ``StepLR``; "cosine":
        ``CosineAnnealingLR`` down to 0 over the whole training.
    epochs : int
        The training's length: ``T_max`` of "cosine" (at least 1), and the source of
        "step"'s default ``step_size``.
    step_size : int or None, optional
        For "step": epochs between two reductions (None: a third of ``epochs``, at
        least 1).
    gamma : float, default 0.1
        For "step": the factor of each reduction.

    Returns
    -------
    Schedule
        A callable: epoch (from 0) -> multiplier of the initial learning rate.

    Raises
    ------
    LayerwiseError
        If ``name`` is none of the three, or ``gamma`` is not positive.

    See Also
    --------
    TrainConfig.make_optimizer : The optimizer of the settings, with this schedule.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> lw.make_schedule("step", epochs=9)
    StepLR(step_size=3, gamma=0.1)
    >>> lw.make_schedule("cosine", epochs=20)
    CosineAnnealingLR(T_max=20, eta_min=0.0)
    >>> lw.make_schedule(None, epochs=20)
    ConstantLR()
    """
    if name in (None, "constant"):
        return ConstantLR()
    if name == "step":
        return StepLR(step_size or max(1, epochs // 3), gamma)
    if name == "cosine":
        return CosineAnnealingLR(max(1, epochs))
    raise LayerwiseError(f"unknown schedule {name!r}; choose constant, step or cosine")


# --- optimizers ------------------------------------------------------------------------


# Moments and velocities of weights whose gradient stays zero (dead units, pixels that are
# always blank) shrink geometrically towards zero and would become subnormal numbers, which
# the CPU computes with about a hundred times slower. Every FLUSH_EVERY steps the values
# below TINY are set to zero; their effect on an update is far below float32 resolution.
FLUSH_EVERY = 100
TINY = 1e-30


class Optimizer:
    """The base of the optimizers: a learning rate, its schedule, and a state per parameter.

    An optimizer sees only a list of Parameters: ``step(parameters)`` updates each value
    in place from its grad. ``lr`` is the learning rate in use: ``initial_lr`` times the
    schedule's multiplier for the epoch, which ``set_epoch`` sets (fit calls it at the
    start of every epoch). ``state`` holds one dict of arrays per parameter (velocities,
    moments), made on the first step; ``steps`` counts the steps taken. Each subclass
    defines the state of one parameter and its update.

    Parameters
    ----------
    lr : float
        The initial learning rate, a positive finite number; kept as ``initial_lr``.
    schedule : Schedule or None, optional
        Epoch (from 0) -> multiplier of the initial learning rate (None: ``ConstantLR()``).

    Raises
    ------
    LayerwiseError
        If ``lr`` is not a positive finite number.

    See Also
    --------
    SGD : Gradient descent, with momentum or Nesterov momentum.
    Adam : Adam with bias correction.

    Notes
    -----
    When the parameters tile flat arrays, as a Network keeps them, the state is kept in
    flat arrays too (``state`` holding views of them) and one update covers every
    parameter. Every 100 steps, state values below 1e-30 in magnitude are set to zero:
    the moments of weights whose gradient stays zero would otherwise become subnormal
    numbers, which the CPU computes with about a hundred times slower; their effect on
    an update is far below float32 resolution.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.optimizers import Optimizer
    >>> isinstance(lw.SGD(), Optimizer), isinstance(lw.Adam(), Optimizer)
    (True, True)
    >>> optimizer = lw.Adam(lr=0.01, schedule=lw.StepLR(step_size=1, gamma=0.5))
    >>> optimizer.set_epoch(2)
    >>> optimizer.initial_lr, optimizer.lr
    (0.01, 0.0025)
    """

    # Each optimizer defines these two: its state for one parameter value, and the update
    # of values w from gradients g with that state (in place).
    _init_state: Callable[[Array], State]
    _update: Callable[[Array, Array, State], None]
    _block: tuple[Array, Array, State, list[State]]  # made by _flat_state

    def __init__(self, lr: float, schedule: Schedule | None = None) -> None:
        if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
            raise LayerwiseError(f"the learning rate must be a positive number, not {lr!r}")
        self.initial_lr = float(lr)
        self.lr = float(lr)
        self.schedule = schedule or ConstantLR()
        self.state: list[State] = []
        self.steps = 0

    def set_epoch(self, epoch: int) -> None:
        """Set ``lr`` from the schedule for this (0-based) epoch.

        ``lr`` becomes ``initial_lr * schedule(epoch)``; fit calls this at the start of
        every epoch.

        Parameters
        ----------
        epoch : int
            The epoch about to begin, counted from 0.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> optimizer = lw.SGD(lr=0.1, schedule=lw.StepLR(step_size=10))
        >>> optimizer.set_epoch(10)
        >>> round(optimizer.lr, 6)
        0.01
        """
        self.lr = self.initial_lr * self.schedule(epoch)

    def step(self, parameters: Sequence[Parameter]) -> None:
        """Update every parameter's value in place from its grad, with the current ``lr``.

        The state is matched to the parameters by position: pass the same parameters, in
        the same order, at every step (a list of another length starts a new state).

        Parameters
        ----------
        parameters : sequence of Parameter
            The parameters to update, their ``grad`` filled (by a backward pass).

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> p = lw.Parameter("weight", np.array([1.0, -1.0]), decay=True)
        >>> p.grad[...] = [0.5, 2.0]
        >>> optimizer = lw.SGD(lr=0.1)
        >>> optimizer.step([p])
        >>> p.value.round(3).tolist(), optimizer.steps
        ([0.95, -1.2], 1)
        """
        if len(self.state) != len(parameters):
            self.state = [self._init_state(p.value) for p in parameters]
        block = self._flat_state(parameters)
        if block is not None:  # one update of the flat arrays (a Network's parameters)
            values, grads, state = block
            self._update(values, grads, state)
        else:
            for p, state in zip(parameters, self.state):
                self._update(p.value, p.grad, state)
        self.steps += 1
        if self.steps % FLUSH_EVERY == 0:
            for state in [block[2]] if block is not None else self.state:
                for name, array in state.items():
                    if name != "scratch":
                        array[np.abs(array) < TINY] = 0

    def _flat_state(self, parameters: Sequence[Parameter]) -> tuple[Array, Array, State] | None:
        """When the parameters tile flat arrays (layers.pack, as a Network keeps them),
        the state is kept in flat arrays too, ``self.state`` holding views of them, and
        this returns (values, grads, flat state); otherwise None."""
        cached: tuple[Array, Array, State, list[State]] | None = self.__dict__.get("_block")
        if (
            cached is not None
            and cached[3] is self.state
            and all(p.value.base is cached[0] and p.grad.base is cached[1] for p in parameters)
        ):
            return cached[:3]
        found = flat_block(parameters)
        if found is None:
            return None
        values, grads, offsets = found
        flat = {name: np.empty_like(values) for name in self.state[0]}
        for p, offset, state in zip(parameters, offsets, self.state):
            for name, array in state.items():
                view = flat[name][offset : offset + p.value.size].reshape(p.value.shape)
                view[...] = array  # the state so far (restored from a checkpoint, say)
                state[name] = view
        self._block = (values, grads, flat, self.state)
        return self._block[:3]

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_block"}

    def state_dict(self) -> dict[str, Any]:
        """The learning rate, the step count and copies of the state, for checkpoints.

        Returns
        -------
        dict
            "lr": the learning rate in use; "steps": the steps taken; "state": one dict of
            arrays (copies) per parameter.

        See Also
        --------
        load_state_dict : Restores what this returns.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> p = lw.Parameter("weight", np.zeros(2), decay=True)
        >>> optimizer = lw.SGD(lr=0.1, momentum=0.9)
        >>> optimizer.step([p])
        >>> sorted(optimizer.state_dict())
        ['lr', 'state', 'steps']
        """
        state = [{k: np.copy(v) for k, v in s.items()} for s in self.state]
        return {"lr": self.lr, "steps": self.steps, "state": state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what ``state_dict()`` returned: the learning rate, steps and state.

        The arrays are copied; the parameters to update next must be those of the saved
        state, in the same order.

        Parameters
        ----------
        state : dict
            A ``state_dict()``: "lr", "state" and optionally "steps" (default 0).

        Raises
        ------
        KeyError
            If ``state`` lacks "lr" or "state".

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> p = lw.Parameter("weight", np.zeros(2), decay=True)
        >>> p.grad[...] = 1.0
        >>> optimizer = lw.Adam(lr=0.01)
        >>> optimizer.step([p])
        >>> again = lw.Adam(lr=0.01)
        >>> again.load_state_dict(optimizer.state_dict())
        >>> again.steps, again.t
        (1, 1)
        """
        self.lr = float(state["lr"])
        self.steps = int(state.get("steps", 0))
        self.state = [{k: np.array(v) for k, v in s.items()} for s in state["state"]]


class SGD(Optimizer):
    """Gradient descent, with momentum as in the tutorial: V <- mu V - lr g, W <- W + V.

    With ``nesterov=True`` the step looks ahead: W <- W + mu V - lr g (after updating V).
    Without momentum (``momentum=0``, the default) the step is W <- W - lr g and the
    optimizer keeps no state. ``lr`` is the learning rate of the current epoch (see
    ``Optimizer``).

    Parameters
    ----------
    lr : float, default 0.01
        The initial learning rate; positive.
    momentum : float, default 0.0
        The momentum ``mu``, in [0, 1); 0 is plain gradient descent.
    nesterov : bool, default False
        Use Nesterov momentum (needs ``momentum`` > 0).
    schedule : Schedule or None, optional
        Epoch (from 0) -> multiplier of the initial learning rate (None: ``ConstantLR()``).

    Raises
    ------
    LayerwiseError
        If ``lr`` is not a positive finite number, ``momentum`` is outside [0, 1), or
        ``nesterov`` is set without momentum.

    See Also
    --------
    Adam : Adam with bias correction.

    Notes
    -----
    For each weight array W with gradient g, and velocity V (zeros at first), a step is

        V <- mu V - lr g
        W <- W + V

    and with ``nesterov=True``

        V <- mu V - lr g
        W <- W + mu V - lr g

    that is, the weights move by the new velocity's momentum part from where the plain
    gradient step takes them.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> p = lw.Parameter("weight", np.array([1.0, -1.0]), decay=True)
    >>> p.grad[...] = [0.5, 0.5]
    >>> optimizer = lw.SGD(lr=0.1, momentum=0.9)
    >>> optimizer.step([p])  # V = -0.05, W = W + V
    >>> optimizer.step([p])  # V = 0.9 * -0.05 - 0.05 = -0.095
    >>> p.value.round(3).tolist()
    [0.855, -1.145]
    >>> optimizer
    SGD(lr=0.1, momentum=0.9, nesterov=False)
    """

    def __init__(
        self,
        lr: float = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        schedule: Schedule | None = None,
    ) -> None:
        super().__init__(lr, schedule)
        if not 0 <= momentum < 1:
            raise LayerwiseError(f"momentum must be in [0, 1), not {momentum}")
        if nesterov and momentum == 0:
            raise LayerwiseError("Nesterov momentum needs momentum > 0")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def _init_state(self, value: Array) -> State:
        state = {"scratch": np.empty_like(value)}
        if self.momentum:
            state["velocity"] = np.zeros_like(value)
        return state

    def _update(self, w: Array, g: Array, state: State) -> None:
        step = np.multiply(g, self.lr, out=state["scratch"])  # lr g
        if not self.momentum:
            w -= step
            return
        v = state["velocity"]
        v *= self.momentum
        v -= step
        if self.nesterov:
            w -= step
            np.multiply(v, self.momentum, out=step)
            w += step
        else:
            w += v

    def state_dict(self) -> dict[str, Any]:
        """The learning rate, the step count and copies of the velocities, for checkpoints.

        Returns
        -------
        dict
            "lr", "steps", and "state": one dict per parameter holding its "velocity"
            (empty without momentum).

        See Also
        --------
        load_state_dict : Restores what this returns.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> p = lw.Parameter("weight", np.zeros(2), decay=True)
        >>> p.grad[...] = 1.0
        >>> optimizer = lw.SGD(lr=0.1, momentum=0.9)
        >>> optimizer.step([p])
        >>> saved = optimizer.state_dict()
        >>> saved["steps"], saved["state"][0]["velocity"].round(3).tolist()
        (1, [-0.1, -0.1])
        """
        state = super().state_dict()
        for s in state["state"]:
            s.pop("scratch", None)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what ``state_dict()`` returned: the learning rate, steps and velocities.

        Parameters
        ----------
        state : dict
            A ``state_dict()`` of an SGD with the same momentum setting.

        Raises
        ------
        KeyError
            If ``state`` lacks "lr" or "state", or (with momentum) a parameter's
            "velocity".

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> p = lw.Parameter("weight", np.zeros(2), decay=True)
        >>> p.grad[...] = 1.0
        >>> optimizer = lw.SGD(lr=0.1, momentum=0.9)
        >>> optimizer.step([p])
        >>> again = lw.SGD(lr=0.1, momentum=0.9)
        >>> again.load_state_dict(optimizer.state_dict())
        >>> again.steps, again.state[0]["velocity"].round(3).tolist()
        (1, [-0.1, -0.1])
        """
        super().load_state_dict(state)
        if not self.momentum:
            self.state = []  # plain SGD keeps no state; scratch space is made on the next step
        for s in self.state:
            s["scratch"] = np.empty_like(s["velocity"])

    def __repr__(self) -> str:
        return f"SGD(lr={self.initial_lr}, momentum={self.momentum}, nesterov={self.nesterov})"


class Adam(Optimizer):
    """Adam (Kingma and Ba) with bias correction, as PyTorch computes it.

    Each step is W <- W - lr * m_hat / (sqrt(v_hat) + eps), with m_hat and v_hat the
    bias-corrected moving averages of the gradient and of its square. ``t`` counts the
    steps (from 1 at the first), ``lr`` is the learning rate of the current epoch (see
    ``Optimizer``).

    Parameters
    ----------
    lr : float, default 0.001
        The initial learning rate; positive.
    betas : tuple of float, default (0.9, 0.999)
        The decays (b1, b2) of the first and second moments, each in [0, 1).
    eps : float, default 1e-8
        Added to sqrt(v_hat) in the denominator; positive.
    schedule : Schedule or None, optional
        Epoch (from 0) -> multiplier of the initial learning rate (None: ``ConstantLR()``).

    Raises
    ------
    LayerwiseError
        If ``lr`` is not a positive finite number, a beta is outside [0, 1), or ``eps`` is
        not positive.

    See Also
    --------
    SGD : Gradient descent, with momentum or Nesterov momentum.

    Notes
    -----
    For each weight array W with gradient g, and moments m and v (zeros at first), step
    t (from 1) is

        m <- b1 m + (1 - b1) g
        v <- b2 v + (1 - b2) g^2
        m_hat = m / (1 - b1^t)
        v_hat = v / (1 - b2^t)
        W <- W - lr * m_hat / (sqrt(v_hat) + eps)

    The state keeps the moments divided by (1 - beta): M = m / (1 - b1) and
    V = v / (1 - b2), so that updating them takes two passes fewer over the arrays
    (M <- b1 M + g, V <- b2 V + g^2); the constants go into the step size and eps.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> p = lw.Parameter("weight", np.array([1.0, -1.0]), decay=True)
    >>> p.grad[...] = [0.5, -2.0]
    >>> optimizer = lw.Adam(lr=0.1)
    >>> optimizer.step([p])  # the first step moves each weight by about lr
    >>> p.value.round(4).tolist()
    [0.9, -0.9]
    >>> optimizer
    Adam(lr=0.1, betas=(0.9, 0.999), eps=1e-08)
    """

    def __init__(
        self,
        lr: float = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        schedule: Schedule | None = None,
    ) -> None:
        super().__init__(lr, schedule)
        b1, b2 = betas
        if not (0 <= b1 < 1 and 0 <= b2 < 1) or eps <= 0:
            raise LayerwiseError("Adam needs betas in [0, 1) and eps > 0")
        self.betas, self.eps = (float(b1), float(b2)), float(eps)
        self.t = 0

    def _init_state(self, value: Array) -> State:
        return {"m": np.zeros_like(value), "v": np.zeros_like(value), "scratch": np.empty_like(value)}

    def step(self, parameters: Sequence[Parameter]) -> None:
        """Count the step in ``t`` and update every parameter's value in place from its grad.

        The state is matched to the parameters by position: pass the same parameters, in
        the same order, at every step.

        Parameters
        ----------
        parameters : sequence of Parameter
            The parameters to update, their ``grad`` filled (by a backward pass).

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> p = lw.Parameter("weight", np.zeros(3), decay=True)
        >>> p.grad[...] = [1.0, 0.0, -1.0]
        >>> optimizer = lw.Adam(lr=0.01)
        >>> optimizer.step([p])
        >>> optimizer.step([p])
        >>> optimizer.t, p.value.round(4).tolist()
        (2, [-0.02, 0.0, 0.02])
        """
        self.t += 1
        b1, b2 = self.betas
        # lr m_hat / (sqrt(v_hat) + eps) = lr (1 - b1) / c1 * M / (r sqrt(V) + eps)
        # with c1 = 1 - b1^t, c2 = 1 - b2^t and r = sqrt((1 - b2) / c2)
        r = math.sqrt((1 - b2) / (1 - b2**self.t))
        self._step_size = self.lr * (1 - b1) / (1 - b1**self.t) / r
        self._eps_hat = self.eps / r
        super().step(parameters)

    def _update(self, w: Array, g: Array, state: State) -> None:
        b1, b2 = self.betas
        m, v, s = state["m"], state["v"], state["scratch"]
        m *= b1
        m += g
        v *= b2
        np.multiply(g, g, out=s)
        v += s
        np.sqrt(v, out=s)
        s += self._eps_hat
        np.divide(m, s, out=s)
        s *= self._step_size
        w -= s

    def state_dict(self) -> dict[str, Any]:
        """The learning rate, the step counts and copies of the moments, for checkpoints.

        Returns
        -------
        dict
            "lr", "steps", "t", and "state": one dict per parameter holding its moments
            "m" and "v" (kept divided by 1 - b1 and 1 - b2, see Notes of ``Adam``).

        See Also
        --------
        load_state_dict : Restores what this returns.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> p = lw.Parameter("weight", np.zeros(2), decay=True)
        >>> optimizer = lw.Adam()
        >>> optimizer.step([p])
        >>> saved = optimizer.state_dict()
        >>> saved["t"], sorted(saved["state"][0])
        (1, ['m', 'v'])
        """
        state = super().state_dict()
        state["t"] = self.t
        for s in state["state"]:
            s.pop("scratch", None)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what ``state_dict()`` returned: the learning rate, step counts and moments.

        Parameters
        ----------
        state : dict
            A ``state_dict()`` of an Adam.

        Raises
        ------
        KeyError
            If ``state`` lacks "lr", "state" or "t", or a parameter's "m".

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> p = lw.Parameter("weight", np.zeros(2), decay=True)
        >>> p.grad[...] = 1.0
        >>> optimizer = lw.Adam(lr=0.01)
        >>> optimizer.step([p])
        >>> again = lw.Adam(lr=0.01)
        >>> again.load_state_dict(optimizer.state_dict())
        >>> again.t, again.lr
        (1, 0.01)
        """
        super().load_state_dict(state)
        self.t = int(state["t"])
        for s in self.state:
            s["scratch"] = np.empty_like(s["m"])

    def __repr__(self) -> str:
        return f"Adam(lr={self.initial_lr}, betas={self.betas}, eps={self.eps})"
