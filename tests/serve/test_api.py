"""The web app's JSON API, in process (Starlette's test client): models, predictions,
activations, weights, the training form, live training, runs."""

import base64
import math

import numpy as np
import pytest
from serve_helpers import BASE, BROKEN, CONV, MLP, MNIST, rendered, sse_events, strokes, wait_until
from starlette.testclient import TestClient

import layerwise as lw
from layerwise.nn.config import TrainConfig
from layerwise.serve.app import create_app
from layerwise.serve.models import drawing_row


def decoded(encoded):
    return np.frombuffer(base64.b64decode(encoded["data"]), np.uint8).reshape(encoded["shape"])


# --- models and predictions ------------------------------------------------------------


def test_models_lists_every_model_and_the_broken_one_with_its_error(client):
    models = {m["name"]: m for m in client.get("/api/models").json()["models"]}
    assert set(models) == {MLP, CONV, MNIST, BROKEN}
    assert "not a valid layerwise model" in models[BROKEN]["error"]
    mlp = models[MLP]
    assert mlp["error"] is None and mlp["network"] == "64-32-10" and mlp["dataset"] == "digits"
    assert mlp["classes"] == [str(i) for i in range(10)]
    assert mlp["image"] == {
        "shape": [8, 8],
        "pixel_max": 16.0,
        "polarity": "dark_background",
        "framing": "none",
    }
    assert [layer["type"] for layer in mlp["layers"]] == ["Linear", "ReLU", "Linear"]
    assert models[CONV]["network"].startswith("1x8x8 -> conv4k3p1,relu,maxpool2")
    assert models[MNIST]["image"]["shape"] == [28, 28] and models[MNIST]["image"]["framing"] == "mnist"


def test_predict_gives_what_the_model_gives(client, runs_folder, digits):
    model = lw.load(runs_folder / "mlp")
    X = digits.X_test[:7]
    answer = client.post("/api/predict", json={"model": MLP, "inputs": X.tolist()})
    assert answer.status_code == 200
    body = answer.json()
    assert body["model"] == MLP
    assert body["predictions"] == model.predict(X).tolist()
    np.testing.assert_allclose(body["probabilities"], model.predict_proba(X), rtol=1e-6)
    # rows may also be images of the model's shape
    images = client.post("/api/predict", json={"model": MLP, "inputs": X.reshape(7, 8, 8).tolist()}).json()
    assert images["predictions"] == body["predictions"]


def test_predict_without_a_model_name_when_one_model_is_served(tmp_path, runs_folder, digits):
    app = create_app([runs_folder / "mlp" / "model.safetensors"], runs_folder=tmp_path / "live")
    with TestClient(app, base_url=BASE) as client:
        answer = client.post("/api/predict", json={"inputs": digits.X_test[:2].tolist()})
        assert answer.status_code == 200, answer.text
        assert answer.json()["model"] == "model.safetensors"
    # with several models served, the name is needed
    app = create_app([runs_folder], runs_folder=tmp_path / "live")
    with TestClient(app, base_url=BASE) as client:
        answer = client.post("/api/predict", json={"inputs": digits.X_test[:2].tolist()})
        assert answer.status_code == 400 and 'give "model"' in answer.json()["error"]


def test_a_drawing_is_read_as_layerwise_predict_reads_a_png_of_it(client, runs_folder, digits, tmp_path):
    from PIL import Image

    from layerwise.data.inputs import read_image

    ink = rendered(strokes(digits.X_test[0]))
    model = lw.load(runs_folder / "mnist-format")
    # the canvas as a PNG: dark ink on white
    Image.fromarray(np.round((1 - ink) * 255).astype(np.uint8)).save(tmp_path / "drawing.png")
    np.testing.assert_allclose(drawing_row(model, ink), read_image(tmp_path / "drawing.png", model), atol=2.0)


