"""The application of ``layerwise serve`` and the server that runs it.

``create_app(paths)`` builds the Starlette application for the model files, run
directories and folders of runs given; ``serve(paths, host, port)`` binds the address
and runs it with uvicorn until Ctrl-C (which stops a running training as the command's
Ctrl-C does: its checkpoint is written).

Every request passes ``Guard`` first, the rules of a server that only its user's own
browser should reach:

- the Host header must name the served host (127.0.0.1, localhost and [::1] for a
  loopback address; the address given, the machine's name and ``allow_hosts``
  otherwise): a page of another site that had its name resolve to 127.0.0.1 (DNS
  rebinding) is refused with 400;
- a request that changes something (POST) from a page of another site (an Origin
  header naming another host) is refused with 403, and POST bodies must be JSON
  (415 otherwise), which a page of another site cannot send without the server's leave;
- a request body over ``MAX_BODY`` bytes (2 MiB) is refused with 413, whether or not its
  Content-Length says so.

Errors are JSON ``{"error": "one line"}``: 400 for a request that is wrong (malformed
JSON, NaN, inputs of the wrong shape, an unknown model), 404 for what is not there, 409
for a second training; never a traceback.
"""

import ipaddress
import json
import socket
import sys
from contextlib import asynccontextmanager
from pathlib import Path

from ..errors import LayerwiseError
from .live import Trainer
from .models import ModelRegistry
from .refusals import Forbidden, TooLarge
from .runs import RUN_FILES, RunIndex

MAX_BODY = 2 * 1024 * 1024  # bytes of a request body, at most
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
DEFAULT_RUNS = "runs"  # where trainings go when no folder of runs is given


class Served:
    """What an application serves: the run folders and model files given, the models
    (``registry``), the runs (``runs``) and the training (``trainer``)."""

    def __init__(self, paths=(), runs_folder=None, data_dir=None):
        files, folders, run_dirs = [], [], []
        for given in paths:
            path = Path(given).expanduser()
            if path.is_file():
                files.append(path)
            elif path.is_dir():
                (run_dirs if any((path / name).is_file() for name in RUN_FILES) else folders).append(path)
            else:
                raise LayerwiseError(f"{given} is neither a model file, a run directory nor a folder of runs")
        self.root = Path(runs_folder) if runs_folder else (folders[0] if folders else Path(DEFAULT_RUNS))
        if self.root.exists() and not self.root.is_dir():
            raise LayerwiseError(f"--runs {self.root} is a file, not a folder")
        self.folders = list(dict.fromkeys(p.resolve() for p in [self.root, *folders, *run_dirs]))
        self.runs = RunIndex(self.folders)
        self.registry = ModelRegistry(files, self.runs)
        self.trainer = Trainer(self.root, self.runs, data_dir)
        self.files = files


def create_app(paths=(), *, runs_folder=None, host="127.0.0.1", allow_hosts=(), data_dir=None):
    """The Starlette application serving ``paths`` (model files, run directories, folders
    of runs), guarded for ``host`` (see ``Guard``).

    Parameters
    ----------
    paths : sequence of str or os.PathLike
        Model files, run directories and folders of runs to serve.
    runs_folder : str or os.PathLike, optional
        Where trainings started from the page write their run directories (default: the
        first folder of runs given, else ``runs``); its runs are served too.
    host : str, default "127.0.0.1"
        The address the server listens on; requests must name it (or, for a loopback
        address, localhost) in their Host header.
    allow_hosts : sequence of str, default ()
        Other names requests may give in their Host header.
    data_dir : str, optional
        Where named datasets live, for trainings (as ``layerwise train --data-dir``).

    Returns
    -------
    starlette.applications.Starlette
        The application; ``app.state.served`` is its ``Served``.

    Raises
    ------
    LayerwiseError
        If a path given does not exist, or ``runs_folder`` is a file.

    Examples
    --------
    >>> import tempfile
    >>> from starlette.testclient import TestClient
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     client = TestClient(create_app([folder]), base_url="http://127.0.0.1:8000")
    ...     client.get("/api/models").json()
    {'models': []}
    """
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.middleware import Middleware

    from . import api

    served = Served(paths, runs_folder, data_dir)

    @asynccontextmanager
    async def lifespan(app):
        yield
        served.trainer.shutdown()  # the server stops: a running training keeps its checkpoint

    app = Starlette(
        routes=api.routes(),
        middleware=[Middleware(Guard, hosts=hosts_for(host, allow_hosts))],
        exception_handlers={
            LayerwiseError: api.error_response,
            HTTPException: api.http_error_response,
            Exception: api.internal_error_response,
        },
        lifespan=lifespan,
    )
    app.state.served = served
    return app


