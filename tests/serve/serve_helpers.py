"""What the web app's tests share: a server in a thread for the browser, server-sent
events read back, and a digit of the 8x8 test set as strokes a person could draw on the
page's canvas, with the canvas those strokes make."""

import json
import threading
import time

import numpy as np

from layerwise.serve.app import listening_socket

# the models of conftest's runs folder, and the Host the test client names: the served one
MLP = "runs/mlp"
CONV = "runs/conv"
MNIST = "runs/mnist-format"
BROKEN = "runs/broken"
BASE = "http://127.0.0.1:8000"


class ServerThread:
    """The app served by uvicorn on a free port of 127.0.0.1, in a thread, for a browser."""

    def __init__(self, app):
        import uvicorn

        sock = listening_socket("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(30)


def sse_events(text):
    """(event, data) pairs of a text/event-stream body."""
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n") if not line.startswith(":"))
        if "event" in lines:
            events.append((lines["event"], json.loads(lines["data"])))
    return events


def wait_until(condition, seconds=30.0):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


# --- drawing a digit -------------------------------------------------------------------

CANVAS = 280  # the draw page's canvas, in pixels
CELLS = 56  # the drawing the page sends: CELLS x CELLS ink values
STROKE = CANVAS / 9  # the page's stroke width for the 8x8 digits
INK = 7  # a cell of the 8x8 digit at least this dark (of 16) is drawn


def strokes(digit, canvas=CANVAS):
    """The strokes for an 8x8 digit (values 0..16): one horizontal stroke through each run
    of dark cells of a row, and one vertical stroke through each run of a column, from
    cell centre to cell centre. Each stroke is a list of (x, y) canvas points."""
    image = np.asarray(digit, dtype=float).reshape(8, 8)
    cell = canvas / 8
    centre = lambda i: (i + 0.5) * cell  # noqa: E731
    lines = []
    for transpose in (False, True):
        grid = image.T if transpose else image
        for r, row in enumerate(grid):
            c = 0
            while c < 8:
                if row[c] < INK:
                    c += 1
                    continue
                start = c
                while c < 8 and row[c] >= INK:
                    c += 1
                a, b = (centre(start), centre(r)), (centre(c - 1), centre(r))
                if transpose:
                    a, b = a[::-1], b[::-1]
                lines.append([a, b])
    return lines


def rendered(lines, canvas=CANVAS, width=STROKE, cells=CELLS):
    """The ink (0..1) of ``cells`` x ``cells`` blocks of a canvas with these strokes drawn
    as round-capped lines of ``width`` pixels: what the page would send."""
    y, x = np.mgrid[0:canvas, 0:canvas] + 0.5
    ink = np.zeros((canvas, canvas), bool)
    for line in lines:
        for (x0, y0), (x1, y1) in zip(line, line[1:]):
            dx, dy = x1 - x0, y1 - y0
            t = np.clip(((x - x0) * dx + (y - y0) * dy) / max(dx * dx + dy * dy, 1e-9), 0, 1)
            ink |= (x - x0 - t * dx) ** 2 + (y - y0 - t * dy) ** 2 <= (width / 2) ** 2
    block = canvas // cells
    return ink.reshape(cells, block, cells, block).mean(axis=(1, 3))


def drawable_digit(served, X, y, confidence=0.6):
    """The index of the first digit of (X, y) that ``served`` (a ServedModel) reads right,
    with at least ``confidence``, when it is drawn as ``strokes``."""
    for i, (digit, label) in enumerate(zip(X, y)):
        answer = served.look(drawing=rendered(strokes(digit)))
        if str(answer["prediction"]) == str(label) and max(answer["probabilities"]) >= confidence:
            return i
    raise AssertionError("no digit of the test set is read right when drawn")
