"""Tracking callbacks: TensorBoard event files and MLflow runs, read back by TensorBoard's own
event reader and MLflow's client on a local SQLite store; the gradient norms they share with
the tutorial's figure; the settings that ask for them."""

import re
import sys
from pathlib import Path

import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2

import layerwise as lw
from layerwise.cli.train import absolute_trackers
from layerwise.nn.callbacks import DEFAULT_MLFLOW_URI, GradientNorms, gradient_norms
from layerwise.nn.config import parse_candidates

# MLflow's own use of SQLAlchemy warns, once per process
pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy:DeprecationWarning")
EPOCHS = 3
METRICS = ["train_loss", "train_accuracy", "val_loss", "val_accuracy"]
NORMS = ["grad_norm/layer_1_5x8", "grad_norm/layer_2_8x3"]


@pytest.fixture
def problem(blobs):
    X, y = blobs
    return X[:70], y[:70], (X[70:], y[70:])


def train(callbacks, problem, epochs=EPOCHS, **options):
    X, y, validation = problem
    net = lw.Network.from_spec("5-8-3", seed=0)
    history = lw.fit(net, X, y, optimizer=lw.Adam(lr=0.01), epochs=epochs, batch_size=16,
                     validation_data=validation, seed=0, callbacks=callbacks, **options)  # fmt: skip
    return net, history


def read_events(logdir):
    events = EventAccumulator(str(logdir))
    events.Reload()
    return events


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One SQLite store for the module's MLflow tests (making its tables takes seconds)."""
    uri = "sqlite:///" + str(tmp_path_factory.mktemp("mlflow") / "mlflow.db")
    MlflowClient(tracking_uri=uri).search_experiments()  # makes the tables
    return uri


# --- gradient norms ---------------------------------------------------------------------


class EveryStep(lw.Callback):
    """The norms after every step, the way the tutorial's figure first recorded them."""

    def on_train_begin(self, net, history):
        self.net, self.last, self.norms = net, None, []

    def on_batch_end(self, batch, size, loss):
        self.last = gradient_norms(self.net)

    def on_epoch_end(self, epoch, logs):
        self.norms.append(self.last)


def test_the_norms_at_the_end_of_an_epoch_are_those_of_its_last_step(problem):
    norms, steps = GradientNorms(), EveryStep()
    train([norms, steps], problem)
    assert list(norms.norms) == ["layer 1 (5x8)", "layer 2 (8x3)"]
    for name, values in norms.norms.items():
        assert values == [step[name] for step in steps.norms] and len(values) == EPOCHS
    conv = lw.TrainConfig(layers="conv2k3p1,relu,flatten,4,relu").network(16, 3, image_shape=(4, 4))
    X = np.random.default_rng(0).random((6, 16)).astype(np.float32)
    conv.loss_and_gradients(X, np.arange(6) % 3)
    assert list(gradient_norms(conv)) == ["layer 1 (conv 1->2 3x3)", "layer 2 (32x4)", "layer 3 (4x3)"]


# --- TensorBoard ------------------------------------------------------------------------


def test_tensorboard_writes_each_epochs_metrics_learning_rate_and_gradient_norms(tmp_path, problem):
    norms = GradientNorms()
    board = lw.callbacks.TensorBoard(tmp_path / "tb" / "run")
    _, history = train([norms, board], problem)
    events = read_events(tmp_path / "tb" / "run")
    assert sorted(events.Tags()["scalars"]) == sorted(METRICS + ["lr"] + NORMS)
    expected = {name: getattr(history, name) for name in METRICS + ["lr"]}
    expected.update(zip(NORMS, norms.norms.values()))
    for tag, values in expected.items():
        scalars = events.Scalars(tag)
        assert [e.step for e in scalars] == list(range(EPOCHS)), tag
        assert [e.value for e in scalars] == np.float32(values).tolist(), tag  # kept as float32
    with pytest.raises(KeyError):  # no settings given: no HParams
        events.PluginTagToContent("hparams")


def test_tensorboard_writes_the_settings_as_hparams(tmp_path, problem):
    settings = {"hidden": (8,), "lr": 0.01, "nesterov": False, "init": None, "epochs": EPOCHS}
    board = lw.callbacks.TensorBoard(tmp_path / "run", hparams=settings)
    train([board], problem)
    content = read_events(tmp_path / "run").PluginTagToContent("hparams")
    assert sorted(content) == ["_hparams_/session_end_info", "_hparams_/session_start_info"]
    data = {tag.split("/")[1]: plugin_data_pb2.HParamsPluginData.FromString(c) for tag, c in content.items()}
    hparams = data["session_start_info"].session_start_info.hparams
    assert sorted(hparams) == sorted(settings)
    assert hparams["hidden"].string_value == "8" and hparams["init"].string_value == "none"
    assert hparams["lr"].number_value == 0.01 and hparams["epochs"].number_value == EPOCHS
    assert hparams["nesterov"].WhichOneof("kind") == "bool_value" and hparams["nesterov"].bool_value is False
    assert data["session_end_info"].session_end_info.status == api_pb2.STATUS_SUCCESS


