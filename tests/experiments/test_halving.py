"""Successive halving and Hyperband: schedules, survivors continued from their state
(bit for bit), the same results on every backend, and resumption rung by rung."""

import json

import numpy as np
import pytest

import layerwise as lw
from layerwise.experiments.backends import DaskPool, TaskPool
from layerwise.experiments.search import Space, Strategy, read_trials, search, trial, trial_seed
from layerwise.experiments.search.halving import plan
from layerwise.experiments.search.strategy import hyperband_brackets, rung_epochs, survivors
from layerwise.experiments.search.trial import refit_task
from layerwise.io.checkpoint import load_checkpoint

# Adam, dropout, mini-batches and a cosine schedule: every kind of state a rung must carry on.
CONFIG = lw.TrainConfig(hidden=(16,), dropout=0.2, optimizer="adam", lr=0.01, schedule="cosine",
                        batch_size=32, epochs=9)  # fmt: skip
SPACE = ["l2=0,0.01,0.1", "hidden=8;16;32"]  # 9 candidates


def test_hyperband_brackets_are_those_of_the_paper():
    # Li et al. (2018), Table 1: R = 81, eta = 3
    brackets = hyperband_brackets(1, 81, 3)
    assert [n for n, _ in brackets] == [81, 34, 15, 8, 5]
    assert [epochs for _, epochs in brackets] == [
        [1, 3, 9, 27, 81],
        [3, 9, 27, 81],
        [9, 27, 81],
        [27, 81],
        [81],
    ]
    assert [survivors(n, 3, len(epochs)) for n, epochs in brackets] == [
        [81, 27, 9, 3, 1], [34, 11, 3, 1], [15, 5, 1], [8, 2], [5]
    ]  # fmt: skip
    # the rungs of a budget that is no power of eta: eta apart, rounded, the last the full budget
    assert rung_epochs(1, 20, 3, 2) == [2, 7, 20]
    assert [n for n, _ in hyperband_brackets(3, 27, 3)] == [9, 5, 3]


def test_hyperband_draws_each_brackets_candidates_from_the_space():
    grid = Space.parse(SPACE)
    strategy = Strategy.of("hyperband", min_epochs=1).check(grid, CONFIG, None)
    brackets, settings = plan(grid, strategy, seed=0)
    # a grid of 9 points: no bracket has more, and a bracket has each point at most once
    assert [len(b.ids) for b in brackets] == [9, 5, 3]
    for b in brackets:
        assert len({tuple(sorted(map(str, settings[c].items()))) for c in b.ids}) == len(b.ids)
    assert strategy.tasks(9) == 9 + 3 + 1 + 5 + 1 + 3
    random = Space.parse([], ["lr=loguniform(1e-3,1e-1)"], need_trials=False)
    brackets, settings = plan(random, Strategy.of("hyperband").check(random, CONFIG, None), seed=0)
    assert [len(b.ids) for b in brackets] == [9, 5, 3] and len(set(s["lr"] for s in settings.values())) == 17
    assert plan(random, Strategy.of("hyperband").check(random, CONFIG, None), seed=0)[1] == settings


