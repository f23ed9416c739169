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
    def __call__(self, epoch: int) -> float:
        return 1.0

    def __repr__(self) -> str:
        return "ConstantLR()"


class StepLR:
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs."""

    def __init__(self, step_size: int, gamma: float = 0.1) -> None:
        if int(step_size) < 1 or gamma <= 0:
            raise LayerwiseError("StepLR needs step_size >= 1 and gamma > 0")
        self.step_size, self.gamma = int(step_size), float(gamma)

    def __call__(self, epoch: int) -> float:
        return self.gamma ** (epoch // self.step_size)

    def __repr__(self) -> str:
        return f"StepLR(step_size={self.step_size}, gamma={self.gamma})"


class CosineAnnealingLR:
    """Cosine decay from the initial rate to ``eta_min`` (a fraction of it) over ``T_max`` epochs."""

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
    """A schedule from its name: "constant", "step" or "cosine"."""
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
        """Sets ``lr`` from the schedule for this (0-based) epoch."""
        self.lr = self.initial_lr * self.schedule(epoch)

    def step(self, parameters: Sequence[Parameter]) -> None:
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
        state = [{k: np.copy(v) for k, v in s.items()} for s in self.state]
        return {"lr": self.lr, "steps": self.steps, "state": state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.lr = float(state["lr"])
        self.steps = int(state.get("steps", 0))
        self.state = [{k: np.array(v) for k, v in s.items()} for s in state["state"]]


class SGD(Optimizer):
    """Gradient descent, with momentum as in the tutorial: V <- mu V - lr g, W <- W + V.

    With ``nesterov=True`` the step looks ahead: W <- W + mu V - lr g (after updating V).
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
        state = super().state_dict()
        for s in state["state"]:
            s.pop("scratch", None)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        if not self.momentum:
            self.state = []  # plain SGD keeps no state; scratch space is made on the next step
        for s in self.state:
            s["scratch"] = np.empty_like(s["velocity"])

    def __repr__(self) -> str:
        return f"SGD(lr={self.initial_lr}, momentum={self.momentum}, nesterov={self.nesterov})"


class Adam(Optimizer):
    """Adam (Kingma and Ba) with bias correction, as PyTorch computes it:
    W <- W - lr * m_hat / (sqrt(v_hat) + eps).

    The state keeps the moments divided by (1 - beta): M = m / (1 - b1) and
    V = v / (1 - b2), so that updating them takes two passes fewer over the arrays
    (M <- b1 M + g, V <- b2 V + g^2); the constants go into the step size and eps.
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
        state = super().state_dict()
        state["t"] = self.t
        for s in state["state"]:
            s.pop("scratch", None)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.t = int(state["t"])
        for s in self.state:
            s["scratch"] = np.empty_like(s["m"])

    def __repr__(self) -> str:
        return f"Adam(lr={self.initial_lr}, betas={self.betas}, eps={self.eps})"
