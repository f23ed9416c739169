"""A search tracked in TensorBoard and MLflow, read back by their own libraries: one
TensorBoard folder per trial with its settings as HParams, and one MLflow child run per
trial under the search's parent run."""

import pytest
from mlflow.tracking import MlflowClient
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
from tensorboard.plugins.hparams import plugin_data_pb2

import layerwise as lw
from layerwise.experiments.search import Space, search

CONFIG = lw.TrainConfig(hidden=(16,), optimizer="sgd", lr=0.3, batch_size=64, epochs=9)


def events(folder):
    accumulator = EventAccumulator(str(folder))
    accumulator.Reload()
    return accumulator


def hparams(folder):
    content = events(folder).PluginTagToContent("hparams")["_hparams_/session_start_info"]
    return plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info.hparams


def _scalar(event, tag):
    return event.HasField("summary") and any(v.tag == tag for v in event.summary.value)


def runs(uri):
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("layerwise")
    found = client.search_runs([experiment.experiment_id])
    parents = [r for r in found if "mlflow.parentRunId" not in r.data.tags]
    children = {r.info.run_name: r for r in found if "mlflow.parentRunId" in r.data.tags}
    return client, parents, children


def test_each_trial_is_a_tensorboard_folder_and_an_mlflow_child_run(digits, tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    config = CONFIG.replace(tensorboard=tmp_path / "tb", mlflow=uri)
    result = search(digits, Space.parse(["l2=0,0.1", "hidden=8;16"]), config, seed=0)
    assert sorted(p.name for p in (tmp_path / "tb").iterdir()) == ["trial-0", "trial-1", "trial-2", "trial-3"]
    for record in result["trials"]:
        folder = tmp_path / "tb" / f"trial-{record['trial']}"
        scores = events(folder).Scalars("val_accuracy")
        assert [e.step for e in scores] == list(range(9))
        assert scores[-1].value == pytest.approx(record["val_accuracy"])  # the trial's score, last
        settings = hparams(folder)
        assert (
            sorted(settings) == ["hidden", "l2"] and settings["l2"].number_value == record["settings"]["l2"]
        )
    client, [parent], children = runs(uri)
    assert sorted(children) == ["trial-0", "trial-1", "trial-2", "trial-3"]
    for record in result["trials"]:
        child = children[f"trial-{record['trial']}"]
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id == record["mlflow_parent"]
        assert child.info.run_id == record["mlflow_run"] and child.info.status == "FINISHED"
        assert child.data.params == {
            "l2": str(record["settings"]["l2"]),
            "hidden": "8" if record["settings"]["hidden"] == [8] else "16",
        }
        assert len(client.get_metric_history(child.info.run_id, "val_accuracy")) == 9
    assert parent.info.status == "FINISHED" and parent.data.params["strategy.name"] == "grid"
    assert parent.data.metrics["best_val_accuracy"] == result["best"]["val_accuracy"]
    assert parent.data.metrics["test_accuracy"] == result["test_accuracy"]


def test_a_candidate_of_halving_is_one_folder_and_one_run_over_its_rungs(digits, tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    config = CONFIG.replace(tensorboard=str(tmp_path / "tb"), mlflow=uri)
    result = search(
        digits, Space.parse(["l2=0,0.01,0.1", "hidden=8;16;32"]), config, seed=0, strategy="halving"
    )
    best = result["best"]
    # one event file per rung (TensorBoard's own reader, file by file): rungs of 1, 2 and 6
    # epochs, numbered on from one another
    files = sorted((tmp_path / "tb" / f"trial-{best['trial']}").iterdir())
    steps = [[e.step for e in EventFileLoader(str(f)).Load() if _scalar(e, "train_loss")] for f in files]
    assert sorted(steps) == [[0], [1, 2], [3, 4, 5, 6, 7, 8]]
    client, [parent], children = runs(uri)
    assert len(children) == 9 and all(
        r.data.tags["mlflow.parentRunId"] == parent.info.run_id for r in children.values()
    )
    history = client.get_metric_history(children[f"trial-{best['trial']}"].info.run_id, "val_accuracy")
    assert sorted(m.step for m in history) == list(range(9))
    assert {r["mlflow_run"] for r in result["rungs"] if r["trial"] == best["trial"]} == {
        children[f"trial-{best['trial']}"].info.run_id
    }
    assert parent.data.metrics["total_epochs"] == 21 and parent.data.params["strategy.name"] == "halving"


def test_a_resumed_search_goes_on_in_its_parent_run(digits, tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    config = CONFIG.replace(mlflow=uri)
    space = Space.parse(["l2=0,0.1,1"])
    seen = []

    def stop_after_two(record):
        seen.append(record)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        search(digits, space, config, seed=0, out=tmp_path / "run", on_trial=stop_after_two)
    _, [parent], children = runs(uri)
    assert parent.info.status == "KILLED" and len(children) == 2
    search(digits, space, config, seed=0, out=tmp_path / "run", resume=True)
    _, [again], children = runs(uri)
    assert again.info.run_id == parent.info.run_id and again.info.status == "FINISHED" and len(children) == 3
