"""The web app's safety rules, each one: the Host header, the origin of changes, the size
of bodies, files outside the run folders, and bad requests answered in one line (400),
never with a traceback or a 500."""

import json
import os

import numpy as np
import pytest
from serve_helpers import BASE, BROKEN, MLP
from starlette.testclient import TestClient

from layerwise.serve.app import MAX_BODY, create_app, hosts_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def one_line_error(answer, status):
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    message = answer.json()["error"]
    assert message and "\n" not in message and "Traceback" not in message
    return message


# --- who may ask ------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "[::1]:8000", "LOCALHOST"])
def test_the_loopback_names_are_served(client, host):
    assert client.get("/api/models", headers={"host": host}).status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "10.0.0.1"])
def test_another_host_header_is_refused(client, host):
    # a page of another site whose name was made to resolve to 127.0.0.1 (DNS rebinding)
    message = one_line_error(client.get("/api/models", headers={"host": host}), 400)
    assert "Host header" in message
    one_line_error(client.post("/api/predict", headers={"host": host}, json={"inputs": [[0] * 64]}), 400)


def test_the_hosts_of_another_address_are_named_explicitly():
    assert hosts_for("0.0.0.0") >= {"127.0.0.1", "localhost"}
    assert "lab.example" in hosts_for("0.0.0.0", ["lab.example"])
    assert hosts_for("192.168.1.20") == {"192.168.1.20"}


def test_changes_from_pages_of_other_sites_are_refused(client):
    origin = {"origin": "http://evil.example"}
    one_line_error(client.post("/api/train", json={}, headers=origin), 403)
    one_line_error(client.post("/api/train/stop", json={}, headers=origin), 403)
    # the page itself may
    ours = {"origin": "http://127.0.0.1:8000"}
    assert (
        client.post("/api/predict", json={"model": MLP, "inputs": [[0] * 64]}, headers=ours).status_code
        == 200
    )


def test_bodies_must_be_json(client):
    body = json.dumps({"model": MLP, "inputs": [[0] * 64]})
    answer = client.post("/api/predict", content=body, headers={"content-type": "text/plain"})
    assert "Content-Type: application/json" in one_line_error(answer, 415)
    form = client.post("/api/train", data={"settings": "x"})
    one_line_error(form, 415)


# --- how much -------------------------------------------------------------------------


