"""The JSON API under ``/api/`` and the page, as Starlette routes.

``openapi.py`` describes every endpoint (``GET /api/openapi.json``); the contract the page
and scripts rely on:

- ``GET /api/models``: ``{"models": [...]}``, each model's name, network, layers, classes
  and the images it takes (or its name, path and ``error`` when its file cannot be read);
- ``POST /api/predict`` with ``{"model": NAME, "inputs": [[...], ...]}`` (``model``
  optional when one model is served; rows in the model's raw input space, as
  ``layerwise predict`` reads them): ``{"model": NAME, "predictions": [...],
  "probabilities": [[...], ...]}``.

The others back the page: ``POST /api/activations`` (a drawing's prediction and every
layer's output), ``GET /api/weights`` (the first layer's weights as images),
``GET /api/settings`` (the training form), ``GET``/``POST /api/train``,
``POST /api/train/stop``, ``POST /api/train/resume``, ``GET /api/train/events``
(server-sent events), ``GET /api/runs``, ``GET /api/runs/curves``,
``GET /api/runs/report`` and ``GET /api/runs/file``.
"""

import json
import math
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, JSONResponse, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..errors import LayerwiseError
from .live import settings_form
from .models import drawing, one_row, rows
from .openapi import spec
from .refusals import NotFound, Refused, WrongMediaType

STATIC = Path(__file__).parent / "static"
NO_STORE = {"cache-control": "no-store"}


