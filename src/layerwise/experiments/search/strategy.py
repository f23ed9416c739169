"""How a search spends its epochs: every candidate to the end (a grid, random draws),
successive halving and Hyperband (candidates stopped early, survivors continued from
their state), or an Optuna study (a sampler that learns from the trials, a pruner).

Successive halving trains every candidate for the first rung's epochs; the best 1/eta
(by validation score) go on, continuing from their state, to the next rung, eta times
longer, until the survivors reach ``max_epochs``. The rungs of a bracket of s + 1 rungs
train max * eta^-s, ..., max / eta, max epochs in total (rounded), so that successive
rungs are eta apart and the first is at least ``min_epochs``. Hyperband (Li et al., 2018)
runs several such brackets, from the most aggressive (many candidates, first rung at
about ``min_epochs``) to a plain search of few candidates at the full budget.

    >>> rung_epochs(3, 27, 3, 2), survivors(27, 3, 3)
    ([3, 9, 27], [27, 9, 3])
    >>> [(n, epochs[0]) for n, epochs in hyperband_brackets(1, 81, 3)]
    [(81, 1), (34, 3), (15, 9), (8, 27), (5, 81)]
"""

import math
from dataclasses import dataclass, replace

from ...errors import LayerwiseError

EXHAUSTIVE = ("grid", "random")
STRATEGIES = (*EXHAUSTIVE, "halving", "hyperband")
SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("none", "median", "hyperband")
DEFAULT_ETA = 3
DEFAULT_MIN_EPOCHS = 1


def brackets_above(min_epochs, max_epochs, eta):
    """s_max: the largest s with min_epochs * eta^s <= max_epochs (integers, no logarithm)."""
    s = 0
    while min_epochs * eta ** (s + 1) <= max_epochs:
        s += 1
    return s


def rung_epochs(min_epochs, max_epochs, eta, s):
    """The epochs trained in total at the end of each of the s + 1 rungs of a bracket:
    max * eta^(i - s) for i = 0..s, rounded, at least ``min_epochs``; the last is max."""
    return [max(min_epochs, round(max_epochs * eta ** (i - s))) for i in range(s)] + [max_epochs]


