"""The tutorial's network trained with layerwise on scikit-learn's digits.

python examples/tutorial_network.py
"""

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import layerwise as lw

digits = load_digits()
X, X_test, y, y_test = train_test_split(digits.data, digits.target, test_size=0.33, random_state=111)
X_train, X_valid, y_train, y_valid = train_test_split(X, y, test_size=0.40, random_state=123)

net = lw.Network(
    [
        lw.Linear(64, 48, seed=1),
        lw.Sigmoid(),
        lw.Linear(48, 32, seed=2),
        lw.Sigmoid(),
        lw.Linear(32, 10, seed=3),
        lw.Sigmoid(),
    ],
    loss=lw.SoftmaxCrossEntropy(),
)
history = lw.fit(
    net,
    X_train,
    y_train,
    optimizer=lw.SGD(lr=0.2, momentum=0.9),
    epochs=1000,
    batch_size=None,
    l2=0.6,
    validation_data=(X_valid, y_valid),
    seed=0,
)
print(f"validation accuracy {history.val_accuracy[-1]:.4f}")
print(f"test accuracy {(net.predict(X_test) == y_test).mean():.4f}")
