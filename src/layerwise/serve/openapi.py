"""The OpenAPI 3.1 description of the app's JSON API, served at ``GET /api/openapi.json``
(any OpenAPI viewer or client generator reads it)."""

from .._version import __version__

ERROR = {
    "type": "object",
    "properties": {"error": {"type": "string", "description": "what is wrong, in one line"}},
    "required": ["error"],
}
ENCODED = {
    "type": "object",
    "description": "an array as bytes to paint: each value mapped to 0..255 (diverging: 127.5 is zero and "
    "0, 255 are -m, +m for m the largest absolute value; sequential: 0, 255 are min, max), in base64, in "
    "C order",
    "properties": {
        "shape": {"type": "array", "items": {"type": "integer"}},
        "min": {"type": "number"},
        "max": {"type": "number"},
        "scale": {"enum": ["diverging", "sequential"]},
        "data": {"type": "string", "contentEncoding": "base64"},
    },
}
MODEL = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "description": "a model file's name, or a run's id"},
        "path": {"type": "string"},
        "file": {"type": "string", "description": "the file read: the model file, or a checkpoint"},
        "note": {"type": ["string", "null"], "description": "which checkpoint's weights are used"},
        "dataset": {"type": ["string", "null"]},
        "network": {"type": "string", "description": "64-48-32-10, or 1x8x8 -> conv8k3p1,relu,..."},
        "n_features": {"type": "integer", "description": "raw input values per row"},
        "input_shape": {"type": "array", "items": {"type": "integer"}},
        "classes": {
            "type": ["array", "null"],
            "description": "the label of each output (null: a regression)",
        },
        "classifier": {"type": "boolean"},
        "image": {
            "type": ["object", "null"],
            "description": "the grey images the model takes (null: it takes other rows)",
            "properties": {
                "shape": {"type": "array", "items": {"type": "integer"}},
                "pixel_max": {"type": "number"},
                "polarity": {"enum": ["dark_background", "light_background", None]},
                "framing": {"enum": ["mnist", "fill", "none", None]},
            },
        },
        "layers": {"type": "array", "items": {"type": "object"}},
        "parameters": {"type": "integer"},
        "error": {"type": ["string", "null"], "description": "why the model file cannot be used"},
    },
}
SETTINGS = {
    "type": "object",
    "description": "training settings by name (the fields of layerwise.TrainConfig), each as its text as "
    'the command line takes it (e.g. hidden: "48,32", batch_size: "full"), a number, or true/false; '
    "the others keep the tutorial's values",
    "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
}
STATUS = {
    "type": "object",
    "description": "the current (or last) training",
    "properties": {
        "training": {"type": ["integer", "null"]},
        "state": {
            "enum": ["idle", "starting", "running", "writing", "finished", "stopped", "diverged", "failed"]
        },
        "run": {"type": ["string", "null"], "description": "the run's id"},
        "folder": {"type": "string"},
        "epochs_total": {"type": "integer"},
        "epochs_done": {"type": "integer"},
        "epochs": {"type": "array", "items": {"$ref": "#/components/schemas/Epoch"}},
        "message": {"type": ["string", "null"], "description": "how it ended"},
    },
}
EPOCH = {
    "type": "object",
    "properties": {
        "epoch": {"type": "integer", "description": "from 1"},
        "train_loss": {"type": ["number", "null"]},
        "val_loss": {"type": ["number", "null"]},
        "train_accuracy": {"type": ["number", "null"]},
        "val_accuracy": {"type": ["number", "null"]},
        "lr": {"type": ["number", "null"]},
        "seconds": {"type": ["number", "null"]},
        "grad_norms": {
            "type": "object",
            "description": "each Linear layer's and convolution's weight-gradient norm at the epoch's "
            "last step",
            "additionalProperties": {"type": ["number", "null"]},
        },
    },
}


def _json(schema):
    return {"content": {"application/json": {"schema": schema}}}


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _answer(description, schema=None):
    answer = {"description": description}
    if schema is not None:
        answer.update(_json(schema))
    return answer


def _errors(*codes):
    words = {
        400: "a wrong request: malformed JSON, NaN, wrong shapes, an unknown model or setting",
        404: "no such run or file (also any path outside the served run folders)",
        409: "a training is already running (or none is, to stop)",
        413: "a request body over 2 MiB",
        415: "a request body that is not JSON",
    }
    return {str(code): _answer(words[code], _ref("Error")) for code in codes}


def _query(name, description):
    return {
        "name": name,
        "in": "query",
        "required": True,
        "schema": {"type": "string"},
        "description": description,
    }


