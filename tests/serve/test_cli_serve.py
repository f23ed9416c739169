"""The `layerwise serve` command: its options, its one-line errors, the URL it prints and
its warning for an address other than a loopback one. (The command is registered in
layerwise.cli's COMMANDS; these tests use its module directly.)"""

import argparse
import socket

import pytest
import uvicorn

from layerwise.cli import serve as command
from layerwise.errors import LayerwiseError


def parse(*argv):
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    return parser.parse_args(argv)


@pytest.fixture
def no_server(monkeypatch):
    """uvicorn's Server.run records the sockets it was given instead of serving."""
    calls = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: calls.append(sockets))
    yield calls
    for sockets in calls:
        for sock in sockets:
            sock.close()


def test_the_defaults_are_this_machine_only():
    args = parse()
    assert (args.paths, args.host, args.port, args.runs, args.allow_host) == ([], "127.0.0.1", 8000, None, [])


def test_it_prints_its_url_and_serves_on_loopback(runs_folder, tmp_path, no_server, capsys):
    assert command.run(parse(str(runs_folder), "--port", "0", "--runs", str(tmp_path / "live"))) == 0
    (sockets,) = no_server
    host, port = sockets[0].getsockname()[:2]
    captured = capsys.readouterr()
    assert host == "127.0.0.1" and f"http://127.0.0.1:{port}/" in captured.out
    assert "warning" not in captured.err


def test_another_address_gets_a_warning(runs_folder, tmp_path, no_server, capsys):
    command.run(parse(str(runs_folder), "--host", "0.0.0.0", "--port", "0", "--runs", str(tmp_path / "l")))
    err = capsys.readouterr().err
    assert "warning: listening on 0.0.0.0, not on a loopback address" in err and err.count("\n") == 1


def test_a_path_that_does_not_exist_is_one_line(tmp_path):
    with pytest.raises(LayerwiseError, match="is neither a model file, a run directory nor a folder of runs"):
        command.run(parse(str(tmp_path / "nothing"), "--port", "0"))


def test_a_port_in_use_is_one_line(runs_folder, tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        port = str(taken.getsockname()[1])
        with pytest.raises(LayerwiseError, match=f"cannot listen on 127.0.0.1:{port}"):
            command.run(parse(str(runs_folder), "--port", port, "--runs", str(tmp_path / "live")))
    finally:
        taken.close()


def test_a_bad_port_is_one_line():
    with pytest.raises(LayerwiseError, match="--port must be from 0 to 65535"):
        command.run(parse("--port", "70000"))