def hosts_for(host, allow_hosts=()):
    """The names a request's Host header may give for a server listening on ``host``.

    Examples
    --------
    >>> sorted(hosts_for("127.0.0.1"))
    ['127.0.0.1', '::1', 'localhost']
    >>> sorted(hosts_for("192.168.1.20", ["lab.example"]))
    ['192.168.1.20', 'lab.example']
    """
    names = {host.lower().strip("[]"), *(name.lower() for name in allow_hosts)}
    if is_loopback(host):
        names.update(LOOPBACK_NAMES)
    if host in ("0.0.0.0", "::", ""):
        names.update(LOOPBACK_NAMES)
        names.add(socket.gethostname().lower())
    return names


def is_loopback(host):
    """Whether ``host`` is an address of this machine only (127.0.0.0/8, ::1, localhost).

    Examples
    --------
    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_name(header):
    """The host of a Host (or Origin) header's value, without the port, lowercased.

    Examples
    --------
    >>> host_name("127.0.0.1:8000"), host_name("[::1]:8000"), host_name("http://LocalHost:80")
    ('127.0.0.1', '::1', 'localhost')
    """
    value = header.strip().lower()
    if "://" in value:
        value = value.split("://", 1)[1].split("/", 1)[0]
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class Guard:
    """ASGI middleware: the Host header, the Origin of changes and the size of request
    bodies (see the module's docstring)."""

    def __init__(self, app, hosts):
        self.app, self.hosts = app, hosts

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host")
        if host is None or host_name(host) not in self.hosts:
            shown = "none" if host is None else repr(host[:100])
            await _refuse(send, 400, f"Host header {shown} is not a name this server serves")
            return
        origin = headers.get("origin")
        if scope["method"] not in ("GET", "HEAD") and origin is not None and origin != "null":
            if host_name(origin) not in self.hosts:
                await _refuse(send, Forbidden.status, f"requests from pages of {origin[:100]} are refused")
                return
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            if length.isdigit():
                await _refuse(send, TooLarge.status, too_large())
            else:
                await _refuse(send, 400, "the Content-Length header is not a number")
            return
        received = 0

        async def limited():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > MAX_BODY:
                    raise TooLarge(too_large())
            return message

        await self.app(scope, limited, send)


def too_large():
    return f"the request body is over the limit of {MAX_BODY // 2**20} MiB ({MAX_BODY} bytes)"


async def _refuse(send, status, message):
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def listening_socket(host, port):
    """A socket bound to ``host``:``port`` (port 0: a free one), or a one-line
    LayerwiseError saying why it cannot be."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise LayerwiseError(f"cannot listen on {host}:{port}: {e.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as e:
        sock.close()
        raise LayerwiseError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    return sock


def serve(paths=(), *, host="127.0.0.1", port=8000, runs_folder=None, allow_hosts=(), data_dir=None,
          announce=print):  # fmt: skip
    """Serves ``paths`` (see ``create_app``) on ``host``:``port`` with uvicorn until
    Ctrl-C. A host that is not a loopback address gets a warning on stderr: the app then
    answers every machine that reaches it."""
    import uvicorn

    app = create_app(paths, runs_folder=runs_folder, host=host, allow_hosts=allow_hosts, data_dir=data_dir)
    sock = listening_socket(host, port)
    port = sock.getsockname()[1]
    if not is_loopback(host):
        print(
            f"layerwise serve: warning: listening on {host}, not on a loopback address: anyone who can "
            "reach this machine can use the app, start trainings and read the run folders",
            file=sys.stderr,
        )
    shown = f"[{host}]" if ":" in host else host
    served = app.state.served
    announce(f"layerwise serve: http://{shown}:{port}/  (Ctrl-C to stop)")
    announce(f"models and runs from: {', '.join(str(p) for p in [*served.files, *served.folders])}")
    announce(f"trainings go to: {served.root}")
    config = uvicorn.Config(app, log_level="warning", server_header=False, timeout_graceful_shutdown=5)

    stopped = []

    class Server(uvicorn.Server):
        def handle_exit(self, sig, frame):
            # Ctrl-C: a running training stops at once and writes its checkpoint, so that the
            # page's stream of its epochs ends and the server can close every connection
            stopped.append(served.trainer.stop_now())
            super().handle_exit(sig, frame)

    Server(config).run(sockets=[sock])
    served.trainer.shutdown()
    for session in filter(None, stopped[:1]):
        print(f"layerwise serve: the training {session.run_id} {session.message}", file=sys.stderr)
