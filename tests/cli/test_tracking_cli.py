"""End to end: `layerwise train --tensorboard DIR --mlflow URI`, read back by TensorBoard's own
event reader and MLflow's client on a local SQLite store."""

import json
import subprocess
import sys

import pytest
from mlflow.tracking import MlflowClient
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from layerwise.cli import main
from layerwise.io.checkpoint import load_checkpoint
from layerwise.nn.callbacks import tracked_value

pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy:DeprecationWarning")
FAST = ["--data", "digits", "--hidden", "16", "--epochs", "2", "--quiet"]


def events(logdir):
    accumulator = EventAccumulator(str(logdir))
    accumulator.Reload()
    return accumulator


@pytest.fixture(scope="module")
def uri(tmp_path_factory):
    """One SQLite store for the module's tests (making its tables takes seconds)."""
    uri = "sqlite:///" + str(tmp_path_factory.mktemp("mlflow") / "mlflow.db")
    MlflowClient(tracking_uri=uri).search_experiments()  # makes the tables
    return uri


def only_run(client, name):
    experiment = client.get_experiment_by_name("layerwise").experiment_id
    [run] = client.search_runs([experiment], filter_string=f"attributes.run_name = '{name}'")
    return run


@pytest.mark.slow
def test_train_logs_to_tensorboard_and_mlflow_and_a_resumed_run_goes_on(tmp_path, uri):
    out, board = tmp_path / "runs" / "first", tmp_path / "tb"
    command = [sys.executable, "-m", "layerwise", "train", *FAST, "--tensorboard", board, "--mlflow", uri]
    done = subprocess.run(
        [*map(str, command), "--out", str(out)], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 0 and done.stderr == ""  # nothing of MLflow's own logging
    client = MlflowClient(tracking_uri=uri)
    run = only_run(client, "first")
    report = json.loads((out / "report.json").read_text())
    where = f"at {uri} (mlflow ui --backend-store-uri {uri})"
    assert done.stdout.splitlines()[-3:] == [
        f"run directory: {out}",
        f"TensorBoard: {board / 'first'} (tensorboard --logdir {board})",
        f"MLflow: run {run.info.run_id} of experiment layerwise {where}",
    ]
    # MLflow: the run named after the run directory, the settings, each epoch's metrics, the model
    assert run.info.run_name == "first" and run.info.status == "FINISHED"
    settings = {k: v for k, v in report["settings"].items() if k not in ("tensorboard", "mlflow")}
    assert run.data.params == {k: str(tracked_value(v)) for k, v in settings.items()}
    for name in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr"):
        logged = client.get_metric_history(run.info.run_id, name)
        assert [m.step for m in logged] == [0, 1] and [m.value for m in logged] == report["history"][name]
    assert [f.path for f in client.list_artifacts(run.info.run_id)] == ["model.safetensors"]
    # TensorBoard: a sub-folder named after the run directory, the settings as HParams
    first = events(board / "first")
    assert {"train_loss", "val_accuracy", "lr", "grad_norm/layer_1_64x16"} <= set(first.Tags()["scalars"])
    assert [e.step for e in first.Scalars("val_loss")] == [0, 1]
    assert "_hparams_/session_start_info" in first.PluginTagToContent("hparams")

    # --resume goes on in the same MLflow run and TensorBoard folder
    assert load_checkpoint(out / "checkpoint.safetensors").model.metadata["mlflow_run_id"] == run.info.run_id
    assert main(["train", "--resume", str(out), "--epochs", "3", "--quiet"]) == 0
    report = json.loads((out / "report.json").read_text())
    run = only_run(client, "first")
    logged = client.get_metric_history(run.info.run_id, "val_loss")
    assert [m.step for m in logged] == [0, 1, 2] and [m.value for m in logged] == report["history"][
        "val_loss"
    ]
    assert run.info.status == "FINISHED"
    assert [e.step for e in events(board / "first").Scalars("val_loss")] == [0, 1, 2]


def test_a_failed_training_ends_its_mlflow_run_failed(tmp_path, capsys, uri):
    diverging = ["--optimizer", "sgd", "--lr", "1e30", "--scaling", "none"]
    assert main(["train", *FAST, *diverging, "--mlflow", uri, "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("layerwise train: error: training diverged at epoch 1") and err.count("\n") == 1
    assert only_run(MlflowClient(tracking_uri=uri), "run").info.status == "FAILED"


def test_a_missing_library_stops_the_command_before_it_trains(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import raises ImportError
    assert main(["train", *FAST, "--mlflow", "--out", str(tmp_path / "run")]) == 1
    assert capsys.readouterr().err == (
        "layerwise train: error: MLflow logging needs mlflow, which is not installed: "
        "pip install 'layerwise[mlflow]'\n"
    )
    assert not (tmp_path / "run").exists()


def test_ctrl_c_ends_the_mlflow_run_killed_and_resume_goes_on_in_it(tmp_path, capsys, monkeypatch, uri):
    from layerwise.nn import optimizers

    steps, step = [0], optimizers.Optimizer.step

    def interrupted_step(self, parameters):  # Ctrl-C during the second epoch (16 steps an epoch)
        step(self, parameters)
        steps[0] += 1
        if steps[0] == 20:
            raise KeyboardInterrupt

    monkeypatch.setattr(optimizers.Optimizer, "step", interrupted_step)
    out = tmp_path / "stopped"
    assert main(["train", *FAST, "--checkpoint-every", "1", "--mlflow", uri, "--out", str(out)]) == 130
    client = MlflowClient(tracking_uri=uri)
    run = only_run(client, "stopped")
    assert run.info.status == "KILLED" and client.list_artifacts(run.info.run_id) == []
    monkeypatch.setattr(optimizers.Optimizer, "step", step)
    assert main(["train", "--resume", str(out), "--quiet"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith(f"MLflow: run {run.info.run_id} ")
    run = only_run(client, "stopped")
    assert run.info.status == "FINISHED" and [f.path for f in client.list_artifacts(run.info.run_id)] == [
        "model.safetensors"
    ]
    assert [m.step for m in client.get_metric_history(run.info.run_id, "train_loss")] == [0, 1]
