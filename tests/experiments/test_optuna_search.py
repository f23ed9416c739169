"""Optuna as a search's sampler and pruner: the space's mapping onto Optuna's
distributions, the study in SQLite (reopened by Optuna itself), resumption, pruning, and
the same study on local processes and on Dask."""

import sys

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

import layerwise as lw
from layerwise.experiments.backends import DaskPool, TaskPool
from layerwise.experiments.search import Space, read_trials, search
from layerwise.experiments.search.optuna_study import choice, distributions, import_optuna, settings_of

CONFIG = lw.TrainConfig(hidden=(16,), optimizer="sgd", momentum=0.9, batch_size=64, epochs=6)
RANDOM = ["lr=loguniform(1e-4,1)", "l2=uniform(0,0.1)"]


def storage(out):
    return f"sqlite:///{out / 'study.db'}"


def scores(records):
    return [(r["trial"], r["settings"], r["seed"], r.get("epochs"), r.get("val_accuracy"), r.get("val_loss"),
             r["status"]) for r in records]  # fmt: skip


def test_every_kind_of_space_maps_onto_optunas_distributions():
    space = Space.parse(
        ["l2=logspace(-2,0,3)", "hidden=48,32;64;auto;none", "layers=conv4k3,relu,16,relu;none",
         "batch_size=32,full", "nesterov=true,false"],
        ["lr=loguniform(1e-4,1e-1)", "dropout=uniform(0,0.5)", "patience=randint(1,9)",
         "activation=relu,tanh"],
        trials=4,
    )  # fmt: skip
    assert distributions(space) == {
        "l2": CategoricalDistribution([0.01, 0.1, 1.0]),
        "hidden": CategoricalDistribution(["48,32", "64", "auto", "none"]),
        "layers": CategoricalDistribution(["conv4k3,relu,16,relu", "none"]),
        "batch_size": CategoricalDistribution([32, None]),
        "nesterov": CategoricalDistribution([True, False]),
        "lr": FloatDistribution(1e-4, 1e-1, log=True),
        "dropout": FloatDistribution(0, 0.5),
        "patience": IntDistribution(1, 9),
        "activation": CategoricalDistribution(["relu", "tanh"]),
    }
    # and back: the text of hidden sizes and layers is read as the options read it
    params = {"hidden": "48,32", "layers": "none", "batch_size": None, "lr": 0.01}
    assert settings_of(params) == {"hidden": (48, 32), "layers": None, "batch_size": None, "lr": 0.01}
    assert settings_of({"hidden": choice("hidden", ())}) == {"hidden": ()}
    assert (
        lw.TrainConfig(**settings_of({"hidden": "auto", "layers": "conv4k3,relu,16,relu"})).hidden == "auto"
    )


def test_the_study_is_a_sqlite_file_that_optuna_reopens(digits, tmp_path):
    result = search(digits, Space.parse([], RANDOM, trials=5), CONFIG, seed=0, out=tmp_path, sampler="tpe")
    study = optuna.load_study(study_name=None, storage=storage(tmp_path))
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 5
    assert all(len(t.intermediate_values) == 6 for t in study.trials)  # each epoch's validation accuracy
    assert (
        study.best_value == result["best"]["val_accuracy"]
        and study.best_trial.number == result["best"]["trial"]
    )
    assert study.best_params == result["best"]["settings"]
    assert [r["trial"] for r in result["trials"]] == [0, 1, 2, 3, 4] and result["total_epochs"] == 30