def test_halving_keeps_the_best_third_and_continues_them_from_their_state(digits, tmp_path, monkeypatch):
    after_rung_2, trained = {}, []
    fit = trial.fit

    def counting_fit(net, X, y, **options):  # the epochs each rung trains, and from where
        trained.append((options.get("start_epoch", 0), options["epochs"]))
        return fit(net, X, y, **options)

    monkeypatch.setattr(trial, "fit", counting_fit)

    def keep_state(record):  # a survivor's checkpoint as the second rung left it
        if record["rung"] == 1:
            path = tmp_path / "candidates" / f"{record['trial']}.safetensors"
            after_rung_2[record["trial"]] = load_checkpoint(path)

    result = search(
        digits, Space.parse(SPACE), CONFIG, seed=0, out=tmp_path, strategy="halving", on_trial=keep_state
    )
    rungs = result["rungs"]
    assert [[r["budget"] for r in rungs if r["rung"] == k] for k in range(3)] == [[1] * 9, [3] * 3, [9]]
    for k in (1, 2):  # the survivors of each rung: the best third of the one before
        before = sorted(
            (r for r in rungs if r["rung"] == k - 1), key=lambda r: (-r["val_accuracy"], r["val_loss"])
        )
        assert {r["trial"] for r in rungs if r["rung"] == k} == {
            r["trial"] for r in before[: len(before) // 3]
        }
    assert result["total_epochs"] == 9 * 1 + 3 * 2 + 1 * 6
    assert sorted(trained[:13]) == [(0, 1)] * 9 + [(1, 2)] * 3 + [(3, 6)]  # each rung goes on from the last
    assert len(after_rung_2) == 3
    for candidate, state in after_rung_2.items():
        settings = next(r["settings"] for r in rungs if r["trial"] == candidate)
        config, seed = CONFIG.replace(**settings), trial_seed(0, settings)
        assert state.epoch == 3 and state.model.metadata["seed"] == seed
        net = config.network(64, 10, seed)  # 3 epochs of the 9-epoch training, without stopping
        lw.fit(net, digits.X_train, digits.y_train, optimizer=config.make_optimizer(), epochs=3,
               batch_size=32, l2=config.l2, seed=seed)  # fmt: skip
        for a, b in zip(state.weights, net.get_weights()):
            np.testing.assert_array_equal(a, b)
    # the winner, continued over three rungs, is the network of 9 epochs without stopping
    best = result["best"]
    assert best["rung"] == 2 and best["epochs"] == 9 and result["best_settings"].epochs == 9
    whole = refit_task((result["best_settings"], best["seed"], None), digits)
    for a, b in zip(result["net"].get_weights(), whole.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not (tmp_path / "candidates").exists()  # the checkpoints go once the search is over
    lines = read_trials(tmp_path / "trials.jsonl")
    assert sorted((r["trial"], r["rung"]) for r in lines) == sorted((r["trial"], r["rung"]) for r in rungs)


def test_a_missing_checkpoint_is_trained_again_to_the_same_network(digits, tmp_path):
    # a survivor whose checkpoint is gone starts again from its seed: the same numbers
    def drop(record):
        if record["rung"] == 0:
            (tmp_path / "b" / "candidates" / f"{record['trial']}.safetensors").unlink()

    a = search(digits, Space.parse(SPACE), CONFIG, seed=0, out=tmp_path / "a", strategy="halving")
    b = search(
        digits, Space.parse(SPACE), CONFIG, seed=0, out=tmp_path / "b", strategy="halving", on_trial=drop
    )
    assert scores(a["rungs"]) == scores(b["rungs"])


def scores(records):
    keys = ("trial", "rung", "settings", "seed", "epochs", "val_accuracy", "val_loss", "status")
    return sorted(tuple(json.dumps(r.get(k), sort_keys=True) for k in keys) for r in records)


def test_an_interrupted_halving_search_resumes_without_training_a_finished_rung_again(digits, tmp_path):
    space = Space.parse(SPACE)
    whole = search(digits, space, CONFIG, seed=0, out=tmp_path / "whole", strategy="halving")
    seen = []

    def stop_after_ten(record):  # rung 1 done, and one candidate of rung 2
        seen.append((record["trial"], record["rung"]))
        if len(seen) == 10:
            raise KeyboardInterrupt

    out = tmp_path / "stopped"
    with pytest.raises(KeyboardInterrupt):
        search(digits, space, CONFIG, seed=0, out=out, strategy="halving", on_trial=stop_after_ten)
    first = (out / "trials.jsonl").read_text()
    resumed_rungs = []
    resumed = search(digits, space, CONFIG, seed=0, out=out, strategy="halving", resume=True,
                     on_trial=lambda r: resumed_rungs.append((r["trial"], r["rung"])))  # fmt: skip
    assert len(resumed_rungs) == 3 and not set(resumed_rungs) & set(seen)  # only the missing rungs
    assert (out / "trials.jsonl").read_text().startswith(first)
    assert scores(resumed["rungs"]) == scores(whole["rungs"])
    assert resumed["test_accuracy"] == whole["test_accuracy"]


def test_early_stopping_within_rungs_goes_on_as_one_training(digits, tmp_path):
    config = CONFIG.replace(early_stopping=True, patience=1, epochs=27)
    halving = search(digits, Space.parse(SPACE), config, seed=0, out=tmp_path / "h", strategy="halving",
                     min_epochs=3)  # fmt: skip
    best = halving["best"]
    whole = refit_task((halving["best_settings"], best["seed"], None), digits)
    # the network scored is that of the best epoch, as early stopping of one training gives it
    assert (best["val_loss"], best["val_accuracy"]) == tuple(whole.evaluate(digits.X_valid, digits.y_valid))
    assert any(r["epochs"] < r["budget"] for r in halving["rungs"])  # some stopped before their rung's end
    for a, b in zip(halving["net"].get_weights(), whole.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_without_a_strategy_every_candidate_of_the_space_trains_to_the_end(digits):
    config = CONFIG.replace(epochs=2)
    random = search(digits, Space.parse([], ["l2=uniform(0,0.1)"], trials=3), config, seed=0)
    grid = search(digits, Space.parse(["l2=0,0.1"]), config, seed=0)
    assert (random["strategy"].name, grid["strategy"].name) == ("random", "grid")
    assert [r["epochs"] for r in random["trials"] + grid["trials"]] == [2] * 5
    assert (random["total_epochs"], grid["total_epochs"]) == (6, 4)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"strategy": "bisect"}, "unknown search strategy 'bisect'"),
        ({"strategy": "halving", "eta": 1}, "--eta must be an integer of at least 2"),
        ({"strategy": "halving", "min_epochs": 4}, "needs --min-epochs x --eta (4 x 3) at most the 9 epochs"),
        ({"strategy": "halving", "cv": 3}, "--cv cannot come with --strategy halving"),
        ({"eta": 2}, "--eta is for --strategy halving or hyperband"),
        ({"strategy": "random"}, "--strategy random needs random draws"),
        ({"strategy": "halving", "sampler": "tpe"}, "cannot come with --sampler/--pruner"),
        ({"max_epochs": 5}, "--max-epochs is for --strategy halving or hyperband, or an Optuna study"),
    ],
)
def test_bad_strategies_are_one_sentence_errors(digits, options, message):
    with pytest.raises(lw.LayerwiseError, match=message.replace("(", r"\(").replace(")", r"\)")):
        search(digits, Space.parse(SPACE), CONFIG, **options)
    with pytest.raises(lw.LayerwiseError, match="epochs cannot be searched"):
        search(digits, Space.parse(["epochs=3,9"]), CONFIG, strategy="halving")


@pytest.mark.slow  # a local Dask cluster
def test_local_processes_and_dask_give_the_same_halving_and_hyperband(digits):
    space = Space.parse(SPACE, ["lr=loguniform(1e-3,1e-1)"], need_trials=False)
    runs = {}
    for name, pool in (("one", TaskPool(1)), ("two", TaskPool(2)), ("dask", DaskPool(local_workers=2))):
        with pool:
            hyperband = search(digits, space, CONFIG, seed=3, pool=pool, strategy="hyperband")
            halving = search(digits, Space.parse(SPACE), CONFIG, seed=3, pool=pool, strategy="halving")
        runs[name] = scores(hyperband["rungs"]), scores(halving["rungs"]), hyperband["test_accuracy"]
    assert runs["one"] == runs["two"] == runs["dask"]
    assert len({r[0] for r in runs["one"][0]}) == 17  # candidates of three brackets
