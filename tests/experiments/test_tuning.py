import json

import numpy as np
import pytest

import layerwise as lw
from layerwise.experiments.search import Space, read_trials, search, stratified_folds, trial_seed
from layerwise.experiments.search.trials import append_trial
from layerwise.experiments.tutorial import split_digits
from layerwise.nn.config import TrainConfig, parse_candidates


def test_grid_values_are_parsed_per_setting():
    assert parse_candidates("l2", "logspace(-2,2,3)") == [0.01, 1.0, 100.0]
    assert parse_candidates("hidden", "48,32;64x32;128") == [(48, 32), (64, 32), (128,)]
    assert parse_candidates("batch_size", "32,full") == [32, None]
    assert parse_candidates("activation", "relu,tanh") == ["relu", "tanh"]
    assert parse_candidates("output_activation", "sigmoid,none,linear") == ["sigmoid", None, None]
    assert parse_candidates("init", "he_normal,glorot_uniform") == ["he_normal", "glorot_uniform"]
    assert parse_candidates("early_stopping", "true,false") == [True, False]


def test_a_grid_of_hidden_sizes_means_what_the_hidden_option_means():
    # --hidden 48,32 is one network with two hidden layers; so is the grid value 48,32
    assert Space.parse(["hidden=48,32"]).trials_settings(0) == [
        {"hidden": TrainConfig(hidden="48,32").hidden}
    ]
    assert Space.parse(["hidden=48,32;64"]).trials_settings(0) == [{"hidden": (48, 32)}, {"hidden": (64,)}]


@pytest.mark.parametrize(
    "items, message",
    [
        (["colour=red"], "cannot search 'colour'"),
        (["l2"], "write setting=values"),
        (["l2=abc"], "cannot read l2 list"),
        (["epochs=0"], "epochs must be a positive integer"),
        (["seed=1,2"], "cannot search 'seed'"),
        (["l2=1", "l2=2"], "given twice"),
        ([], "empty"),
    ],
)
def test_bad_spaces_are_clear_errors(items, message):
    with pytest.raises(lw.LayerwiseError, match=message):
        Space.parse(items)


def test_grid_and_random_trials_are_seeded_and_ordered():
    space = Space.parse(["l2=0.1,1", "hidden=8;16"], ["lr=loguniform(1e-3,1e-1)", "dropout=0,0.5"], trials=3)
    first, again = space.trials_settings(seed=5), space.trials_settings(seed=5)
    assert first == again and len(first) == 12
    assert [t["l2"] for t in first[:3]] == [0.1] * 3 and first[0]["hidden"] == (8,)
    assert all(1e-3 <= t["lr"] <= 1e-1 and t["dropout"] in (0, 0.5) for t in first)
    assert space.trials_settings(seed=6) != first
    with pytest.raises(lw.LayerwiseError, match="--trials"):
        Space.parse([], ["lr=uniform(0,1)"])


def test_toml_space(tmp_path):
    path = tmp_path / "space.toml"
    path.write_text(
        '[grid]\nl2 = "logspace(-1,1,3)"\nhidden = ["48x32", "64"]\n'
        '[random]\ntrials = 2\nlr = "uniform(0.1,0.3)"\n[settings]\nepochs = 7\n'
    )
    space, settings = Space.from_toml(path)
    assert space.grid == {"l2": [0.1, 1.0, 10.0], "hidden": [(48, 32), (64,)]} and space.trials == 2
    assert settings == {"epochs": 7}
    assert len(space.trials_settings(0)) == 12
    path.write_text(
        "[grid]\nhidden = [[48, 32], [64, 64]]\n[settings]\nhidden = [16, 8]\nbatch_size = 'full'\n"
    )
    space, settings = Space.from_toml(path)
    assert space.grid == {
        "hidden": [(48, 32), (64, 64)]
    }  # a list of sizes per network, as on the command line
    assert lw.TrainConfig.from_dict(settings).hidden == (16, 8) and settings["batch_size"] == "full"
    path.write_text("[grid]\nhidden = [48, 64]\n")
    assert Space.from_toml(path)[0].grid == {"hidden": [(48,), (64,)]}  # two one-layer networks
    path.write_text("[grid\nl2 = 1")
    with pytest.raises(lw.LayerwiseError, match="not valid TOML"):
        Space.from_toml(path)
    path.write_text("[colours]\nred = 1")
    with pytest.raises(lw.LayerwiseError, match="only the tables"):
        Space.from_toml(path)
    with pytest.raises(lw.LayerwiseError, match="does not exist"):
        Space.from_toml(tmp_path / "missing.toml")


