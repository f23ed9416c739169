"""The tutorial's network trained with layerwise on scikit-learn's digits.

python examples/tutorial_network.py
"""

import layerwise as lw
from layerwise.data import load_digits

digits = load_digits()  # the tutorial's split: 721 train / 482 validation / 594 test, values 0..16

net = lw.Network(
    [lw.Linear(64, 48, seed=1), lw.Sigmoid(), lw.Linear(48, 32, seed=2), lw.Sigmoid(),
     lw.Linear(32, 10, seed=3), lw.Sigmoid()],
    loss=lw.SoftmaxCrossEntropy(),
)  # fmt: skip
validation = (digits.X_valid, digits.y_valid)
optimizer = lw.SGD(lr=0.2, momentum=0.9)
history = lw.fit(net, digits.X_train, digits.y_train, optimizer=optimizer, epochs=1000,
                 batch_size=None, l2=0.6, validation_data=validation, seed=0)  # fmt: skip
print(f"validation accuracy {history.val_accuracy[-1]:.4f}")
print(f"test accuracy {(net.predict(digits.X_test) == digits.y_test).mean():.4f}")
