"""What people run: the tutorial's experiment, a training run, hyperparameter search and
the backends that run trainings (local processes, Dask). Imports layerwise.io,
layerwise.data and layerwise.nn; never reports or cli."""
