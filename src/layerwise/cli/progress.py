"""Progress shown while training: a tqdm bar per epoch and one line per finished epoch."""

import time

from ..nn import Callback


class EpochProgress(Callback):
    """A progress bar over each epoch's examples, with the running loss and examples/s."""

    def __init__(self, n_examples, epochs, enabled=True):
        self.n, self.epochs, self.enabled = n_examples, epochs, enabled
        self.bar = None
        self.epoch = 0

    def on_train_begin(self, net, history):
        self.epoch = history.epochs

    def on_batch_end(self, batch, size, loss):
        if not self.enabled:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(
                total=self.n,
                desc=f"epoch {self.epoch + 1}/{self.epochs}",
                unit="ex",
                unit_scale=True,
                leave=False,
            )
            self.loss_sum = self.seen = 0.0
        self.loss_sum += loss * size
        self.seen += size
        self.bar.update(size)
        if batch % 20 == 0:
            self.bar.set_postfix(loss=f"{self.loss_sum / self.seen:.4f}", refresh=False)

    def on_epoch_end(self, epoch, logs):
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{logs['train_loss']:.4f}", accuracy=f"{logs['train_accuracy']:.4f}")
            self.bar.close()
            self.bar = None
        self.epoch = epoch + 1

    def on_train_end(self, net, history):
        if self.bar is not None:
            self.bar.close()


class EpochLines(Callback):
    """One line per epoch: losses, accuracies, seconds and training examples per second."""

    def __init__(self, epochs, n_examples, write=print):
        self.epochs, self.n, self.write = epochs, n_examples, write

    def on_train_begin(self, net, history):
        self.history = history
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs):
        seconds = time.perf_counter() - self.started
        self.started = time.perf_counter()
        line = f"epoch {epoch + 1:>{len(str(self.epochs))}}/{self.epochs}  loss {logs['train_loss']:.4f}"
        line += f"  accuracy {logs['train_accuracy']:.4f}"
        if "val_loss" in logs:
            line += f"  val_loss {logs['val_loss']:.4f}  val_accuracy {logs['val_accuracy']:.4f}"
        self.write(f"{line}  {seconds:.1f} s  {self.n / seconds:,.0f} ex/s", flush=True)
