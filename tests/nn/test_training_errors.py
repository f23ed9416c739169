"""Training that cannot work is refused at the first moment it can be known."""

import numpy as np
import pytest

import layerwise as lw
from layerwise.sklearn import LayerwiseClassifier


def test_fit_refuses_a_single_class_and_validation_classes_absent_from_training(blobs):
    X, y = blobs
    net = lw.Network.from_spec("5-4-3", seed=0)
    with pytest.raises(lw.LayerwiseError, match="only one class"):
        lw.fit(net, X, np.zeros(len(X), int), epochs=1)
    with pytest.raises(lw.LayerwiseError, match="validation set has class 2"):
        lw.fit(net, X[y < 2], y[y < 2], epochs=1, validation_data=(X, y))
    lw.fit(net, X[:5], np.zeros(5, int), epochs=1, check_classes=False)  # one batch of a stream


def test_more_features_at_prediction_than_at_training(blobs):
    X, y = blobs
    net = lw.Network.from_spec("5-4-3", seed=0)
    lw.fit(net, X, y, epochs=1)
    wider = np.hstack([X, X[:, :1]])
    with pytest.raises(lw.LayerwiseError, match="6 features but the network expects 5"):
        net.predict(wider)
    with pytest.raises(lw.LayerwiseError, match="6 features"):
        lw.Model(net).predict(wider)
    clf = LayerwiseClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="6 features"):
        clf.predict(wider)


def test_the_estimator_refuses_a_single_class(blobs):
    X, _ = blobs
    with pytest.raises(ValueError, match="one class"):
        LayerwiseClassifier(max_iter=2).fit(X, np.ones(len(X)))
    clf = LayerwiseClassifier(max_iter=2, random_state=0)
    clf.partial_fit(X[:10], np.zeros(10), classes=[0, 1, 2])  # a batch of one class is fine
