"""The tutorial's experiment, written out as the tutorial writes it: the project's oracle.

The tutorial ("Yet another introduction to Neural Networks") builds its network from small
objects, each with a ``forward`` and a ``backward`` method, in column-major NumPy: every
example is a column, so a state A has shape (n_features, N), and a linear map is

    Y = W^T A + b,    W of shape (n_in, n_out),  b a column of shape (n_out, 1).

This module follows it piece by piece, in float64 and without any of layerwise's code, so
that the tests can check layerwise's tutorial-faithful configuration against it and the
benchmark can time the tutorial's own algorithm:

  * ``LinearUpdate``      Y = W^T A + b;  grad_W = A grad_Y^T, grad_b = sum_i grad_Y, grad_A = W grad_Y
  * ``LogisticUpdate``    Y = sigmoid(Z); grad_Z = Y (1 - Y) grad_Y
  * ``SoftmaxClassifier`` P = softmax(A) per column; grad = P - I (summed over the batch, not
                          yet divided by N); cross-entropy -1/N sum log(P[T_i, i] + 1e-30)
  * ``Layer``             a LinearUpdate followed by a LogisticUpdate
  * ``Network``           64 -> 48 -> 32 -> 10, a Layer per linear map (the output included),
                          then the SoftmaxClassifier; loss = cross-entropy + lambda/(2N) sum ||W||^2

Training is full batch with momentum, V <- 0.9 V - 0.2 grad / N and W <- W + V, where grad
is the batch-summed gradient, + lambda W for the weights (the biases are not penalised).

The benchmark (bench/tutorial_experiment.py) times ``run_experiment()``.
"""

import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

LEARNING_RATE, MOMENTUM = 0.2, 0.9
SIZES = (64, 48, 32, 10)  # 8x8 pixels in, two hidden layers, ten digits out
LAMBDAS = np.logspace(-2, 2, 10)  # the L2 strengths the tutorial compares


def split_digits():
    """The tutorial's data: flattened 8x8 digits, unscaled, split 721 / 482 / 594.

    Returns (X_train, X_valid, X_test, y_train, y_valid, y_test) with one example per row,
    as scikit-learn hands them out; the network transposes them into columns.
    """
    digits = load_digits()
    n_samples = len(digits["images"])
    data = digits["images"].reshape((n_samples, -1))
    targets = digits["target"]
    X, X_test, y, y_test = train_test_split(data, targets, test_size=0.33, random_state=111)
    X_train, X_valid, y_train, y_valid = train_test_split(X, y, test_size=0.40, random_state=123)
    return X_train, X_valid, X_test, y_train, y_valid, y_test


def sigmoid(Z):
    return 1.0 / (1.0 + np.exp(-Z))


def softmax(Y):
    """Column-wise softmax; each column's maximum is subtracted first, which changes nothing."""
    Y = Y - np.max(Y, axis=0)
    E = np.exp(Y)
    return E / np.sum(E, axis=0)


def one_hot(T, K):
    """The K x N indicator matrix I with I[k, i] = 1 when T_i = k."""
    return np.eye(K)[:, T]


class LinearUpdate:
    """Y = W^T A + b."""

    def __init__(self, n_in, n_out, W=None, b=None, rng=None):
        if W is None:
            rng = np.random.default_rng() if rng is None else rng
            eps = np.sqrt(6.0) / np.sqrt(n_in + n_out)
            W = rng.uniform(-eps, eps, (n_in, n_out))
        self.W = W
        self.b = np.zeros((n_out, 1)) if b is None else b

    def forward(self, A):
        return self.W.T @ A + self.b

    def backward(self, A, gY):
        """From grad_Y (n_out x N) to grad_A, grad_W and grad_b, all summed over the batch."""
        gW = A @ gY.T  # dL/dW_ln = sum_i A_li gY_ni
        gA = self.W @ gY  # dL/dA_li = sum_j W_lj gY_ji
        gb = np.sum(gY, axis=1, keepdims=True)  # dL/db_l = sum_i gY_li
        return gA, gW, gb


class LogisticUpdate:
    """Y = sigmoid(Z)."""

    def forward(self, Z):
        return sigmoid(Z)

    def backward(self, Y, gY):
        return Y * (1.0 - Y) * gY  # dL/dZ = dL/dY * Y (1 - Y)


class SoftmaxClassifier:
    """Class probabilities P (K x N) from the output state, and the cross-entropy."""

    def forward(self, A):
        return softmax(A)

    def backward(self, P, T):
        """N dL/dA for the mean cross-entropy: P - I, not yet divided by the number of examples."""
        return P - one_hot(T, P.shape[0])

    def cross_entropy(self, P, T):
        return -np.sum(one_hot(T, P.shape[0]) * np.log(P + 1e-30)) / P.shape[1]


class Layer:
    """A linear update followed by the sigmoid."""

    def __init__(self, n_in, n_out, W=None, b=None, rng=None):
        self.linear = LinearUpdate(n_in, n_out, W, b, rng)
        self.logistic = LogisticUpdate()

    def forward(self, A):
        return self.logistic.forward(self.linear.forward(A))

    def backward(self, A, Y, gY):
        """A is this layer's input, Y its output and gY the gradient arriving at Y."""
        gZ = self.logistic.backward(Y, gY)
        return self.linear.backward(A, gZ)


