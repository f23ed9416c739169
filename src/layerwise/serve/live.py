"""The training the app runs, one at a time, and what the page sees of it live.

A training started from the page is a ``layerwise train`` run: ``TrainingRun.start`` in a
new run directory under the app's runs folder (claimed with ``live_run_directory``), or
``TrainingRun.resume`` of a run served; it trains in a thread of its own and ends as the
command's does: the model, figures and reports written by ``reports.train.write_run``
and the checkpoint of its last epoch kept; a diverging loss keeps the last finite
weights (``write_diverged``). Stopping it is the command's Ctrl-C: the training stops at
the next optimizer step and the checkpoint of the last finished epoch is written, from
which the run can be resumed.

Each finished epoch becomes a record (the losses and accuracies, the learning rate, the
seconds, and each weighted layer's gradient norm, from the tutorial's
``GradientNorms``), which ``Trainer.events`` streams to the page as server-sent events.
"""

import asyncio
import json
import math
import sys
import threading
import time
from contextlib import ExitStack
from dataclasses import fields
from pathlib import Path

from ..errors import LayerwiseError, SettingError, TrainingDiverged
from ..experiments.training import TrainingRun
from ..experiments.tutorial import TUTORIAL
from ..io.checkpoint import CHECKPOINT_FILENAME
from ..nn import Callback
from ..nn.callbacks import GradientNorms
from ..nn.config import REPLACED_BY_LAYERS, TrainConfig, parse_setting, positive_int
from ..reports import run_dir
from ..reports.train import describe, write_diverged, write_run
from .refusals import Busy, Refused

DEFAULTS = TUTORIAL  # the form starts from the tutorial's network and training on the digits
EVENT_SECONDS = 0.1  # how often the stream of events looks for new epochs
KEEPALIVE_SECONDS = 15.0  # a comment line on a quiet stream, so that proxies keep it open


# TensorBoard and MLflow settings: the command line's, not the page's
TRACKING = frozenset(f.name for f in fields(TrainConfig) if f.metadata["group"] == "tracking")


def settings_form(defaults=DEFAULTS):
    """The training settings as the page's form shows them: every field of TrainConfig
    (but the tracking ones: a training from the page is not tracked) with its kind, group,
    help and choices (its metadata) and its default as text."""
    form = []
    for f in fields(TrainConfig):
        meta = f.metadata
        if f.name in TRACKING:
            continue
        form.append(
            {
                "name": f.name,
                "kind": meta["kind"],
                "group": meta["group"],
                "help": meta["help"],
                "choices": list(meta["choices"]) if meta["choices"] else None,
                "default": setting_text(f.name, getattr(defaults, f.name)),
            }
        )
    return form


def setting_text(name, value):
    """A setting's value as its text, as ``parse_setting`` reads it back (a bool as a
    bool, for a check box)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, tuple):
        return ",".join(map(str, value)) or "none"
    if value is None:
        return "full" if name == "batch_size" else "none"
    return str(value)


def config_from_settings(settings, defaults=DEFAULTS):
    """``defaults`` with the ``settings`` of a request (name -> text, number or bool),
    each read by ``parse_setting``; values equal to the defaults' are not changes. As
    on the command line, a spec of ``layers`` replaces hidden, activation and dropout,
    which cannot be changed with it."""
    if settings is None:
        settings = {}
    if not isinstance(settings, dict):
        raise Refused('"settings" must be an object of setting names and values')
    kinds = {f.name: f.metadata["kind"] for f in fields(TrainConfig)}
    given = {}
    for name, value in settings.items():
        if name not in kinds:
            raise Refused(f"unknown setting {name!r}")
        if name in TRACKING:
            raise Refused(
                f"setting {name} is not taken here: a training started from the page is not tracked"
            )
        if isinstance(value, bool) and kinds[name] == "bool":
            parsed = value
        elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
            parsed = parse_setting(name, str(value))
        elif value is None:
            parsed = parse_setting(name, "none")
        else:
            raise Refused(f"setting {name} must be text, a number or true/false, not {value!r}")
        if parsed != getattr(defaults, name):
            given[name] = parsed
    if given.get("layers") is not None:
        for name in REPLACED_BY_LAYERS:
            if name in given:
                raise Refused(f"layers gives the whole network, so {name} cannot be changed with it")
        defaults = defaults.replace(**REPLACED_BY_LAYERS)
    try:
        return defaults.replace(**given)
    except SettingError as e:
        raise Refused(str(e)) from None


def finite(value):
    """A number for JSON: None for NaN and infinities (JSON has neither)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class _Stopped(Exception):
    """Raised in the training thread at the step after a stop was asked for."""


