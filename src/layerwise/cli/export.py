"""Export a model file to ONNX: the whole inference path, preprocessing included, with
class probabilities as output.

examples:
  layerwise export runs/20260101-120000-train --onnx model.onnx
  layerwise export model.safetensors --onnx model.onnx
"""


def add_arguments(p):
    p.add_argument("model", help="a model file, or a run directory holding model.safetensors")
    p.add_argument("--onnx", required=True, metavar="OUT", help="the ONNX file to write")


def run(args):
    from ..io.model_file import load
    from ..io.onnx_export import to_onnx

    model = load(args.model)
    to_onnx(model, args.onnx)
    print(
        f"wrote {args.onnx}: input 'input' [batch, {model.n_features}], output 'probabilities' "
        f"[batch, {model.n_classes}]"
    )