class Network:
    """The tutorial's network: one Layer per pair of sizes, then the softmax classifier."""

    def __init__(self, weights):
        """weights: a list of (W, b) per layer, W (n_in x n_out) and b (n_out x 1)."""
        self.layers = [Layer(W.shape[0], W.shape[1], W, b) for W, b in weights]
        self.classifier = SoftmaxClassifier()

    @property
    def weights(self):
        return [(layer.linear.W, layer.linear.b) for layer in self.layers]

    def forward(self, X):
        """X holds one example per row. Returns the states [A_1, ..., A_L] (A_1 = X^T) and P."""
        states = [X.T]
        for layer in self.layers:
            states.append(layer.forward(states[-1]))
        return states, self.classifier.forward(states[-1])

    def loss(self, P, T, lam):
        """Mean cross-entropy plus lambda/(2N) times the sum of the squared weights."""
        N = P.shape[1]
        penalty = sum(np.sum(W**2) for W, _ in self.weights)
        return self.classifier.cross_entropy(P, T) + lam / (2.0 * N) * penalty

    def backward(self, states, P, T, lam):
        """The batch-summed gradients [(grad_W, grad_b), ...] per layer, N times those of the loss.

        The weight gradients carry + lambda W, the L2 term's share; the biases carry nothing.
        """
        gY = self.classifier.backward(P, T)
        grads = []
        for k in range(len(self.layers) - 1, -1, -1):
            gY, gW, gb = self.layers[k].backward(states[k], states[k + 1], gY)
            grads.append((gW + lam * self.layers[k].linear.W, gb))
        return grads[::-1]

    def predict(self, X):
        return self.forward(X)[1].argmax(axis=0)


def init_weights(sizes=SIZES, rng=None):
    """The tutorial's initial weights: W uniform in +-sqrt(6/(n_in + n_out)), b = 0 (a column)."""
    rng = rng if rng is not None else np.random.default_rng()
    weights = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        linear = LinearUpdate(n_in, n_out, rng=rng)
        weights.append((linear.W, linear.b))
    return weights


def train(
    X_train,
    y_train,
    lam,
    X_valid=None,
    y_valid=None,
    weights=None,
    epochs=1000,
    learning_rate=LEARNING_RATE,
    momentum=MOMENTUM,
    sizes=SIZES,
    rng=None,
):
    """Full-batch gradient descent with momentum, as in the tutorial. Returns (weights, history).

    ``weights`` (a list of (W, b)) is copied, never changed; without it the network starts
    from ``init_weights(sizes, rng)``. history["train"][e] is the training loss of epoch e's
    forward pass, before that epoch's update; history["validation"][e], when validation data
    is given, is the validation loss with the weights after the update.
    """
    if weights is None:
        weights = init_weights(sizes, rng)
    net = Network([(W.copy(), b.copy()) for W, b in weights])
    velocities = [(np.zeros_like(W), np.zeros_like(b)) for W, b in net.weights]
    N = X_train.shape[0]
    history = {"train": [], "validation": []}
    for _ in range(epochs):
        states, P = net.forward(X_train)
        history["train"].append(net.loss(P, y_train, lam))
        grads = net.backward(states, P, y_train, lam)
        for k, (layer, (gW, gb)) in enumerate(zip(net.layers, grads)):
            vW, vb = velocities[k]
            vW = momentum * vW - learning_rate * gW / N
            vb = momentum * vb - learning_rate * gb / N
            velocities[k] = (vW, vb)
            layer.linear.W = layer.linear.W + vW
            layer.linear.b = layer.linear.b + vb
        if X_valid is not None:
            _, P_valid = net.forward(X_valid)
            history["validation"].append(net.loss(P_valid, y_valid, lam))
    return net.weights, history


def accuracy(weights, X, y):
    """The fraction of the rows of X whose most probable class is y."""
    return float(np.mean(Network(weights).predict(X) == y))


def run_experiment(epochs=1000, seed=0):
    """The tutorial's lambda sweep, the retraining with the best lambda, and its test accuracy.

    One generator seeded with ``seed`` draws every network's initial weights in turn.
    ``seconds`` is the time of the computation (sweep and retraining), loading the data aside.
    """
    parts = split_digits()
    (X_train, X_valid, X_test), (y_train, y_valid, y_test) = parts[:3], parts[3:]
    generator = np.random.default_rng(seed)
    clock = time.perf_counter()
    validation_accuracy = [
        accuracy(train(X_train, y_train, lam, epochs=epochs, rng=generator)[0], X_valid, y_valid)
        for lam in LAMBDAS
    ]
    best_lambda = float(LAMBDAS[int(np.argmax(validation_accuracy))])
    final, _ = train(X_train, y_train, best_lambda, epochs=epochs, rng=generator)
    test_accuracy = accuracy(final, X_test, y_test)
    return {
        "lambdas": LAMBDAS.tolist(),
        "validation_accuracy": validation_accuracy,
        "best_lambda": best_lambda,
        "test_accuracy": test_accuracy,
        "seconds": time.perf_counter() - clock,
    }
