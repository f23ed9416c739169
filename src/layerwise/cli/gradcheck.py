"""Check backpropagation against finite differences for a network you describe.

Builds the network (--hidden, --activation, --output-activation, --dropout with one fixed
mask), takes --examples rows of the digits (scaled to [0, 1]) and compares every
parameter's gradient, L2 term included, with central finite differences in float64.
Prints the relative error per parameter and exits 1 if any is above --tolerance.

examples:
  layerwise gradcheck
  layerwise gradcheck --hidden 64,64,32 --activation relu --dropout 0.2 --l2 0.1
"""

import numpy as np

from ..errors import LayerwiseError
from .options import hidden_sizes, positive_int


def add_arguments(p):
    p.add_argument("--hidden", default="48,32", help="hidden layer sizes (default 48,32, the tutorial's)")
    p.add_argument(
        "--activation", default="sigmoid", help="sigmoid, tanh, relu or leaky_relu (default sigmoid)"
    )
    p.add_argument("--output-activation", default="sigmoid", help="before the softmax; 'none' for raw logits")
    p.add_argument(
        "--dropout", type=float, default=0.0, help="dropout after each hidden layer (one fixed mask)"
    )
    p.add_argument("--l2", type=float, default=0.1, help="the L2 strength lambda (default 0.1)")
    p.add_argument("--examples", default="20", help="digits rows to use (default 20)")
    p.add_argument("--max-checks", default=None, help="entries checked per parameter (default: all)")
    p.add_argument(
        "--tolerance", type=float, default=1e-6, help="largest relative error that passes (default 1e-6)"
    )
    p.add_argument("--seed", type=int, default=0)


def run(args):
    import layerwise as lw

    from ..data.digits import tutorial_split

    output = (
        None if args.output_activation.lower() in ("none", "identity", "linear") else args.output_activation
    )
    if args.l2 < 0:
        raise LayerwiseError(f"--l2 must be 0 or more, not {args.l2}")
    n = positive_int(args.examples, "--examples")
    max_checks = None if args.max_checks is None else positive_int(args.max_checks, "--max-checks")
    net = lw.Network.from_spec([64, *hidden_sizes(args.hidden), 10], activation=args.activation,
                               output_activation=output, dropout=args.dropout, dtype="float64",
                               seed=args.seed)  # fmt: skip
    for layer in net.linears:  # biases off zero keep pre-activations away from ReLU's kink
        layer.bias.value[:] = np.random.default_rng(args.seed).uniform(0.05, 0.3, layer.n_out)
    data = tutorial_split()
    X, y = data["X_train"][:n] / 16, data["y_train"][:n]
    errors = lw.gradcheck(net, X, y, l2=args.l2, max_checks=max_checks, seed=args.seed)
    print(f"{'parameter':<12} {'shape':>10}  relative error")
    shapes = {name: p.value.shape for name, p in net.named_parameters()}
    for name, error in errors.items():
        verdict = "ok" if error <= args.tolerance else "WRONG"
        print(f"{name:<12} {'x'.join(map(str, shapes[name])):>10}  {error:.2e}  {verdict}")
    worst = max(errors.values())
    print(f"largest relative error {worst:.2e} ({'passes' if worst <= args.tolerance else 'fails'} "
          f"the tolerance {args.tolerance:g})")  # fmt: skip
    return 0 if worst <= args.tolerance else 1
