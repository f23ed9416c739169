"""The `layerwise` command itself: no arguments, a mistyped command, options without a
command, dataset names, and no warning printed before a one-line error."""

import os
import subprocess
import sys

import pytest
from idx_files import write_mnist_folder

from layerwise import data as datasets
from layerwise.cli import COMMANDS, main


def layerwise(*args, cwd):
    """Run `python -m layerwise ARGS` in ``cwd``, with Python's default warning filters."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    return subprocess.run(
        [sys.executable, "-m", "layerwise", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_bare_layerwise_prints_the_help_and_creates_nothing(tmp_path):
    done = layerwise(cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: layerwise") and done.stderr == ""
    assert all(f"    {name}" in done.stdout for name in COMMANDS), done.stdout
    assert "layerwise reproduce" in done.stdout
    assert list(tmp_path.iterdir()) == []


def test_main_without_arguments_returns_0(capsys):
    assert main([]) == 0
    assert capsys.readouterr().out.startswith("usage: layerwise")


def one_line_error(capsys, argv):
    with pytest.raises(SystemExit) as e:
        main(argv)
    out, err = capsys.readouterr()
    assert e.value.code == 2 and out == ""
    assert err.count("\n") == 1, err
    return err.rstrip("\n")


@pytest.mark.parametrize(
    "typed, meant",
    [("trian", "train"), ("reproduec", "reproduce"), ("gradchek", "gradcheck"), ("Train", "train")],
)
def test_a_mistyped_command_is_one_line_with_a_suggestion(capsys, typed, meant):
    assert one_line_error(capsys, [typed, "--epochs", "5"]) == (
        f"layerwise: error: unknown command {typed!r}; did you mean {meant!r}?"
    )


def test_an_unknown_command_far_from_any_lists_them(capsys):
    err = one_line_error(capsys, ["frobnicate"])
    assert err == f"layerwise: error: unknown command 'frobnicate'; the commands are {', '.join(COMMANDS)}"


@pytest.mark.parametrize("argv", [["--epochs", "5"], ["--data", "digits", "train"]])
def test_options_without_a_command_are_an_error(capsys, tmp_path, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    err = one_line_error(capsys, argv)
    assert err.startswith(f"layerwise: error: give a command before {argv[0]!r}: layerwise COMMAND [options]")
    assert list(tmp_path.iterdir()) == []


def test_version_and_help_still_work(capsys):
    for argv in (["--version"], ["-h"], ["train", "--help"]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 0
    assert "layerwise 0" in capsys.readouterr().out


def test_the_mistyped_command_in_a_subprocess_exits_2(tmp_path):
    done = layerwise("trian", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == "layerwise: error: unknown command 'trian'; did you mean 'train'?\n"


def test_no_warning_is_printed_before_an_error(tmp_path):
    done = layerwise("reproduce", "--lambdas", "logspace(0,400,2)", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr == (
        "layerwise reproduce: error: lambda list 'logspace(0,400,2)' must hold 1 to 10000 finite numbers\n"
    ), done.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def data_places(tmp_path, monkeypatch):
    """--data-dir tmp/mine; no $LAYERWISE_DATA; the system folder tmp/system."""
    monkeypatch.delenv("LAYERWISE_DATA", raising=False)
    monkeypatch.setattr(datasets, "SYSTEM_DATA", tmp_path / "system")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine").mkdir()
    return tmp_path / "mine"


def test_a_dataset_name_in_any_spelling_trains(capsys, tmp_path, data_places):
    write_mnist_folder(data_places / "fashion-mnist")
    out = tmp_path / "run"
    argv = ["train", "--data", "FASHION MNIST", "--data-dir", str(data_places), "--hidden", "4",
            "--epochs", "1", "--quiet", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    assert "T-shirt/top" in (out / "report.md").read_text()


def test_a_missing_known_dataset_is_one_line_naming_files_and_folders(capsys, tmp_path, data_places):
    argv = [
        "train",
        "--data",
        "MNIST",
        "--data-dir",
        str(data_places),
        "--epochs",
        "1",
        "--out",
        str(tmp_path / "r"),
    ]
    assert main(argv) == 1
    err = capsys.readouterr().err
    searched = f"{data_places / 'mnist'}, {tmp_path / 'system' / 'mnist'}"
    assert err.count("\n") == 1, err
    assert err.startswith(f"layerwise train: error: dataset 'mnist' not found in {searched}:"), err
    files = ["train-images-idx3-ubyte[.gz]", "train-labels-idx1-ubyte[.gz]", "t10k-images-idx3-ubyte[.gz]"]
    for words in (*files, "t10k-labels-idx1-ubyte[.gz]", "--data-dir DIR", "$LAYERWISE_DATA/mnist/"):
        assert words in err, err
    assert not (tmp_path / "r").exists()


def test_a_mistyped_dataset_name_gets_a_suggestion(capsys, tmp_path, data_places):
    argv = ["train", "--data", "fashion_mnsit", "--epochs", "1", "--out", str(tmp_path / "r")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.endswith("; did you mean 'fashion-mnist'?\n"), err


def test_the_help_says_what_the_readme_says(capsys):
    # the final model of reproduce is the best lambda's sweep training, not a retraining
    with pytest.raises(SystemExit):
        main(["reproduce", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "retrain" not in text and "that training's network is the final model" in text