def test_activations_of_an_mlp_for_a_drawing(client, digits):
    ink = rendered(strokes(digits.X_test[0]))
    answer = client.post("/api/activations", json={"model": MLP, "drawing": ink.tolist()})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [layer["shape"] for layer in body["layers"]] == [[32], [32], [10]]
    assert body["layers"][1]["scale"] == "sequential"  # ReLU: one sign
    assert math.isclose(sum(body["probabilities"]), 1, rel_tol=1e-6)
    assert body["prediction"] == str(int(np.argmax(body["probabilities"])))
    assert decoded(body["input"]).shape == (8, 8) and decoded(body["input"]).max() > 100
    # the same row given as input values: the same outputs
    row = client.post("/api/activations", json={"model": MLP, "input": ink[::7, ::7].ravel().tolist()})
    assert row.status_code == 200 and len(row.json()["layers"]) == 3


def test_activations_of_conv_nets_are_channel_maps(client, digits):
    ink = rendered(strokes(digits.X_test[1])).tolist()
    conv = client.post("/api/activations", json={"model": CONV, "drawing": ink}).json()
    shapes = [layer["shape"] for layer in conv["layers"]]
    assert shapes[:4] == [[1, 8, 8], [4, 8, 8], [4, 8, 8], [4, 4, 4]]
    assert conv["layers"][1]["channels_shown"] == 4 and decoded(conv["layers"][1]).shape == (4, 8, 8)
    mnist = client.post("/api/activations", json={"model": MNIST, "drawing": ink}).json()
    assert decoded(mnist["input"]).shape == (28, 28)
    assert [layer["shape"] for layer in mnist["layers"]][1] == [4, 28, 28]
    # MNIST framing: the ink is centred in a 20x20 box of the 28x28 input
    rows, cols = np.nonzero(decoded(mnist["input"]) > 30)
    assert rows.min() >= 3 and rows.max() <= 24 and cols.min() >= 3 and cols.max() <= 24


def test_first_layer_weights_as_images(client):
    mlp = client.get("/api/weights", params={"model": MLP}).json()
    assert mlp["tiles"]["shape"] == [32, 8, 8] and mlp["tiles"]["scale"] == "diverging"
    assert mlp["captions"][:2] == ["1", "2"] and "32 first-layer units" in mlp["title"]
    conv = client.get("/api/weights", params={"model": CONV}).json()
    assert conv["tiles"]["shape"] == [4, 3, 3] and "filters of the first convolution" in conv["title"]


# --- the training form and live training ------------------------------------------------


def test_the_form_is_the_training_configuration(client):
    form = client.get("/api/settings").json()["settings"]
    names = [f["name"] for f in form]
    fields = TrainConfig.__dataclass_fields__.values()
    assert names == [f.name for f in fields if f.metadata["group"] != "tracking"]  # not tracked
    assert "tensorboard" not in names and "mlflow" not in names
    by_name = {f["name"]: f for f in form}
    assert by_name["hidden"]["default"] == "48,32" and by_name["batch_size"]["default"] == "full"
    assert by_name["optimizer"]["choices"] == ["adam", "sgd"] and by_name["nesterov"]["default"] is False
    assert by_name["lr"]["help"] == TrainConfig.__dataclass_fields__["lr"].metadata["help"]


def test_a_training_streams_its_epochs_and_a_second_one_is_refused(client, tmp_path):
    started = client.post("/api/train", json={"settings": {"epochs": "12", "hidden": "16"}})
    assert started.status_code == 200, started.text
    assert started.json()["epochs_total"] == 12
    second = client.post("/api/train", json={"settings": {"epochs": "5"}})
    if second.status_code != 409:  # the first one had already ended
        wait_until(lambda: client.get("/api/train").json()["state"] == "finished")
    events = sse_events(client.get("/api/train/events").text)
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "status" and kinds[-1] == "end"
    epochs = [data for kind, data in events if kind == "epoch"] or events[0][1]["epochs"]
    status = client.get("/api/train").json()
    assert status["state"] == "finished", status["message"]
    assert [e["epoch"] for e in status["epochs"]] == list(range(1, 13))
    last = status["epochs"][-1]
    assert set(last) >= {"train_loss", "val_loss", "train_accuracy", "val_accuracy", "grad_norms", "lr"}
    assert list(last["grad_norms"]) == ["layer 1 (64x16)", "layer 2 (16x10)"]
    assert epochs  # every epoch came through the stream or its first status
    # the run is a `layerwise train` run under the trainings' folder, served at once
    folder = tmp_path / "live"
    (run,) = folder.iterdir()
    assert {"model.safetensors", "report.json", "report.md", "checkpoint.safetensors"} <= {
        p.name for p in run.iterdir()
    }
    names = [m["name"] for m in client.get("/api/models").json()["models"]]
    assert f"live/{run.name}" in names


