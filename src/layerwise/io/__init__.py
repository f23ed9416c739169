"""Files: model files (safetensors + JSON), checkpoints, ONNX export, atomic writes.
Imports layerwise.nn (and layerwise.errors); never data, experiments, reports or cli."""
