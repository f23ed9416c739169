"""The local web app of ``layerwise serve``: draw a digit and watch every layer respond,
train a network and watch its curves live, compare runs.

A Starlette application (``app.create_app``) served by uvicorn (``app.serve``), with a
JSON API under ``/api/`` (``api.py``, described by ``openapi.py``) and one page of HTML,
JavaScript and CSS (``static/``). The models it serves and their layers' activations are
in ``models.py``, the run directories it shows in ``runs.py`` and the one training it runs
at a time in ``live.py``.

Imports layerwise.experiments, layerwise.reports, layerwise.io, layerwise.data and
layerwise.nn (and starlette, uvicorn); never cli, which imports it.
"""