def test_stop_keeps_the_checkpoint_and_resume_goes_on(client, tmp_path):
    started = client.post("/api/train", json={"settings": {"epochs": "100000"}})
    assert started.status_code == 200, started.text
    run_id = started.json()["run"]
    wait_until(lambda: client.get("/api/train").json()["epochs_done"] >= 3)
    assert client.post("/api/train", json={}).status_code == 409
    stopping = client.post("/api/train/stop", json={})
    assert stopping.status_code == 200
    wait_until(lambda: client.get("/api/train").json()["state"] == "stopped")
    status = client.get("/api/train").json()
    assert "checkpoint of epoch" in status["message"]
    assert client.post("/api/train/stop", json={}).status_code == 409  # nothing runs now
    runs = {r["id"]: r for r in client.get("/api/runs").json()["runs"]}
    assert runs[run_id]["status"] == "interrupted" and runs[run_id]["resumable"]
    done = runs[run_id]["epochs"]
    # resume it on to a few more epochs in total, then it finishes
    resumed = client.post("/api/train/resume", json={"run": run_id, "epochs": done + 4})
    assert resumed.status_code == 200, resumed.text
    assert len(resumed.json()["epochs"]) == done  # the epochs so far come with it
    wait_until(lambda: client.get("/api/train").json()["state"] == "finished")
    assert client.get("/api/train").json()["epochs_done"] == done + 4
    report = client.get("/api/runs/report", params={"id": run_id}).json()
    assert report["summary"]["status"] == "finished" and "# layerwise train" in report["markdown"]


def test_bad_settings_are_one_line_errors_before_anything_starts(client, tmp_path):
    for settings, words in [
        ({"dropout": "1.5"}, "dropout must be in [0, 1)"),
        ({"epochs": "many"}, "epochs must be a positive integer"),
        ({"colour": "red"}, "unknown setting 'colour'"),
        ({"layers": "conv4k3,relu", "hidden": "32"}, "layers gives the whole network"),
        ({"data": "no-such-dataset"}, "no-such-dataset"),
        ({"epochs": [1]}, "setting epochs must be text"),
    ]:
        answer = client.post("/api/train", json={"settings": settings})
        assert answer.status_code == 400, (settings, answer.text)
        assert words in answer.json()["error"] and "\n" not in answer.json()["error"]
    assert not (tmp_path / "live").exists() or not any((tmp_path / "live").iterdir())
    assert client.get("/api/train").json()["state"] == "idle"


def test_resume_refuses_what_cannot_be_resumed(client):
    assert client.post("/api/train/resume", json={"run": "runs/../../etc"}).status_code == 404
    answer = client.post("/api/train/resume", json={"run": MNIST})
    assert answer.status_code == 400 and "checkpoint" in answer.json()["error"]
    answer = client.post("/api/train/resume", json={"run": MLP})  # finished: needs more epochs
    assert answer.status_code == 400 and "nothing to resume" in answer.json()["error"]
    answer = client.post("/api/train/resume", json={"run": MLP, "epochs": 3})
    assert answer.status_code == 400 and "fewer than the 25 epochs" in answer.json()["error"]


# --- runs -----------------------------------------------------------------------------