def routes():
    """The app's routes: the page, its static files and the API."""
    return [
        Route("/", page, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
        Route("/api/openapi.json", openapi, methods=["GET"]),
        Route("/api/models", models, methods=["GET"]),
        Route("/api/predict", predict, methods=["POST"]),
        Route("/api/activations", activations, methods=["POST"]),
        Route("/api/weights", weights, methods=["GET"]),
        Route("/api/settings", settings, methods=["GET"]),
        Route("/api/train", train_status, methods=["GET"]),
        Route("/api/train", train_start, methods=["POST"]),
        Route("/api/train/stop", train_stop, methods=["POST"]),
        Route("/api/train/resume", train_resume, methods=["POST"]),
        Route("/api/train/events", train_events, methods=["GET"]),
        Route("/api/runs", runs, methods=["GET"]),
        Route("/api/runs/curves", run_curves, methods=["GET"]),
        Route("/api/runs/report", run_report, methods=["GET"]),
        Route("/api/runs/file", run_file, methods=["GET"]),
    ]


def _served(request):
    return request.app.state.served


# --- errors --------------------------------------------------------------------------


async def error_response(request, exc):
    """A LayerwiseError as JSON: its status (400 unless a Refused says otherwise) and
    its one line."""
    status = getattr(exc, "status", 400)
    return JSONResponse({"error": one_line(str(exc))}, status_code=status)


async def http_error_response(request, exc):
    """Starlette's own errors (no such route: 404, wrong method: 405) as JSON."""
    message = {404: "not found", 405: f"{request.method} is not allowed here"}.get(
        exc.status_code, exc.detail
    )
    return JSONResponse(
        {"error": message}, status_code=exc.status_code, headers=getattr(exc, "headers", None)
    )


async def internal_error_response(request, exc):
    """Anything else: a 500 with one line, the traceback only in the server's log."""
    return JSONResponse(
        {"error": f"internal error ({type(exc).__name__}); see the server's log"}, status_code=500
    )


def one_line(text):
    return " ".join(str(text).split())


# --- request bodies ------------------------------------------------------------------


def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise Refused(f"numbers must be finite, not {text}")
    return value


def _no_constant(name):
    raise Refused(f"numbers must be finite: JSON has no {name}")


async def read_json(request, fields, required=()):
    """The request's body: a JSON object of ``fields`` (an empty body is ``{}`` when
    nothing is ``required``), or a one-line Refused."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if not body.strip():
        if required:
            raise Refused(f"the request body is empty: send a JSON object with {', '.join(required)}")
        return {}
    if kind != "application/json":
        raise WrongMediaType("send the request body as JSON, with Content-Type: application/json")
    try:
        text = body.decode("utf-8")
        value = json.loads(text, parse_float=_finite_float, parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise Refused("the request body is not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise Refused(f"malformed JSON: {e.msg} (line {e.lineno}, column {e.colno})") from None
    except RecursionError:
        raise Refused("malformed JSON: nested too deeply") from None
    if not isinstance(value, dict):
        raise Refused("send a JSON object, {...}")
    unknown = [k for k in value if k not in fields]
    if unknown:
        raise Refused(f"unknown field {unknown[0]!r}; expected {', '.join(fields)}")
    missing = [k for k in required if k not in value]
    if missing:
        raise Refused(f"missing field {missing[0]!r}")
    return value


def _query(request, name):
    value = request.query_params.get(name)
    if value is None or value == "":
        raise Refused(f"give the query parameter {name!r}")
    return value


# --- the page -------------------------------------------------------------------------


async def page(request):
    return FileResponse(STATIC / "index.html", media_type="text/html", headers=NO_STORE)


async def openapi(request):
    return JSONResponse(spec())


# --- models ---------------------------------------------------------------------------


async def models(request):
    listing = await run_in_threadpool(_served(request).registry.listing)
    return JSONResponse({"models": listing}, headers=NO_STORE)


async def predict(request):
    body = await read_json(request, ("model", "inputs"), required=("inputs",))
    registry = _served(request).registry

    def work():
        served = registry.get(body.get("model"))
        X = rows(body["inputs"], served.model.n_features)
        return {"model": served.name, **served.predict(X)}

    return JSONResponse(await run_in_threadpool(work))


async def activations(request):
    body = await read_json(request, ("model", "drawing", "input"))
    if ("drawing" in body) == ("input" in body):
        raise Refused(
            'give either "drawing" (ink from 0 to 1, rows of cells) or "input" (one row of input values)'
        )
    registry = _served(request).registry

    def work():
        served = registry.get(body.get("model"))
        if "drawing" in body:
            return served.look(drawing=drawing(body["drawing"]))
        return served.look(row=one_row(body["input"], served.model.n_features))

    return JSONResponse(await run_in_threadpool(work))


async def weights(request):
    registry = _served(request).registry
    name = request.query_params.get("model")
    return JSONResponse(await run_in_threadpool(lambda: registry.get(name).weights()))


# --- training -------------------------------------------------------------------------


async def settings(request):
    return JSONResponse(
        {
            "settings": settings_form(),
            "defaults": "the tutorial's 64-48-32-10 sigmoid network on the digits, full-batch SGD "
            "with momentum, 1000 epochs",
        }
    )


async def train_status(request):
    return JSONResponse(_served(request).trainer.status(), headers=NO_STORE)


async def train_start(request):
    body = await read_json(request, ("settings",))
    trainer = _served(request).trainer
    return JSONResponse(await run_in_threadpool(trainer.start, body.get("settings")))


async def train_stop(request):
    await read_json(request, ())
    return JSONResponse(_served(request).trainer.stop())


async def train_resume(request):
    body = await read_json(request, ("run", "epochs"), required=("run",))
    trainer = _served(request).trainer
    return JSONResponse(await run_in_threadpool(trainer.resume, body["run"], body.get("epochs")))


async def train_events(request):
    headers = {**NO_STORE, "x-accel-buffering": "no"}
    return StreamingResponse(
        _served(request).trainer.events(), media_type="text/event-stream", headers=headers
    )


# --- runs -----------------------------------------------------------------------------


async def runs(request):
    served = _served(request)

    def work():
        listing = [served.runs.summary(run) for run in served.runs.runs(fresh=True).values()]
        session = served.trainer.session
        if session is not None and not session.done.is_set():
            for entry in listing:
                if entry["id"] == session.run_id:
                    entry["status"] = "training"
        return {
            "runs": listing,
            "folders": [str(f) for f in served.folders],
            "trainings_go_to": str(served.root),
        }

    return JSONResponse(await run_in_threadpool(work), headers=NO_STORE)


async def run_curves(request):
    served = _served(request)
    run_id = _query(request, "id")

    def work():
        run = served.runs.get(run_id)
        curves = served.runs.curves(run)
        session = served.trainer.session
        if session is not None and session.run_id == run_id and not session.done.is_set():
            records = list(session.epochs)
            names = ("train_loss", "val_loss", "train_accuracy", "val_accuracy")
            curves = {name: [r.get(name) for r in records] for name in names}
        return {"id": run.id, "name": run.folder.name, "curves": curves}

    return JSONResponse(await run_in_threadpool(work), headers=NO_STORE)


async def run_report(request):
    served = _served(request)
    run_id = _query(request, "id")

    def work():
        run = served.runs.get(run_id)
        markdown = None
        if run.has("report.md"):
            path, _ = served.runs.file(run_id, "report.md")
            markdown = path.read_text(errors="replace")
        return {"id": run.id, "summary": served.runs.summary(run), "markdown": markdown}

    return JSONResponse(await run_in_threadpool(work), headers=NO_STORE)


async def run_file(request):
    served = _served(request)
    run_id, name = _query(request, "id"), _query(request, "name")
    try:
        path, kind = await run_in_threadpool(served.runs.file, run_id, name)
    except NotFound:
        raise
    except LayerwiseError as e:  # any other problem with the name reads as no such file
        raise NotFound(str(e)) from None
    headers = {"x-content-type-options": "nosniff", **NO_STORE}
    return FileResponse(path, media_type=kind, headers=headers)
