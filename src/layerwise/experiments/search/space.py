"""Search spaces: the settings to vary and their values, as a grid (every combination) or
seeded random draws, from the command line (--grid/--random) or a TOML file."""

import itertools
import json
import math
import tomllib
from dataclasses import dataclass

import numpy as np

from ...errors import LayerwiseError
from ...nn.config import DEFAULTS, parse_candidates

MAX_TRIALS = 100_000


def _distribution(name, text):
    """ "uniform(a,b)", "loguniform(a,b)" or "randint(a,b)" (a and b included) for random search."""
    text = text.strip()
    for kind in ("loguniform", "uniform", "randint"):
        if text.startswith(kind + "(") and text.endswith(")"):
            try:
                a, b = (float(v) for v in text[len(kind) + 1 : -1].split(","))
            except ValueError:
                break
            if not (math.isfinite(a) and math.isfinite(b) and a < b) or (kind == "loguniform" and a <= 0):
                raise LayerwiseError(f"{name}={text}: need finite a < b (and a > 0 for loguniform)")
            if kind == "randint" and not (a == int(a) and b == int(b) and max(abs(a), abs(b)) < 2**53):
                raise LayerwiseError(f"{name}={text}: randint needs integer bounds")
            return (kind, a, b)
    return None


@dataclass
class Space:
    """``grid``: setting -> list of values (every combination is a trial). ``random``:
    setting -> list of values (a uniform choice) or a distribution ("uniform", a, b);
    ``trials`` draws from it, seeded. The values of a setting are read as
    ``layerwise.nn.config.parse_candidates`` reads them."""

    grid: dict
    random: dict
    trials: int = 0

    @classmethod
    def parse(cls, grid_items=(), random_items=(), trials=None, need_trials=True):
        """A space from "setting=values" items (``need_trials``: random draws need a number
        of trials; Hyperband draws its brackets' candidates itself)."""
        grid, random = {}, {}
        for target, items in ((grid, grid_items), (random, random_items)):
            for item in items:
                name, sep, text = item.partition("=")
                name = name.strip().replace("-", "_")
                if not sep or not text.strip():
                    raise LayerwiseError(
                        f"cannot read {item!r}: write setting=values, e.g. l2=logspace(-2,2,10)"
                    )
                if name in grid or name in random:
                    raise LayerwiseError(f"{name} is given twice in the search space")
                dist = _distribution(name, text) if target is random else None
                target[name] = dist if dist else parse_candidates(name, text)
                for value in [] if dist else target[name]:
                    DEFAULTS.replace(**{name: value})  # each value is checked as a setting
        if random and not trials and need_trials:
            raise LayerwiseError("random search needs a number of trials (--trials N)")
        combos = math.prod(len(values) for values in grid.values()) * (int(trials or 1) if random else 1)
        if combos > MAX_TRIALS:
            raise LayerwiseError(f"the search space has {combos} trials; at most {MAX_TRIALS} are run")
        space = cls(grid, random, int(trials or 0))
        if not space.grid and not space.random:
            raise LayerwiseError('the search space is empty: give --grid "setting=values" or a TOML file')
        return space

    @classmethod
    def from_toml(cls, path, need_trials=True):
        """A TOML file with [grid] and/or [random] tables (and trials = N in [random]) and
        an optional [settings] table of fixed settings. Returns (space, settings dict)."""
        try:
            with open(path, "rb") as f:
                doc = tomllib.load(f)
        except FileNotFoundError:
            raise LayerwiseError(f"search space file {path} does not exist") from None
        except (OSError, UnicodeDecodeError) as e:
            raise LayerwiseError(f"cannot read search space file {path}: {e}") from None
        except tomllib.TOMLDecodeError as e:
            raise LayerwiseError(f"search space file {path} is not valid TOML: {e}") from None
        unknown = set(doc) - {"grid", "random", "settings"}
        if unknown or not all(isinstance(doc.get(k, {}), dict) for k in ("grid", "random", "settings")):
            raise LayerwiseError(f"{path}: expected only the tables [grid], [random] and [settings]")
        random = dict(doc.get("random", {}))
        trials = random.pop("trials", None)
        if trials is not None and (not isinstance(trials, int) or isinstance(trials, bool) or trials < 1):
            raise LayerwiseError(f"{path}: trials must be a positive integer")
        items = lambda table: [f"{k}={_toml_text(k, v)}" for k, v in table.items()]  # noqa: E731
        space = cls.parse(items(doc.get("grid", {})), items(random), trials, need_trials)
        return space, dict(doc.get("settings", {}))

    def trials_settings(self, seed):
        """The settings (a dict per trial) in a fixed order: the grid's product, in the
        order the settings were given, crossed with the random draws."""
        names = list(self.grid)
        combos = [dict(zip(names, values)) for values in itertools.product(*self.grid.values())]
        if not self.random:
            return combos
        rng = np.random.default_rng([int(seed), 7919])
        draws = [{name: _draw(spec, rng) for name, spec in self.random.items()} for _ in range(self.trials)]
        return [{**c, **d} for c in combos for d in draws]

    def sample(self, n, seed, draw):
        """``n`` candidates drawn from the space for one bracket of Hyperband (``draw``
        numbers the brackets): the grid's points in a seeded order, each once before any
        comes again (a grid without random draws gives each point once at most), crossed
        with fresh random draws."""
        names = list(self.grid)
        points = [dict(zip(names, values)) for values in itertools.product(*self.grid.values())]
        if not self.random:
            n = min(n, len(points))
        rng = np.random.default_rng([int(seed), 7919, 1 + int(draw)])
        rounds = -(-n // len(points))
        order = np.concatenate([rng.permutation(len(points)) for _ in range(rounds)])[:n]
        return [
            {**points[i], **{name: _draw(spec, rng) for name, spec in self.random.items()}} for i in order
        ]

    def to_dict(self):
        return {"grid": plain(self.grid), "random": plain(self.random), "trials": self.trials}


def _draw(spec, rng):
    if not isinstance(spec, tuple):
        return spec[int(rng.integers(len(spec)))]
    kind, a, b = spec
    if kind == "uniform":
        return float(rng.uniform(a, b))
    if kind == "loguniform":
        return float(np.exp(rng.uniform(np.log(a), np.log(b))))
    return int(rng.integers(int(a), int(b) + 1))


def _toml_text(name, value):
    """A TOML value as the command line writes it: a list of hidden-size lists is
    "48,32;64", a list of specs of layers (strings, or lists of layers) is
    "conv8k3,relu,32;none", other lists "a,b,c"."""
    if isinstance(value, list):
        separator = ";" if name in ("hidden", "layers") else ","
        return separator.join(",".join(map(str, v)) if isinstance(v, list) else str(v) for v in value)
    return str(value)


def plain(d):
    """JSON-compatible copy (tuples become lists)."""
    return json.loads(json.dumps(d, default=list))