class Session:
    """One training: its run, its state ("starting", "running", "writing", then
    "finished", "stopped", "diverged" or "failed"), its epochs so far and the line
    that says how it ended."""

    def __init__(self, number, run_id, folder, config, resumed):
        self.number, self.run_id, self.folder = number, run_id, folder
        self.config, self.resumed = config, resumed
        self.state = "starting"
        self.message = None
        self.description = None
        self.epochs = []  # one record per epoch, appended by the training thread
        self.stop = threading.Event()
        self.done = threading.Event()
        self.started = time.time()

    def status(self, with_epochs=True):
        status = {
            "training": self.number,
            "state": self.state,
            "run": self.run_id,
            "folder": str(self.folder),
            "resumed": self.resumed,
            "epochs_total": self.config.epochs,
            "epochs_done": len(self.epochs),
            "settings": {k: setting_text(k, v) for k, v in self.config.to_dict().items()},
            "description": self.description,
            "message": self.message,
        }
        if with_epochs:
            status["epochs"] = list(self.epochs)
        return status

    def end(self, state, message):
        self.state, self.message = state, message
        self.done.set()


class _Live(Callback):
    """Publishes each finished epoch to the session and stops the training when asked."""

    def __init__(self, session, norms):
        self.session, self.norms = session, norms

    def on_train_begin(self, net, history):
        self.history = history
        self.session.state = "running"
        self.clock = time.perf_counter()

    def on_batch_end(self, batch, size, loss):
        if self.session.stop.is_set():
            raise _Stopped

    def on_epoch_end(self, epoch, logs):
        now = time.perf_counter()
        norms = {name: finite(values[-1]) for name, values in self.norms.norms.items() if values}
        record = {"epoch": epoch + 1, **{k: finite(float(v)) for k, v in logs.items()}}
        record["lr"] = finite(self.history.lr[-1]) if self.history.lr else None
        record["seconds"] = now - self.clock
        record["grad_norms"] = norms
        self.clock = now
        self.session.epochs.append(record)