def test_a_body_over_the_limit_gets_413(client):
    big = b'{"inputs": [[' + b"0," * (MAX_BODY // 2) + b"0]]}"
    message = one_line_error(
        client.post("/api/predict", content=big, headers={"content-type": "application/json"}), 413
    )
    assert "2 MiB" in message


def test_a_body_over_the_limit_without_a_length_gets_413(client):
    def chunks():  # sent chunked: no Content-Length to read the size from
        yield b'{"inputs": [['
        for _ in range(MAX_BODY // 65536 + 1):
            yield b"0," * 32768
        yield b"0]]}"

    answer = client.post("/api/predict", content=chunks(), headers={"content-type": "application/json"})
    one_line_error(answer, 413)


def test_a_body_just_under_the_limit_is_read(client):
    rows = np.zeros((2000, 64), dtype=int).tolist()
    body = json.dumps({"model": MLP, "inputs": rows}).encode()
    assert len(body) < MAX_BODY
    answer = client.post("/api/predict", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 200 and len(answer.json()["predictions"]) == 2000


# --- which files ----------------------------------------------------------------------


@pytest.fixture
def outside(runs_folder, tmp_path):
    """A secret file outside the run folders, and links to it from inside a run."""
    secret = tmp_path / "secret.json"
    secret.write_text('{"secret": 1}')
    run = runs_folder / "mlp"
    links = [run / "link.json", run / "link.png"]
    for link in links:
        if not link.is_symlink():
            os.symlink(secret, link)
    yield secret
    for link in links:
        link.unlink()


@pytest.mark.parametrize(
    "run, name",
    [
        (MLP, "../conv/report.json"),  # a file of another run, by a path
        (MLP, "../../secret.json"),
        (MLP, "..%2F..%2Fsecret.json"),
        (MLP, "/etc/passwd"),
        (MLP, "link.json"),  # links that lead out of the run directory
        (MLP, "link.png"),
        (MLP, "model.safetensors"),  # not a file type runs are read for
        (MLP, ".hidden.json"),
        (MLP, "no-such.png"),
        (MLP, "C:\\Windows\\win.ini"),
        ("runs/../..", "secret.json"),  # runs that are not runs
        ("/etc", "passwd"),
        ("runs", "report.json"),
        ("no-such-run", "loss.png"),
    ],
)
def test_files_outside_the_runs_are_not_found(client, outside, run, name):
    answer = client.get("/api/runs/file", params={"id": run, "name": name})
    one_line_error(answer, 404)
    assert b'"secret": 1' not in answer.content


def test_paths_in_the_url_itself_are_not_found(client, outside):
    for path in [
        "/static/../serve/app.py",
        "/static/%2e%2e/app.py",
        "/../../etc/passwd",
        "/api/runs/../../x",
    ]:
        answer = client.get(path)
        assert answer.status_code == 404, path


def test_runs_behind_symbolic_links_are_not_served(runs_folder, tmp_path):
    elsewhere = tmp_path / "elsewhere" / "run"
    elsewhere.mkdir(parents=True)
    (elsewhere / "report.json").write_text("{}")
    os.symlink(tmp_path / "elsewhere", runs_folder / "linked")
    try:
        app = create_app([runs_folder], runs_folder=tmp_path / "live")
        with TestClient(app, base_url=BASE) as client:
            ids = {r["id"] for r in client.get("/api/runs").json()["runs"]}
            assert not any("linked" in i for i in ids)
            one_line_error(client.get("/api/runs/report", params={"id": "runs/linked/run"}), 404)
    finally:
        (runs_folder / "linked").unlink()


# --- what is asked --------------------------------------------------------------------


BAD_BODIES = [
    (b"{", "malformed JSON"),
    (b'{"inputs": [[1, 2,]]}', "malformed JSON"),
    (b"\xff\xfe", "not UTF-8"),
    (b"[1, 2]", "JSON object"),
    (b'"text"', "JSON object"),
    (b'{"model": "runs/mlp", "inputs": [[NaN' + b", 0" * 63 + b"]]}", "NaN"),
    (b'{"model": "runs/mlp", "inputs": [[Infinity' + b", 0" * 63 + b"]]}", "Infinity"),
    (b'{"model": "runs/mlp", "inputs": [[1e999' + b", 0" * 63 + b"]]}", "finite"),
    (b'{"model": "runs/mlp", "inputs": [[1e308' + b", -1e308" * 63 + b"]]}", "infinite"),  # as float32
    (b'{"model": "runs/mlp", "inputs": [[1, 2, 3]]}', "64 input values, not 3"),
    (b'{"model": "runs/mlp", "inputs": [[1, 2], [3]]}', "same length"),
    (b'{"model": "runs/mlp", "inputs": [1, 2, 3]}', "not a single row"),
    (b'{"model": "runs/mlp", "inputs": []}', "non-empty list"),
    (b'{"model": "runs/mlp", "inputs": "1,2,3"}', "non-empty list"),
    (b'{"model": "runs/mlp", "inputs": [["a"' + b', "b"' * 63 + b"]]}", "numbers only"),
    (b'{"model": "runs/mlp", "inputs": [[true' + b", false" * 63 + b"]]}", "numbers only"),
    (b'{"model": "runs/mlp", "inputs": [[null' + b", 0" * 63 + b"]]}", "numbers only"),
    (b'{"model": "runs/mlp", "inputs": [[' + b"[" * 5000 + b"]" * 5000 + b"]]}", "JSON"),
    (b'{"model": "runs/nope", "inputs": [[0]]}', "unknown model 'runs/nope'"),
    (b'{"model": 3, "inputs": [[0]]}', "must be the name of a model"),
    (b'{"model": "runs/broken", "inputs": [[0]]}', "cannot be used"),
    (b'{"inputs": [[0]], "extra": 1}', "unknown field 'extra'"),
    (b'{"model": "runs/mlp"}', "missing field 'inputs'"),
    (b"", "the request body is empty"),
]


@pytest.mark.parametrize("body, words", BAD_BODIES, ids=[str(i) for i in range(len(BAD_BODIES))])
def test_a_bad_request_is_a_400_in_one_line(client, body, words):
    answer = client.post("/api/predict", content=body, headers={"content-type": "application/json"})
    assert words in one_line_error(answer, 400)


@pytest.mark.parametrize(
    "body, words",
    [
        ({"model": MLP, "drawing": [[0.5] * 56] * 56, "input": [0] * 64}, "either"),
        ({"model": MLP}, "either"),
        ({"model": MLP, "drawing": [[2.0] * 56] * 56}, "from 0 to 1"),
        ({"model": MLP, "drawing": [[0.0] * 4] * 4}, "8 to 1024 cells"),
        ({"model": MLP, "drawing": [[0.0] * 56] * 55 + [[0.0] * 3]}, "same length"),
        ({"model": MLP, "drawing": [0.0] * 56}, "list of rows"),
        ({"model": "runs/mnist-format", "input": [0] * 64}, "784 input values, not 64"),
        ({"model": BROKEN, "drawing": [[0.0] * 56] * 56}, "cannot be used"),
    ],
)
def test_bad_drawings_are_400s_in_one_line(client, body, words):
    assert words in one_line_error(client.post("/api/activations", json=body), 400)


@pytest.mark.parametrize("name", [MLP, "runs/conv", "runs/mnist-format"])
@pytest.mark.parametrize("value", [3e38, -3e38, 1e30])
def test_huge_inputs_are_answered_or_refused_in_one_line(client, name, value):
    n = 64 if name != "runs/mnist-format" else 784
    bodies = [
        ("/api/predict", {"model": name, "inputs": [[value] * n]}),
        ("/api/activations", {"model": name, "input": [value, -value] * (n // 2)}),
    ]
    for path, body in bodies:
        answer = client.post(path, json=body)
        if answer.status_code != 200:
            one_line_error(answer, 400)


def test_unknown_pages_and_methods_are_json_errors(client):
    one_line_error(client.get("/api/nothing"), 404)
    one_line_error(client.get("/api/predict"), 405)
    one_line_error(client.get("/api/runs/curves"), 400)  # no id
    one_line_error(client.get("/api/weights", params={"model": "runs/nope"}), 400)


def test_a_broken_model_does_not_stop_the_others(client):
    models = {m["name"]: m for m in client.get("/api/models").json()["models"]}
    assert models[BROKEN]["error"] and models[MLP]["error"] is None
    one_line_error(client.post("/api/predict", json={"model": BROKEN, "inputs": [[0] * 64]}), 400)
    assert client.post("/api/predict", json={"model": MLP, "inputs": [[0] * 64]}).status_code == 200


def test_a_model_file_replaced_while_served_is_read_again(runs_folder, tmp_path):
    import layerwise as lw

    folder = tmp_path / "runs" / "swap"
    folder.mkdir(parents=True)
    lw.save(lw.Network.from_spec("4-3", seed=0), folder / "model.safetensors")
    app = create_app([tmp_path / "runs"], runs_folder=tmp_path / "live")
    with TestClient(app, base_url=BASE) as client:
        assert client.post("/api/predict", json={"inputs": [[0, 0, 0, 0]]}).status_code == 200
        (folder / "model.safetensors").write_bytes(b"garbage, not a model")
        one_line_error(client.post("/api/predict", json={"inputs": [[0, 0, 0, 0]]}), 400)
        lw.save(lw.Network.from_spec("5-2", seed=0), folder / "model.safetensors")
        assert client.post("/api/predict", json={"inputs": [[0] * 5]}).status_code == 200