def test_trial_seed_depends_on_settings_not_position():
    assert trial_seed(0, {"l2": 0.1, "hidden": (8,)}) == trial_seed(0, {"hidden": (8,), "l2": 0.1})
    assert trial_seed(0, {"l2": 0.1}) != trial_seed(1, {"l2": 0.1})
    assert trial_seed(0, {"l2": 0.1}) != trial_seed(0, {"l2": 0.2})


def test_stratified_folds_partition_every_example():
    y = np.repeat(np.arange(3), [10, 7, 5])
    folds = stratified_folds(y, 4, seed=0)
    joined = np.sort(np.concatenate(folds))
    assert np.array_equal(joined, np.arange(len(y)))
    for fold in folds:
        assert set(np.unique(y[fold])) == {0, 1, 2}


def test_trials_file_drops_a_line_cut_short(tmp_path):
    path = tmp_path / "trials.jsonl"
    append_trial(path, {"trial": 0, "status": "ok"})
    with open(path, "ab") as f:
        f.write(b'{"trial": 1, "sta')  # a crash in the middle of a write
    assert read_trials(path) == [{"trial": 0, "status": "ok"}]
    append_trial(path, {"trial": 1, "status": "ok"})
    assert [r["trial"] for r in read_trials(path)] == [0, 1]


class Digits:
    """The digits as the search wants them (scaled to [0, 1])."""

    def __init__(self):
        d = split_digits()
        for part in ("train", "valid", "test"):
            setattr(self, f"X_{part}", (d[f"X_{part}"] / 16).astype(np.float32))
            setattr(self, f"y_{part}", d[f"y_{part}"])
        self.n_classes = 10


SMALL = TrainConfig(hidden=(16,), optimizer="sgd", lr=0.5, momentum=0.9, batch_size=None, epochs=40)


def test_search_picks_the_best_and_writes_one_line_per_trial(tmp_path):
    space = Space.parse(["l2=0.01,100", "hidden=16;4"])
    result = search(Digits(), space, SMALL, seed=0, out=tmp_path)
    lines = [json.loads(line) for line in (tmp_path / "trials.jsonl").read_text().splitlines()]
    assert sorted(r["trial"] for r in lines) == [0, 1, 2, 3]
    assert all(r["status"] == "ok" and r["worker"] and r["seconds"] > 0 for r in lines)
    ranking = result["ranking"]
    assert [r["val_accuracy"] for r in ranking] == sorted((r["val_accuracy"] for r in ranking), reverse=True)
    assert result["best"]["settings"]["l2"] == 0.01  # lambda = 100 crushes the weights
    assert result["test_accuracy"] > 0.8


def test_cross_validation_scores_every_fold():
    result = search(Digits(), Space.parse(["l2=0.01"]), SMALL, seed=0, cv=3)
    record = result["trials"][0]
    assert len(record["fold_accuracy"]) == 3
    assert record["val_accuracy"] == pytest.approx(np.mean(record["fold_accuracy"]))


