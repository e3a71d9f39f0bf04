"""A 1-D convolutional network on a sequence task made here (no download):
which of ten frequencies a noisy wave of 40 steps has (random phase and
amplitude). The same network twice: through the Keras facade, and as a
scikit-learn estimator tuned by GridSearchCV on (n, steps, channels) input.
"""

import numpy as np
from sklearn.model_selection import GridSearchCV

from neurocore import NeuralNetClassifier
from neurocore.keras import Sequential
from neurocore.keras.layers import Conv1D, Dense, Flatten, GlobalAveragePooling1D, MaxPooling1D
from neurocore.keras.optimizers import Adam

rng = np.random.RandomState(0)
n, steps = 3000, 40
y = rng.randint(0, 10, n)
t = np.arange(steps) / steps
X = (rng.uniform(0.5, 1.5, (n, 1)) * np.sin(2 * np.pi * (y[:, None] + 1) * t / 2 + rng.uniform(0, 2 * np.pi, (n, 1)))
     + 0.3 * rng.normal(size=(n, steps)))[..., None]  # (n, 40, 1)
X_train, X_test, y_train, y_test = X[:2400], X[2400:], y[:2400], y[2400:]

np.random.seed(0)
model = Sequential([
    Conv1D(16, 5, strides=2, padding="same", activation="relu", input_shape=(steps, 1)),
    Conv1D(32, 3, padding="same", activation="relu"),
    MaxPooling1D(2),
    Conv1D(32, 3, activation="relu"),
    Flatten(),
    Dense(10, activation="softmax"),
])
model.compile(Adam(1e-2), "sparse_categorical_crossentropy", metrics=["accuracy"])
model.summary()
model.fit(X_train, y_train, epochs=30, batch_size=100, verbose=0)
loss, accuracy = model.evaluate(X_test, y_test, verbose=0)
print(f"Keras facade test accuracy: {accuracy:.3f}")

layers = [Conv1D(16, 5, strides=2, padding="same", activation="relu"), Conv1D(32, 3, activation="relu"),
          GlobalAveragePooling1D()]
search = GridSearchCV(NeuralNetClassifier(layers, epochs=30, batch_size=100, random_state=0),
                      {"optimizer": [Adam(1e-2), Adam(3e-3)]}, cv=3)
search.fit(X_train, y_train)
print("best optimizer learning rate:", search.best_params_["optimizer"].learning_rate)
print(f"estimator test accuracy: {search.score(X_test, y_test):.3f}")