def test_runs_their_curves_reports_and_figures(client):
    runs = {r["id"]: r for r in client.get("/api/runs").json()["runs"]}
    assert set(runs) == {MLP, CONV, MNIST, BROKEN}
    mlp = runs[MLP]
    assert mlp["status"] == "finished" and mlp["epochs"] == 25 and mlp["dataset"] == "digits"
    assert 0.8 < mlp["accuracy"] <= 1 and "loss.png" in mlp["figures"]
    assert runs[MNIST]["status"] == "model"
    curves = client.get("/api/runs/curves", params={"id": MLP}).json()["curves"]
    assert set(curves) == {"train_loss", "val_loss", "train_accuracy", "val_accuracy"}
    assert len(curves["val_loss"]) == 25
    report = client.get("/api/runs/report", params={"id": MLP}).json()
    assert "![loss](loss.png)" in report["markdown"]
    figure = client.get("/api/runs/file", params={"id": MLP, "name": "loss.png"})
    assert figure.status_code == 200 and figure.headers["content-type"] == "image/png"
    assert figure.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_page_and_the_openapi_document(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    for testid in ("draw-canvas", "clear", "predicted-label", "probabilities", "model-picker", "train-start",
                   "train-stop", "loss-chart"):  # fmt: skip
        assert f'data-testid="{testid}"' in page.text
    assert client.get("/static/app.js").status_code == 200
    document = client.get("/api/openapi.json").json()
    paths = document["paths"]
    assert {"/api/predict", "/api/models", "/api/train", "/api/train/events", "/api/runs"} <= set(paths)
    assert paths["/api/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"][
        "required"
    ] == ["inputs"]


@pytest.mark.parametrize("name", [MLP, CONV])
def test_every_layer_gets_a_map_for_a_blank_drawing_too(client, name):
    answer = client.post("/api/activations", json={"model": name, "drawing": np.zeros((56, 56)).tolist()})
    assert answer.status_code == 200
    assert all(len(base64.b64decode(layer["data"])) > 0 for layer in answer.json()["layers"])


def test_a_convolutional_network_from_the_form(client, tmp_path):
    layers = "conv4k3p1,relu,maxpool2,flatten,16,relu"
    started = client.post("/api/train", json={"settings": {"layers": layers, "epochs": "3"}})
    assert started.status_code == 200, started.text
    wait_until(lambda: client.get("/api/train").json()["state"] not in ("starting", "running", "writing"))
    status = client.get("/api/train").json()
    assert status["state"] == "finished", status["message"]
    assert list(status["epochs"][-1]["grad_norms"]) == [
        "layer 1 (conv 1->4 3x3)",
        "layer 2 (64x16)",
        "layer 3 (16x10)",
    ]
    models = {m["name"]: m for m in client.get("/api/models").json()["models"]}
    model = models[status["run"]]
    assert model["network"].startswith("1x8x8 -> conv4k3p1,relu,maxpool2")


def test_runs_of_every_command_are_summarised(tmp_path):
    import json

    root = tmp_path / "runs"
    reproduce = {"lambdas": [0.1, 1], "test_accuracy": 0.96, "config": {"data": "digits", "hidden": [48, 32]},
                 "final_history": {"train_loss": [2.0, 1.5], "val_loss": [2.1, 1.6]}}  # fmt: skip
    tune = {"space": {}, "data": "digits", "settings": {"hidden": "auto"}, "test_accuracy": 0.9}
    for name, report in [
        ("rep", reproduce),
        ("tune", tune),
        ("odd", {"history": "not curves", "command": 3}),
    ]:
        (root / name).mkdir(parents=True)
        (root / name / "report.json").write_text(json.dumps(report))
    (root / "nested" / "deeper" / "bad").mkdir(parents=True)
    (root / "nested" / "deeper" / "bad" / "report.json").write_text("{not json")
    with TestClient(create_app([root], runs_folder=tmp_path / "live"), base_url=BASE) as client:
        runs = {r["id"]: r for r in client.get("/api/runs").json()["runs"]}
        assert set(runs) == {"runs/rep", "runs/tune", "runs/odd", "runs/nested/deeper/bad"}
        assert (runs["runs/rep"]["command"], runs["runs/rep"]["network"], runs["runs/rep"]["epochs"]) == (
            "reproduce", "hidden 48,32", 2)  # fmt: skip
        assert (runs["runs/tune"]["command"], runs["runs/tune"]["dataset"]) == ("tune", "digits")
        assert runs["runs/odd"]["command"] is None and runs["runs/odd"]["epochs"] == 0
        curves = client.get("/api/runs/curves", params={"id": "runs/rep"}).json()["curves"]
        assert curves == {"train_loss": [2.0, 1.5], "val_loss": [2.1, 1.6]}
        assert client.get("/api/runs/curves", params={"id": "runs/nested/deeper/bad"}).json()["curves"] == {}


def test_tracking_settings_are_refused_from_the_page():
    from layerwise.serve.live import config_from_settings
    from layerwise.serve.refusals import Refused

    with pytest.raises(Refused, match="not tracked"):
        config_from_settings({"tensorboard": "runs/tb"})