def survivors(n, eta, rungs):
    """How many candidates each rung trains: n, then the best 1/eta of the rung before
    (at least one)."""
    counts = [n]
    for _ in range(rungs - 1):
        counts.append(max(1, counts[-1] // eta))
    return counts


def hyperband_brackets(min_epochs, max_epochs, eta):
    """Hyperband's brackets, most aggressive first: (candidates, epochs of each rung) for
    s = s_max..0, with n = ceil((s_max + 1) / (s + 1) * eta^s) candidates (Li et al.)."""
    s_max = brackets_above(min_epochs, max_epochs, eta)
    return [
        (-(-(s_max + 1) * eta**s // (s + 1)), rung_epochs(min_epochs, max_epochs, eta, s))
        for s in range(s_max, -1, -1)
    ]


@dataclass(frozen=True)
class Strategy:
    """The strategy of a search and its settings, checked.

    ``name``: grid or random (every candidate of the space trained to the end), halving,
    hyperband, or optuna (``sampler`` tpe, random or grid, and ``pruner`` none, median or
    hyperband, ``trials`` trials). ``eta``, ``min_epochs`` and ``max_epochs`` are the
    reduction factor and the budgets of halving, Hyperband and Optuna's pruners;
    ``max_epochs`` is then the epochs of every trial (the settings' epochs unless given).

    >>> import layerwise as lw
    >>> from layerwise.experiments.search import Space
    >>> space = Space.parse(["l2=0,0.01,0.1", "lr=0.001,0.01,0.1", "hidden=32;64;128"])
    >>> strategy = Strategy.of("halving", min_epochs=3).check(space, lw.TrainConfig(epochs=27), cv=None)
    >>> strategy.schedule(), strategy.tasks(27)  # 27 candidates, then 9, then 3
    ([(27, [3, 9, 27])], 39)
    """

    name: str | None = None  # None: grid or random, as the space is (``check`` says which)
    eta: int = DEFAULT_ETA
    min_epochs: int = DEFAULT_MIN_EPOCHS
    max_epochs: int | None = None
    sampler: str | None = None
    pruner: str = "none"
    trials: int | None = None
    candidates: int | None = None  # halving: the candidates; hyperband: at most these per bracket

    @classmethod
    def of(cls, name=None, *, eta=None, min_epochs=None, max_epochs=None, sampler=None, pruner=None):
        """A Strategy from what the command line (or ``search``'s keywords) give: None for
        what was not given. ``sampler`` or ``pruner`` makes it an Optuna study."""
        if name is not None and name not in STRATEGIES:
            raise LayerwiseError(f"unknown search strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
        if sampler is not None and sampler not in SAMPLERS:
            raise LayerwiseError(f"unknown sampler {sampler!r}; choose one of {', '.join(SAMPLERS)}")
        if pruner is not None and pruner not in PRUNERS:
            raise LayerwiseError(f"unknown pruner {pruner!r}; choose one of {', '.join(PRUNERS)}")
        for option, value, least in (("--eta", eta, 2), ("--min-epochs", min_epochs, 1),
                                     ("--max-epochs", max_epochs, 1)):  # fmt: skip
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < least):
                raise LayerwiseError(f"{option} must be an integer of at least {least}, not {value!r}")
        if sampler is not None or pruner is not None:
            if name is not None:
                raise LayerwiseError(
                    f"--strategy {name} cannot come with --sampler/--pruner, which make the search an "
                    "Optuna study (its pruner stops trials early: --pruner hyperband)"
                )
            name, sampler, pruner = "optuna", sampler or "tpe", pruner or "none"
        budgets = name in ("halving", "hyperband") or (name == "optuna" and pruner != "none")
        if not budgets and (eta, min_epochs) != (None, None):
            raise LayerwiseError(
                f"--{'eta' if eta is not None else 'min-epochs'} is for --strategy halving or hyperband, "
                "or an Optuna --pruner"
            )
        if name in (None, *EXHAUSTIVE) and max_epochs is not None:
            raise LayerwiseError(
                "--max-epochs is for --strategy halving or hyperband, or an Optuna study: give --epochs"
            )
        return cls(name, eta or DEFAULT_ETA, min_epochs or DEFAULT_MIN_EPOCHS, max_epochs,
                   sampler, pruner or "none")  # fmt: skip

    @property
    def optuna(self):
        return self.name == "optuna"

    @property
    def halving(self):
        """Candidates continued from their state over rungs: halving or Hyperband."""
        return self.name in ("halving", "hyperband")

    def check(self, space, config, cv):
        """This strategy for the space and the settings (``config``'s epochs are the
        maximum unless ``max_epochs`` is given): returns it with ``max_epochs``,
        ``trials`` and ``candidates`` filled in."""
        names = set(space.grid) | set(space.random)
        if self.name is None:
            return replace(self, name="random" if space.random else "grid").check(space, config, cv)
        if self.name == "grid" and space.random:
            raise LayerwiseError(
                "--strategy grid runs every combination of --grid; random draws need --strategy random"
            )
        if self.name == "random" and not space.random:
            raise LayerwiseError(
                '--strategy random needs random draws: --random "setting=distribution" --trials N'
            )
        if self.name in EXHAUSTIVE:
            return self
        max_epochs = self.max_epochs or config.epochs
        if self.min_epochs > max_epochs:
            raise LayerwiseError(
                f"--min-epochs {self.min_epochs} is more than the {max_epochs} epochs of a trial"
            )
        stops_early = self.halving or self.pruner != "none"
        if stops_early and "epochs" in names:
            raise LayerwiseError(
                "epochs cannot be searched when trials are stopped early: the budget is --max-epochs"
            )
        if stops_early and cv:
            raise LayerwiseError(
                f"--cv cannot come with {'--strategy ' + self.name if self.halving else '--pruner'}: "
                "trials stopped early are scored on the validation split"
            )
        if self.name == "hyperband" and space.trials:
            raise LayerwiseError(
                "--strategy hyperband draws the candidates of each bracket itself: leave out --trials"
            )
        if self.halving and brackets_above(self.min_epochs, max_epochs, self.eta) == 0:
            raise LayerwiseError(
                f"--strategy {self.name} needs --min-epochs x --eta ({self.min_epochs} x {self.eta}) at most "
                f"the {max_epochs} epochs of a full trial, so that there are two rungs or more"
            )
        trials = candidates = None
        if self.optuna:
            grid_size = math.prod(len(v) for v in space.grid.values())
            if self.sampler == "grid" and space.random:
                raise LayerwiseError(
                    "--sampler grid runs the points of --grid; random draws need --sampler tpe or random"
                )
            if self.sampler == "grid" and space.trials > grid_size:
                raise LayerwiseError(
                    f"--trials {space.trials} is more than the {grid_size} points of the grid"
                )
            trials = space.trials or grid_size
        elif self.name == "halving":
            candidates = len(space.trials_settings(0))
        elif not space.random:  # hyperband on a grid: a bracket has every point at most
            candidates = math.prod(len(v) for v in space.grid.values())
        return Strategy(self.name, self.eta, self.min_epochs, max_epochs, self.sampler, self.pruner, trials,
                        candidates)  # fmt: skip

    def schedule(self):
        """Halving and Hyperband: [(candidates, epochs of each rung)] per bracket."""
        if self.name == "hyperband":
            brackets = hyperband_brackets(self.min_epochs, self.max_epochs, self.eta)
            return [(min(n, self.candidates or n), epochs) for n, epochs in brackets]
        s = brackets_above(self.min_epochs, self.max_epochs, self.eta)
        return [(self.candidates, rung_epochs(self.min_epochs, self.max_epochs, self.eta, s))]

    def tasks(self, n_trials):
        """The trainings the search runs (rungs of candidates, or trials): a progress bar's total."""
        if self.halving:
            return sum(sum(survivors(n, self.eta, len(epochs))) for n, epochs in self.schedule())
        return self.trials if self.optuna else n_trials

    def to_dict(self):
        """What defines the strategy, for search.json and the report."""
        if self.name in EXHAUSTIVE:
            return {"name": self.name}
        d = {"name": self.name, "eta": self.eta, "min_epochs": self.min_epochs, "max_epochs": self.max_epochs}
        if self.optuna:
            d.update(sampler=self.sampler, pruner=self.pruner, trials=self.trials)
        return d