def spec():
    """The OpenAPI document, as a dict.

    Examples
    --------
    >>> document = spec()
    >>> document["openapi"], sorted(document["paths"])[:3]
    ('3.1.0', ['/api/activations', '/api/models', '/api/predict'])
    """
    body_errors = (400, 413, 415)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "layerwise serve",
            "version": __version__,
            "description": "The JSON API of `layerwise serve`: predictions, every layer's activations, "
            'live training and runs. Errors are {"error": "one line"}.',
        },
        "paths": {
            "/api/models": {
                "get": {
                    "summary": "The models served",
                    "responses": {
                        "200": _answer(
                            "every model",
                            {
                                "type": "object",
                                "properties": {"models": {"type": "array", "items": _ref("Model")}},
                            },
                        )
                    },
                }
            },
            "/api/predict": {
                "post": {
                    "summary": "Predictions for rows in the model's raw input space",
                    "description": "Rows as `layerwise predict` reads them from CSV or NPZ: raw values, "
                    "which "
                    "the model's preprocessing scales. Each row may also be an image of the model's input "
                    "shape.",
                    "requestBody": {
                        "required": True,
                        **_json(
                            {
                                "type": "object",
                                "properties": {
                                    "model": {
                                        "type": "string",
                                        "description": "optional when one model is served",
                                    },
                                    "inputs": {
                                        "type": "array",
                                        "items": {"type": "array"},
                                        "minItems": 1,
                                        "maxItems": 10000,
                                    },
                                },
                                "required": ["inputs"],
                            }
                        ),
                    },
                    "responses": {
                        "200": _answer(
                            "one prediction per row",
                            {
                                "type": "object",
                                "properties": {
                                    "model": {"type": "string"},
                                    "predictions": {
                                        "type": "array",
                                        "description": "class labels (a regression's outputs)",
                                    },
                                    "probabilities": {
                                        "type": ["array", "null"],
                                        "items": {"type": "array", "items": {"type": "number"}},
                                    },
                                },
                            },
                        ),
                        **_errors(*body_errors),
                    },
                }
            },
            "/api/activations": {
                "post": {
                    "summary": "A drawing's (or one row's) prediction and the output of every layer",
                    "description": "`drawing`: ink from 0 to 1, 8 to 1024 cells a side, prepared as "
                    "`layerwise "
                    "predict` prepares a PNG of it (framed, resized, scaled to the model's pixel values).",
                    "requestBody": {
                        "required": True,
                        **_json(
                            {
                                "type": "object",
                                "properties": {
                                    "model": {"type": "string"},
                                    "drawing": {
                                        "type": "array",
                                        "items": {"type": "array", "items": {"type": "number"}},
                                    },
                                    "input": {"type": "array", "items": {"type": "number"}},
                                },
                            }
                        ),
                    },
                    "responses": {
                        "200": _answer(
                            "the prediction, the model's input and every layer's output",
                            {
                                "type": "object",
                                "properties": {
                                    "prediction": {},
                                    "probabilities": {"type": ["array", "null"], "items": {"type": "number"}},
                                    "input": _ref("Encoded"),
                                    "layers": {
                                        "type": "array",
                                        "items": {
                                            "allOf": [
                                                _ref("Encoded"),
                                                {
                                                    "properties": {
                                                        "index": {"type": "integer"},
                                                        "type": {"type": "string"},
                                                        "label": {"type": "string"},
                                                    }
                                                },
                                            ]
                                        },
                                    },
                                },
                            },
                        ),
                        **_errors(*body_errors),
                    },
                }
            },
            "/api/weights": {
                "get": {
                    "summary": "The first layer's weights as images, one colour scale for all",
                    "parameters": [{**_query("model", "a model's name"), "required": False}],
                    "responses": {
                        "200": _answer("the tiles (null when there is nothing to show as images)"),
                        **_errors(400),
                    },
                }
            },
            "/api/settings": {
                "get": {
                    "summary": "The training settings: name, kind, group, help, choices and default (the "
                    "tutorial's)",
                    "responses": {"200": _answer("the settings")},
                }
            },
            "/api/train": {
                "get": {
                    "summary": "The current training",
                    "responses": {"200": _answer("status", _ref("Status"))},
                },
                "post": {
                    "summary": "Start a training (one at a time) in a new run directory",
                    "requestBody": {
                        "required": False,
                        **_json({"type": "object", "properties": {"settings": _ref("Settings")}}),
                    },
                    "responses": {"200": _answer("started", _ref("Status")), **_errors(400, 409, 413, 415)},
                },
            },
            "/api/train/stop": {
                "post": {
                    "summary": "Stop the training; its run keeps the checkpoint of its last epoch",
                    "responses": {"200": _answer("stopping", _ref("Status")), **_errors(409)},
                }
            },
            "/api/train/resume": {
                "post": {
                    "summary": "Resume a run from its checkpoint (to `epochs` in total when given)",
                    "requestBody": {
                        "required": True,
                        **_json(
                            {
                                "type": "object",
                                "properties": {
                                    "run": {"type": "string"},
                                    "epochs": {"type": "integer", "minimum": 1},
                                },
                                "required": ["run"],
                            }
                        ),
                    },
                    "responses": {"200": _answer("resumed", _ref("Status")), **_errors(400, 404, 409)},
                }
            },
            "/api/train/events": {
                "get": {
                    "summary": "Server-sent events of the training: `status` (with the epochs so far), one "
                    "`epoch` per epoch, `status` on a change of state, `end`; the stream ends with the "
                    "training",
                    "responses": {
                        "200": {"description": "text/event-stream", "content": {"text/event-stream": {}}}
                    },
                }
            },
            "/api/runs": {
                "get": {
                    "summary": "Every run directory under the folders served, newest first",
                    "responses": {"200": _answer("the runs")},
                }
            },
            "/api/runs/curves": {
                "get": {
                    "summary": "A run's loss and accuracy per epoch",
                    "parameters": [_query("id", "the run's id")],
                    "responses": {"200": _answer("the curves"), **_errors(404)},
                }
            },
            "/api/runs/report": {
                "get": {
                    "summary": "A run's report.md and summary",
                    "parameters": [_query("id", "the run's id")],
                    "responses": {"200": _answer("the report"), **_errors(404)},
                }
            },
            "/api/runs/file": {
                "get": {
                    "summary": "A file of a run (figures, reports): only a file directly inside the run "
                    "directory, by name",
                    "parameters": [_query("id", "the run's id"), _query("name", "the file's name")],
                    "responses": {"200": {"description": "the file"}, **_errors(404)},
                }
            },
        },
        "components": {
            "schemas": {
                "Error": ERROR,
                "Encoded": ENCODED,
                "Model": MODEL,
                "Settings": SETTINGS,
                "Status": STATUS,
                "Epoch": EPOCH,
            }
        },
    }