def test_a_training_that_goes_on_replaces_the_epochs_an_interrupted_one_wrote(tmp_path, problem):
    logdir = tmp_path / "run"
    train([lw.callbacks.TensorBoard(logdir)], problem, epochs=3)  # as if interrupted after 3 epochs...
    X, y, validation = problem
    net = lw.Network.from_spec("5-8-3", seed=1)
    first = lw.fit(net, X, y, epochs=2, validation_data=validation, seed=1)  # ...checkpointed after 2
    history = lw.fit(net, X, y, epochs=2, start_epoch=2, history=first, validation_data=validation, seed=1,
                     callbacks=[lw.callbacks.TensorBoard(logdir)])  # fmt: skip
    scalars = read_events(logdir).Scalars("val_loss")
    assert [e.step for e in scalars] == [0, 1, 2, 3]  # epoch 3 (step 2) once: the newer one
    assert [e.value for e in scalars][2:] == np.float32(history.val_loss[2:]).tolist()


def test_a_regression_has_no_accuracy_to_write(tmp_path):
    X = np.random.default_rng(0).random((40, 3))
    net = lw.Network.from_spec("3-4-1", seed=0)
    net.loss = lw.MeanSquaredError()
    lw.fit(net, X, X.sum(axis=1, keepdims=True), epochs=2, callbacks=[lw.callbacks.TensorBoard(tmp_path)])
    tags = read_events(tmp_path).Tags()["scalars"]
    assert sorted(tags) == ["grad_norm/layer_1_3x4", "grad_norm/layer_2_4x1", "lr", "train_loss"]


def test_a_folder_that_cannot_be_made_is_one_line(tmp_path, problem):
    (tmp_path / "file").write_text("")
    with pytest.raises(lw.LayerwiseError, match=r"^cannot write TensorBoard events to .*file/run: ") as e:
        train([lw.callbacks.TensorBoard(tmp_path / "file" / "run")], problem)
    assert "\n" not in str(e.value)


# --- MLflow -------------------------------------------------------------------------------


def test_an_mlflow_run_holds_the_params_each_epochs_metrics_and_the_model(tmp_path, problem, store):
    norms, path = GradientNorms(), tmp_path / "model.safetensors"
    params = {"hidden": [8], "lr": 0.01, "early_stopping": False, "init": None}

    def saved():  # a path known once the training ends
        lw.save(logger.net, path)
        return path

    logger = lw.callbacks.MLflowLogger(
        store, experiment="tests", run_name="run", params=params, log_model=saved
    )
    assert logger.run_id is None
    _, history = train([norms, logger], problem)
    client = MlflowClient(tracking_uri=store)
    run = client.get_run(logger.run_id)
    assert (run.info.run_name, run.info.status) == ("run", "FINISHED")
    assert client.get_experiment(run.info.experiment_id).name == "tests"
    assert run.data.params == {"hidden": "8", "lr": "0.01", "early_stopping": "False", "init": "none"}
    assert sorted(run.data.metrics) == sorted(METRICS + ["lr"] + NORMS)
    expected = {name: getattr(history, name) for name in METRICS + ["lr"]}
    expected.update(zip(NORMS, norms.norms.values()))
    for name, values in expected.items():
        logged = client.get_metric_history(logger.run_id, name)
        assert [m.step for m in logged] == list(range(EPOCHS)) and [m.value for m in logged] == values, name
    assert [f.path for f in client.list_artifacts(logger.run_id)] == ["model.safetensors"]
    assert "mlflow.parentRunId" not in run.data.tags
    # a new experiment of a SQLite store keeps its files beside the database
    assert run.info.artifact_uri.startswith(
        store.replace("sqlite:///", "file://").replace("mlflow.db", "mlartifacts")
    )


def test_a_child_run_names_its_parent_and_a_failure_ends_the_run_failed(problem, store, tmp_path):
    client = MlflowClient(tracking_uri=store)
    with lw.callbacks.MLflowLogger(store, run_name="search", params={"strategy": "grid"}) as parent:
        assert client.get_run(parent.run_id).info.status == "RUNNING"
        child = lw.callbacks.MLflowLogger(store, run_name="trial-0", parent_run_id=parent.run_id)
        train([child], problem, epochs=1)
    assert client.get_run(parent.run_id).info.status == "FINISHED"
    run = client.get_run(child.run_id)
    assert run.data.tags["mlflow.parentRunId"] == parent.run_id and run.info.status == "FINISHED"
    failing = lw.callbacks.MLflowLogger(store, log_model=tmp_path / "never-written.safetensors")
    with pytest.raises(ZeroDivisionError), failing:
        raise ZeroDivisionError
    assert client.get_run(failing.run_id).info.status == "FAILED"  # and no model to log
    assert client.list_artifacts(failing.run_id) == []


