"""Export a model file to ONNX: the whole inference path, preprocessing included, with
class probabilities as output (a regression model's outputs). A run that did not finish
(stopped by Ctrl-C or killed) has no model file yet: its checkpoint's weights are
exported, as a line on stderr says.

examples:
  layerwise export runs/20260101-120000-train --onnx model.onnx
  layerwise export model.safetensors --onnx model.onnx
"""

import sys


def add_arguments(p):
    p.add_argument(
        "model", help="a model file, or a run directory (its checkpoint if the run did not finish)"
    )
    p.add_argument("--onnx", required=True, metavar="OUT", help="the ONNX file to write")


def run(args):
    from ..io.model_file import load_model_or_checkpoint
    from ..io.onnx_export import to_onnx

    source = load_model_or_checkpoint(args.model)
    if source.note:
        print(f"layerwise export: {source.note}", file=sys.stderr)
    model = source.model
    proto = to_onnx(model, args.onnx)
    output = proto.graph.output[0].name  # "probabilities", or "outputs" for a regression
    print(
        f"wrote {args.onnx}: input 'input' [batch, {model.n_features}], output '{output}' "
        f"[batch, {model.network.n_outputs}]"
    )
