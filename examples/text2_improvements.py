"""Text 2, "Details and improvement of the neural network": each remedy it names,
on scikit-learn's digits (8x8 images, 10 classes) with the text's snippets.

Early stopping, dropout after each hidden layer, batch normalization after and
before the activation, SELU, LeakyReLU(0.3), an L2 regularizer and Glorot
initialization; Adam with its default learning rate 0.001, batch size 32.
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from neurocore.keras import initializers, regularizers
from neurocore.keras.callbacks import EarlyStopping
from neurocore.keras.layers import Activation, BatchNormalization, Dense, Dropout, LeakyReLU
from neurocore.keras.models import Sequential
from neurocore.keras.utils import np_utils

np.random.seed(0)
digits = load_digits()
X = digits.data / 16.0
y = np_utils.to_categorical(digits.target)
X, X_test, y, y_test = train_test_split(X, y, test_size=0.25, random_state=0)


def report(name, model):
    model.compile('adam', 'categorical_crossentropy', metrics=['accuracy'])
    history = model.fit(X, y, epochs=100, validation_split=0.1,
                        callbacks=[EarlyStopping(min_delta=0.0, patience=1)], verbose=0)
    loss, acc = model.evaluate(X_test, y_test, verbose=0)
    print(f"{name:<28} epochs={len(history.history['loss']):>3}  test accuracy={acc:.3f}")
    return acc


results = {}

model = Sequential()  # deeper network with early stopping
model.add(Dense(64, input_dim=64, activation='relu'))
model.add(Dense(64, activation='relu'))
model.add(Dense(10, activation='softmax'))
results["early stopping"] = report("early stopping", model)

model = Sequential()  # dropout after each hidden layer
model.add(Dense(64, input_dim=64, activation='relu')); model.add(Dropout(0.5))
model.add(Dense(64, activation='relu')); model.add(Dropout(0.5))
model.add(Dense(10, activation='softmax'))
results["dropout"] = report("dropout", model)

model = Sequential()  # batch normalization after the activation
model.add(Dense(64, input_dim=64, activation='relu')); model.add(BatchNormalization())
model.add(Dense(10, activation='softmax'))
results["batch norm after"] = report("batch norm after", model)

model = Sequential()  # batch normalization before the activation
model.add(Dense(64, input_dim=64)); model.add(BatchNormalization()); model.add(Activation('relu'))
model.add(Dense(10, activation='softmax'))
results["batch norm before"] = report("batch norm before", model)

model = Sequential()
model.add(Dense(64, input_dim=64, activation='selu'))
model.add(Dense(10, activation='softmax'))
results["selu"] = report("selu", model)

model = Sequential()
model.add(Dense(64, input_dim=64, activation=LeakyReLU(0.3)))
model.add(Dense(10, activation='softmax'))
results["leaky relu"] = report("LeakyReLU(0.3)", model)

model = Sequential()
model.add(Dense(64, input_dim=64, activation='relu', kernel_regularizer=regularizers.l2(0.1)))
model.add(Dense(10, activation='softmax'))
results["l2"] = report("l2(0.1) weight decay", model)

model = Sequential()
model.add(Dense(64, input_dim=64, activation='relu', kernel_initializer=initializers.glorot_normal()))
model.add(Dense(10, activation='softmax'))
results["glorot normal"] = report("glorot_normal init", model)

print("lowest test accuracy:", round(min(results.values()), 3))