def test_an_interrupted_study_resumes_to_its_trials_as_if_uninterrupted(digits, tmp_path):
    space = Space.parse([], RANDOM, trials=7)
    options = dict(seed=1, sampler="tpe", pruner="median", min_epochs=2)
    with TaskPool(2) as pool:
        whole = search(digits, space, CONFIG, out=tmp_path / "whole", pool=pool, **options)
    told = []

    def stop_after_three(record):  # in the second round of two: its other trial is left running
        told.append(record["trial"])
        if len(told) == 3:
            raise KeyboardInterrupt

    out = tmp_path / "stopped"
    with TaskPool(2) as pool, pytest.raises(KeyboardInterrupt):
        search(digits, space, CONFIG, out=out, pool=pool, on_trial=stop_after_three, **options)
    states = [t.state for t in optuna.load_study(study_name=None, storage=storage(out)).trials]
    assert states.count(TrialState.RUNNING) == 1 and len(states) == 4
    with TaskPool(2) as pool:
        resumed = search(digits, space, CONFIG, out=out, pool=pool, resume=True, **options)
    assert len(optuna.load_study(study_name=None, storage=storage(out)).trials) == 7
    assert scores(resumed["trials"]) == scores(whole["trials"])
    assert resumed["test_accuracy"] == whole["test_accuracy"]
    assert sorted(r["trial"] for r in read_trials(out / "trials.jsonl")) == list(range(7))


def test_a_median_pruner_stops_the_trials_of_a_bad_region(digits, tmp_path):
    # five good learning rates first (the median pruner's start-up trials), then three that learn nothing
    space = Space.parse(["lr=0.5,0.4,0.3,0.2,0.1,1e-5,2e-5,3e-5"])
    result = search(
        digits, space, CONFIG, seed=0, out=tmp_path, sampler="grid", pruner="median", min_epochs=2
    )
    assert [r["settings"]["lr"] for r in result["trials"]] == [0.5, 0.4, 0.3, 0.2, 0.1, 1e-5, 2e-5, 3e-5]
    assert [r["status"] for r in result["trials"]] == ["ok"] * 5 + ["pruned"] * 3
    assert [r["epochs"] for r in result["pruned"]] == [2, 2, 2]  # none before --min-epochs
    study = optuna.load_study(study_name=None, storage=storage(tmp_path))
    assert [t.state for t in study.trials][5:] == [TrialState.PRUNED] * 3
    assert result["total_epochs"] == 5 * 6 + 3 * 2 and result["best"]["settings"]["lr"] >= 0.1


@pytest.mark.parametrize(
    "options, space, message",
    [
        ({"sampler": "cmaes"}, RANDOM, "unknown sampler 'cmaes'; choose one of tpe, random, grid"),
        ({"pruner": "patient"}, RANDOM, "unknown pruner 'patient'"),
        ({"sampler": "grid"}, RANDOM, "--sampler grid runs the points of --grid"),
        ({"sampler": "tpe", "pruner": "median", "cv": 3}, RANDOM, "--cv cannot come with --pruner"),
        ({"sampler": "tpe", "pruner": "median"}, ["epochs=uniform(2,9)"], "epochs cannot be searched"),
    ],
)
def test_bad_studies_are_one_sentence_errors(digits, options, space, message):
    with pytest.raises(lw.LayerwiseError, match=message.replace("(", r"\(")):
        search(digits, Space.parse([], space, trials=3), CONFIG, **options)


def test_without_optuna_a_study_is_one_line_naming_the_extra(digits, monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)  # as if it were not installed
    with pytest.raises(
        lw.LayerwiseError, match=r"^Optuna is not installed: pip install 'layerwise\[optuna\]'$"
    ):
        import_optuna()
    with pytest.raises(lw.LayerwiseError, match="pip install 'layerwise"):
        search(digits, Space.parse([], RANDOM, trials=3), CONFIG, sampler="tpe")


@pytest.mark.slow  # a local Dask cluster
def test_a_study_comes_out_the_same_on_local_processes_and_on_dask(digits):
    space = Space.parse(["hidden=8;16"], RANDOM, trials=8)  # 8 trials: four rounds of two
    runs = []
    for pool in (TaskPool(2), DaskPool(local_workers=2)):
        with pool:
            result = search(digits, space, CONFIG, seed=2, pool=pool, sampler="tpe", pruner="hyperband")
        runs.append(scores(result["trials"]))
    assert runs[0] == runs[1] and len(runs[0]) == 8
