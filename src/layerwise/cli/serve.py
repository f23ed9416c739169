"""Serve a local web app: draw a digit and watch every layer respond, train a network and
watch its curves live, compare runs.

Give run directories, model files or folders of runs (default: runs/). The app has three
pages: Draw (a canvas, downsampled to the chosen model's input, 8x8 digits or 28x28
MNIST-format images, MLPs and convolutional networks; the predicted class and its
probabilities, every layer's output, the first layer's weights), Train live (any setting
of the training configuration, the tutorial's network on the digits by default; the loss,
accuracy and each layer's gradient norm per epoch; stop keeps the checkpoint, resume goes
on; one training at a time) and Runs (every run directory served: reports, figures,
curves of several runs overlaid). A JSON API backs them: POST /api/predict, GET
/api/models, ... (described at /api/openapi.json).

The app listens on 127.0.0.1 unless --host says otherwise (then a warning: anyone who can
reach the machine can use it), answers only requests that name the served host (add
names with --allow-host), and reads request bodies of at most 2 MiB. Trainings started
from the page write run directories into --runs (default: the first folder of runs given,
else runs/).

examples:
  layerwise serve                                # the runs in runs/, on http://127.0.0.1:8000/
  layerwise serve runs/20261130-120000-train    # one run
  layerwise serve model.safetensors runs/ --port 8080
  layerwise serve runs/ --host 0.0.0.0 --allow-host lab-machine.local
"""


def add_arguments(p):
    p.add_argument(
        "paths",
        nargs="*",
        metavar="RUN_DIR | MODEL_FILE | RUNS_FOLDER",
        help="run directories, model files and folders of runs to serve (default: runs/)",
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)"
    )
    p.add_argument(
        "--port", type=int, default=8000, help="port to listen on (default 8000; 0: any free port)"
    )
    p.add_argument(
        "--runs",
        default=None,
        metavar="FOLDER",
        help="where trainings started from the page go (default: the first folder of runs given, else runs/)",
    )
    p.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="another name requests may give in their Host header (repeatable)",
    )
    p.add_argument("--data-dir", default=None, help="where named datasets live, for trainings")


def run(args):
    from ..errors import LayerwiseError

    try:
        from ..serve.app import serve
    except ImportError as e:
        raise LayerwiseError(
            f"layerwise serve needs the web app's packages ({e.name} is missing): "
            "pip install 'layerwise[serve]'"
        ) from None
    if not 0 <= args.port <= 65535:
        raise LayerwiseError(f"--port must be from 0 to 65535, not {args.port}")
    serve(
        args.paths,
        host=args.host,
        port=args.port,
        runs_folder=args.runs,
        allow_hosts=args.allow_host,
        data_dir=args.data_dir,
    )
    return 0
