"""Check backpropagation against finite differences for a network you describe.

Builds the network (--hidden, --activation, --output-activation, --dropout with one fixed
mask, or the layers of --layers on the digits' 8x8 images), takes --examples rows of the
digits (scaled to [0, 1]) and compares every parameter's gradient, L2 term included, with
central finite differences in float64. Prints the relative error per parameter and exits
1 if any is above --tolerance.

examples:
  layerwise gradcheck
  layerwise gradcheck --hidden 64,64,32 --activation relu --dropout 0.2 --l2 0.1
  layerwise gradcheck --layers conv3k3s2p1,tanh,avgpool2,bn,16,tanh --max-checks 50
"""

import numpy as np

from ..nn.config import positive_int
from .options import add_config_arguments, config_from_args

# The network's settings (the tutorial's by default, with an L2 strength of 0.1), in float64.
SETTINGS = ("hidden", "layers", "activation", "output_activation", "init", "dropout", "l2", "seed")


def add_arguments(p):
    from ..experiments.tutorial import TUTORIAL

    add_config_arguments(p, TUTORIAL.replace(l2=0.1), names=SETTINGS)
    p.add_argument("--examples", default="20", help="digits rows to use (default 20)")
    p.add_argument("--max-checks", default=None, help="entries checked per parameter (default: all)")
    p.add_argument(
        "--tolerance", type=float, default=1e-6, help="largest relative error that passes (default 1e-6)"
    )


def run(args):
    import layerwise as lw

    from ..data.digits import tutorial_split
    from ..experiments.tutorial import IMAGE_SHAPE, TUTORIAL

    config = config_from_args(args, TUTORIAL.replace(l2=0.1, dtype="float64"))
    n = positive_int(args.examples, "--examples")
    max_checks = None if args.max_checks is None else positive_int(args.max_checks, "--max-checks")
    net = config.network(64, 10, image_shape=IMAGE_SHAPE)
    for layer in net.layers:  # biases off zero keep pre-activations away from ReLU's kink
        bias = getattr(layer, "bias", None)
        if bias is not None:
            bias.value[:] = np.random.default_rng(config.seed).uniform(0.05, 0.3, bias.value.shape)
    data = tutorial_split()
    X, y = data["X_train"][:n] / 16, data["y_train"][:n]
    errors = lw.gradcheck(net, X, y, l2=config.l2, max_checks=max_checks, seed=config.seed)
    print(f"{'parameter':<12} {'shape':>10}  relative error")
    shapes = {name: p.value.shape for name, p in net.named_parameters()}
    for name, error in errors.items():
        verdict = "ok" if error <= args.tolerance else "WRONG"
        print(f"{name:<12} {'x'.join(map(str, shapes[name])):>10}  {error:.2e}  {verdict}")
    worst = max(errors.values())
    print(f"largest relative error {worst:.2e} ({'passes' if worst <= args.tolerance else 'fails'} "
          f"the tolerance {args.tolerance:g})")  # fmt: skip
    return 0 if worst <= args.tolerance else 1