class Trainer:
    """Runs one training at a time in a thread, in run directories under ``root``; ``runs``
    (a RunIndex) names them."""

    def __init__(self, root, runs, data_dir=None):
        self.root, self.runs, self.data_dir = Path(root), runs, data_dir
        self.session = None
        self._lock = threading.Lock()
        self._busy = False
        self._count = 0

    def _reserve(self):
        with self._lock:
            if self._busy:
                running = self.session.run_id if self.session is not None else "one"
                raise Busy(f"a training is already running ({running}); stop it or wait for it to end")
            self._busy = True
            self._count += 1
            return self._count

    def _release(self):
        with self._lock:
            self._busy = False

    def start(self, settings):
        """Starts a training of ``settings`` (see ``config_from_settings``) in a new run
        directory; returns its status. The data are loaded and the network is built
        before this returns, so that bad settings are one-line errors here."""
        number = self._reserve()
        try:
            config = config_from_settings(settings)
            out = self._new_folder()
            stack = ExitStack()
            folder = stack.enter_context(run_dir.live_run_directory(out, keep=_worth_keeping(out)))
            try:
                training = TrainingRun.start(config, folder, self.data_dir)
            except BaseException:
                stack.__exit__(*sys.exc_info())
                raise
            return self._launch(number, training, stack, resumed=False)
        except SettingError as e:
            self._release()
            raise Refused(str(e)) from None
        except BaseException:
            self._release()
            raise

    def resume(self, run_id, epochs=None):
        """Resumes the run ``run_id`` (served) from its checkpoint, to its recorded epochs
        or to ``epochs`` in total; returns its status."""
        number = self._reserve()
        try:
            run = self.runs.get(run_id)
            if isinstance(epochs, bool) or not isinstance(epochs, (int, str, type(None))):
                raise Refused(f'"epochs" must be a positive integer, not {epochs!r}')
            if epochs is not None:
                epochs = positive_int(epochs, "epochs")
            training = TrainingRun.resume(run.folder, self.data_dir, None, epochs)
            return self._launch(number, training, ExitStack(), resumed=True)
        except BaseException:
            self._release()
            raise

    def _launch(self, number, training, stack, resumed):
        folder = Path(training.folder)
        session = Session(number, self.runs.id_of(folder), folder, training.config, resumed)
        session.description = describe(training)
        history = training.history
        for epoch in range(history.epochs):  # a resumed run's epochs so far
            record = {"epoch": epoch + 1, "grad_norms": {}}
            for name in ("train_loss", "val_loss", "train_accuracy", "val_accuracy", "lr", "seconds"):
                values = getattr(history, name)
                record[name] = finite(float(values[epoch])) if epoch < len(values) else None
            session.epochs.append(record)
        self.session = session
        thread = threading.Thread(
            target=self._work, args=(session, training, stack), name="layerwise-training", daemon=True
        )
        thread.start()
        self.thread = thread
        return session.status()

    def _work(self, session, training, stack):
        """The training thread: trains, writes the run's files, and ends the session."""
        try:
            with stack:
                self._train(session, training)
        except LayerwiseError as e:
            session.end("failed", str(e))
        except Exception as e:  # noqa: BLE001  # shown on the page as one line, not lost in a thread
            session.end("failed", f"{type(e).__name__}: {e}")
        finally:
            if not session.done.is_set():
                session.end("failed", "the training ended without a result")
            self._release()

    def _train(self, session, training):
        started = time.perf_counter()
        norms = GradientNorms()
        try:
            training.fit([norms, _Live(session, norms)])
            session.state = "writing"
            result, _ = write_run(training, started)
        except _Stopped:
            saver = training.saver
            if saver.latest is None:  # stopped before training began: nothing to keep
                raise LayerwiseError("stopped before the first epoch began; nothing was kept") from None
            state = saver.save()
            session.end(
                "stopped",
                f"stopped; the checkpoint of epoch {state.epoch} is in {saver.path}: "
                "resume continues from it",
            )
            return
        except TrainingDiverged as e:
            path = write_diverged(training, e)
            session.end("diverged", f"{e}, saved in {path}")
            return
        training.finished()
        session.end("finished", result)

    def stop(self):
        """Asks the running training to stop; returns its status."""
        session = self.session
        if session is None or session.done.is_set():
            raise Busy("no training is running")
        session.stop.set()
        return session.status(with_epochs=False)

    def status(self, with_epochs=True):
        """The current (or last) training's status; state "idle" before any."""
        if self.session is None:
            return {"training": None, "state": "idle", "epochs": [] if with_epochs else None}
        return self.session.status(with_epochs)

    def stop_now(self):
        """Asks a running training (if any) to stop, without waiting; returns its Session
        (None when none runs)."""
        session = self.session
        if session is None or session.done.is_set():
            return None
        session.stop.set()
        return session

    def shutdown(self, seconds=30.0):
        """Stops a running training and waits for its checkpoint (the server is stopping)."""
        session = self.session
        if session is not None and not session.done.is_set():
            session.stop.set()
            session.done.wait(seconds)

    def _new_folder(self):
        base = out = run_dir.default_run_dir("train", self.root)
        n = 2
        while out.exists():
            out, n = base.with_name(f"{base.name}-{n}"), n + 1
        return out

    async def events(self):
        """Server-sent events of the current training: "status" (with every epoch so
        far), then "epoch" for each epoch as it ends and "status" when the state
        changes, and "end" (its last status) when it has ended; at once for none."""
        session = self.session
        if session is None:
            yield _event("end", self.status())
            return
        cursor = len(session.epochs)
        status = session.status()
        status["epochs"] = status["epochs"][:cursor]
        yield _event("status", status)
        state, quiet = session.state, time.monotonic()
        while True:
            done = session.done.is_set()
            new = session.epochs[cursor:]
            cursor += len(new)
            for record in new:
                yield _event("epoch", record)
            if session.state != state and not done:
                state = session.state
                yield _event("status", session.status(with_epochs=False))
            if done and cursor >= len(session.epochs):
                yield _event("end", session.status(with_epochs=False))
                return
            if new:
                quiet = time.monotonic()
            elif time.monotonic() - quiet > KEEPALIVE_SECONDS:
                quiet = time.monotonic()
                yield ": keep-alive\n\n"
            await asyncio.sleep(EVENT_SECONDS)


def _event(kind, data):
    return f"event: {kind}\ndata: {json.dumps(data, allow_nan=False)}\n\n"


def _worth_keeping(folder):
    """A failed run keeps its folder when it holds a checkpoint or the weights of a
    divergence, as `layerwise train` keeps it."""
    return lambda error: isinstance(error, TrainingDiverged) or (folder / CHECKPOINT_FILENAME).is_file()