def test_a_logger_goes_on_in_its_run(problem, store):
    X, y, validation = problem
    logger = lw.callbacks.MLflowLogger(store, run_name="long")
    net = lw.Network.from_spec("5-8-3", seed=0)
    history = lw.fit(net, X, y, epochs=2, callbacks=[logger])
    lw.fit(net, X, y, epochs=1, start_epoch=2, history=history, callbacks=[logger])
    again = lw.callbacks.MLflowLogger(store)
    again.run_id = logger.run_id  # a resumed training: the run made before
    lw.fit(net, X, y, epochs=1, start_epoch=3, history=history, callbacks=[again])
    logged = MlflowClient(tracking_uri=store).get_metric_history(logger.run_id, "train_loss")
    assert [m.step for m in logged] == [0, 1, 2, 3] and [m.value for m in logged] == history.train_loss
    assert MlflowClient(tracking_uri=store).get_run(logger.run_id).info.status == "FINISHED"


def test_a_store_mlflow_cannot_use_is_one_line(tmp_path, problem):
    (tmp_path / "file").write_text("")
    for uri, reason in [
        (str(tmp_path / "mlruns"), "maintenance mode"),  # MLflow 3 refuses the file store
        ("sqlite:///" + str(tmp_path / "file" / "mlflow.db"), ""),  # a file where its folder would be
    ]:
        logger = lw.callbacks.MLflowLogger(uri)
        with pytest.raises(lw.LayerwiseError, match=rf"^cannot log to MLflow at {uri}: .*{reason}") as e:
            train([logger], problem, epochs=1)
        assert "\n" not in str(e.value)
    with pytest.raises(lw.LayerwiseError, match="was not started"):
        lw.callbacks.MLflowLogger().end()


# --- missing libraries, settings ------------------------------------------------------------


def test_a_missing_library_is_one_line_naming_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tensorboard.summary.writer.event_file_writer", None)
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import raises ImportError
    with pytest.raises(lw.LayerwiseError) as e:
        lw.callbacks.TensorBoard(tmp_path)
    assert str(e.value) == (
        "TensorBoard logging needs tensorboard, which is not installed: pip install 'layerwise[tensorboard]'"
    )
    with pytest.raises(lw.LayerwiseError) as e:
        lw.callbacks.MLflowLogger()
    assert (
        str(e.value) == "MLflow logging needs mlflow, which is not installed: pip install 'layerwise[mlflow]'"
    )
    with pytest.raises(lw.LayerwiseError, match=r"layerwise\[mlflow\]"):
        lw.TrainConfig(mlflow="sqlite:///mlflow.db").callbacks(tracking=True)
    assert lw.TrainConfig(mlflow="sqlite:///mlflow.db").callbacks() == []  # without tracking: not needed


def test_the_tracking_settings(tmp_path, monkeypatch):
    config = lw.TrainConfig(tensorboard=tmp_path / "tb", mlflow="none")
    assert config.tensorboard == str(tmp_path / "tb") and config.mlflow is None
    assert lw.TrainConfig.from_dict(config.to_dict()) == config
    assert lw.TrainConfig(mlflow="sqlite:///x.db").mlflow == "sqlite:///x.db"
    with pytest.raises(lw.SettingError, match="tensorboard must be a folder or none"):
        lw.TrainConfig(tensorboard=3)
    with pytest.raises(lw.LayerwiseError, match="cannot search 'mlflow'"):
        parse_candidates("mlflow", "sqlite:///a.db")
    monkeypatch.chdir(tmp_path)
    assert absolute_trackers(lw.TrainConfig(tensorboard="tb", mlflow=DEFAULT_MLFLOW_URI)) == {
        "tensorboard": str(tmp_path / "tb"),
        "mlflow": "sqlite:///" + str(tmp_path / "mlflow.db"),
    }
    assert absolute_trackers(lw.TrainConfig(mlflow="http://127.0.0.1:5000")) == {}


@pytest.mark.slow
def test_the_tracking_guide_examples_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the examples write runs/, mlflow.db and model files here
    guide = Path(__file__).resolve().parents[2] / "docs" / "tracking.md"
    blocks = re.findall(r"```python\n(.*?)```", guide.read_text(), flags=re.S)
    assert len(blocks) == 3
    for block in blocks:
        exec(compile(block, "docs/tracking.md", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert printed[1] == "True ['l2-0.1.safetensors']" and len(printed) == 4
    assert (tmp_path / "mlflow.db").is_file() and (tmp_path / "runs" / "tensorboard" / "python").is_dir()