def test_resume_runs_only_the_missing_trials(tmp_path):
    space = Space.parse(["l2=0.01,0.1,1"])
    full = search(Digits(), space, SMALL, seed=0, out=tmp_path / "a")
    (tmp_path / "b").mkdir()
    lines = (tmp_path / "a" / "trials.jsonl").read_text().splitlines()
    (tmp_path / "b" / "trials.jsonl").write_text(lines[0] + "\n")
    seen = []
    resumed = search(Digits(), space, SMALL, seed=0, out=tmp_path / "b", resume=True, on_trial=seen.append)
    assert len(seen) == 2
    assert [r["val_accuracy"] for r in resumed["trials"]] == [r["val_accuracy"] for r in full["trials"]]
    assert len((tmp_path / "b" / "trials.jsonl").read_text().splitlines()) == 3
    # the resumed search trains the best network again: the same one as the trial's
    assert resumed["test_accuracy"] == full["test_accuracy"]
    assert all(np.array_equal(a, b) for a, b in zip(resumed["net"].get_weights(), full["net"].get_weights()))


# --- specs of layers -----------------------------------------------------------------------

CNN = "conv4k3p1,relu,maxpool2,flatten,16,relu"


def test_a_space_searches_over_specs_of_layers_from_the_command_line_and_toml(tmp_path):
    space = Space.parse([f"layers={CNN};32,relu;none", "l2=0,1"])
    assert space.grid["layers"] == [CNN, "32,relu", None] and len(space.trials_settings(0)) == 6
    assert Space.parse([], ["layers=8,relu;16,relu"], trials=3).random == {"layers": ["8,relu", "16,relu"]}
    path = tmp_path / "space.toml"
    path.write_text(
        f'[grid]\nlayers = ["{CNN}", "32, ReLU", "none"]\n[settings]\nepochs = 2\n'
        '[random]\ntrials = 2\nlr = "uniform(0.001,0.01)"\n'
    )
    space, settings = Space.from_toml(path)
    assert space.grid == {"layers": [CNN, "32,relu", None]} and settings == {"epochs": 2}
    path.write_text('[grid]\nlayers = [["conv4k3", "relu"], ["32", "relu"]]\n')  # a list of layers per spec
    assert Space.from_toml(path)[0].grid == {"layers": ["conv4k3,relu", "32,relu"]}
    path.write_text('[settings]\nlayers = "conv4k3,relu"\n[grid]\nl2 = [0.1, 1]\n')
    space, settings = Space.from_toml(path)
    assert lw.TrainConfig.from_dict(settings).layers == "conv4k3,relu"
    with pytest.raises(lw.LayerwiseError, match="layers has an unknown layer 'rleu'"):
        Space.parse(["layers=32,rleu;none"])
    with pytest.raises(lw.LayerwiseError, match="cannot be given with hidden 8"):
        search(Digits(), Space.parse(["layers=32,relu"]), SMALL.replace(hidden=(8,)))


class DigitImages(Digits):
    """The digits with their image shape, as load_digits gives it."""

    image_shape = (8, 8)


def test_a_search_over_specs_trains_each_on_the_images_and_keeps_the_best(tmp_path):
    config = TrainConfig(epochs=3, batch_size=64, lr=0.01)
    space = Space.parse([f"layers={CNN};conv4k3,bn,relu,16,relu"])
    result = search(DigitImages(), space, config, seed=0, out=tmp_path)
    assert [t["status"] for t in result["trials"]] == ["ok", "ok"]
    assert {t["settings"]["layers"] for t in result["trials"]} == {CNN, "conv4k3,bn,relu,16,relu"}
    assert result["best_settings"].layers == result["best"]["settings"]["layers"]
    assert result["net"].shapes[0] == (1, 8, 8) and 0 <= result["test_accuracy"] <= 1
    again = search(DigitImages(), space, config, seed=0, out=tmp_path, resume=True)  # refit: the same network
    for a, b in zip(again["net"].get_weights(), result["net"].get_weights()):
        np.testing.assert_array_equal(a, b)
    # data without an image shape: refused before any trial, naming the spec's first image layer
    with pytest.raises(lw.SettingError, match=r"starts with image layers \(conv4k3p1\) but the data have no"):
        search(Digits(), space, config, seed=0)
