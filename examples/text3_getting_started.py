"""Text 3, "Getting started with deep learning": the techniques of parts 4 to 13
on scikit-learn's digits, the small MNIST that ships with scikit-learn
(N x 64 inputs, K = 10 classes as an N x K indicator matrix).

Gradient-descent sanity check, softmax output with sigmoid / tanh / relu
hidden units, mini-batches, momentum and Nesterov momentum, step / inverse /
exponential learning-rate decay, AdaGrad, RMSprop (as TensorFlow's
RMSPropOptimizer(lr, decay=0.99, momentum=0.9)), L1 and L2 regularization,
noise injection, dropout (keep 0.8 on the input, 0.5 on hidden units) and
early stopping. Each prints its error rate mean(prediction != target).
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from neurocore.keras import optimizers, regularizers
from neurocore.keras.callbacks import EarlyStopping, LearningRateScheduler
from neurocore.keras.layers import Dense, Dropout, GaussianNoise
from neurocore.keras.models import Sequential
from neurocore.keras.optimizers.schedules import ExponentialDecay, InverseTimeDecay
from neurocore.keras.utils import to_categorical

np.random.seed(0)

# Sanity check: gradient descent on J = x^2 + x finds x = -1/2. A one-weight
# linear model fitted to the target -1/2 on the input 1 has J = (w + 1/2)^2,
# which is x^2 + x up to a constant.
check = Sequential([Dense(1, input_dim=1, use_bias=False, kernel_initializer='ones')])
check.compile(optimizers.SGD(learning_rate=0.1), 'mse')
check.fit(np.ones((1, 1)), np.full((1, 1), -0.5), epochs=100, batch_size=1, verbose=0)
print("argmin of x^2 + x found by gradient descent:", round(float(check.get_weights()[0][0, 0]), 4))

digits = load_digits()
X = digits.data / 16.0                      # N x D
T = to_categorical(digits.target, 10)       # N x K indicator matrix
X, X_test, T, T_test = train_test_split(X, T, test_size=0.3, random_state=0)


def error_rate(model):
    return np.mean(model.predict(X_test).argmax(axis=1) != T_test.argmax(axis=1))


def run(name, hidden="relu", optimizer="sgd", epochs=40, layers=None, callbacks=None):
    model = Sequential(layers or [Dense(100, input_dim=64, activation=hidden),
                                  Dense(10, activation='softmax')])
    model.compile(optimizer, 'categorical_crossentropy', metrics=['accuracy'])
    model.fit(X, T, batch_size=32, epochs=epochs, validation_split=0.1, callbacks=callbacks or [],
              verbose=0)
    err = error_rate(model)
    print(f"{name:<44} error rate {err:.3f}")
    return err


errors = {}
for s in ("sigmoid", "tanh", "relu"):
    errors[s] = run(f"{s} hidden units, plain SGD lr=0.1", s, optimizers.SGD(0.1))
errors["momentum"] = run("momentum 0.9", optimizer=optimizers.SGD(0.01, momentum=0.9))
errors["nesterov"] = run("Nesterov momentum 0.9", optimizer=optimizers.SGD(0.01, momentum=0.9, nesterov=True))
errors["step"] = run("step decay: halve every 10 epochs", optimizer=optimizers.SGD(0.1),
                     callbacks=[LearningRateScheduler(lambda epoch: 0.1 * 0.5 ** (epoch // 10))])
errors["inverse"] = run("inverse decay A / (1 + k t)",
                        optimizer=optimizers.SGD(InverseTimeDecay(0.1, decay_steps=100, decay_rate=0.5)))
errors["exponential"] = run("exponential decay A exp(-k t)",
                            optimizer=optimizers.SGD(ExponentialDecay(0.1, decay_steps=100, decay_rate=0.9)))
errors["adagrad"] = run("AdaGrad", optimizer=optimizers.Adagrad(0.05, epsilon=1e-10))
errors["rmsprop"] = run("RMSprop(decay=0.99, momentum=0.9)",
                        optimizer=optimizers.RMSprop(0.0005, rho=0.99, momentum=0.9))
errors["l1"] = run("L1 regularization", optimizer="adam",
                   layers=[Dense(100, input_dim=64, activation='relu', kernel_regularizer=regularizers.l1(1e-4)),
                           Dense(10, activation='softmax')])
errors["l2"] = run("L2 regularization", optimizer="adam",
                   layers=[Dense(100, input_dim=64, activation='relu', kernel_regularizer=regularizers.l2(1e-3)),
                           Dense(10, activation='softmax')])
errors["noise"] = run("noise injection on the inputs", optimizer="adam",
                      layers=[GaussianNoise(0.1, input_shape=(64,)), Dense(100, activation='relu'),
                              Dense(10, activation='softmax')])
errors["dropout"] = run("dropout: keep 0.8 input, 0.5 hidden", optimizer="adam", epochs=60,
                        layers=[Dropout(0.2, input_shape=(64,)), Dense(100, activation='relu'),
                                Dropout(0.5), Dense(10, activation='softmax')])
errors["early stopping"] = run("early stopping", optimizer="adam", epochs=200,
                               callbacks=[EarlyStopping(patience=3, restore_best_weights=True)])
print("highest error rate:", round(max(errors.values()), 3))
