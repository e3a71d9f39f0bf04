"""Next-step regression with return_sequences: a noisy sum of sines, cut into
windows of 50 steps; at every step an LSTM predicts the series' next value
(targets of shape (n, 50, 1)). Compared with persistence (tomorrow = today),
the baseline a forecast has to beat. Generated here, no download.
"""

import numpy as np

from neurocore.keras import Sequential
from neurocore.keras.layers import LSTM, Dense, Input
from neurocore.keras.optimizers import Adam

rng = np.random.RandomState(0)
t = np.arange(6000)
series = (np.sin(2 * np.pi * t / 50) + 0.5 * np.sin(2 * np.pi * t / 17 + 1.0)
          + 0.1 * rng.normal(size=t.size)).astype(np.float32)

window = 50
starts = np.arange(0, series.size - window - 1, 5)
X = np.stack([series[s:s + window] for s in starts])[..., None]           # (n, 50, 1)
Y = np.stack([series[s + 1:s + window + 1] for s in starts])[..., None]   # the next values
split = int(0.8 * len(X))  # the last fifth of the series for testing
X_train, X_test, Y_train, Y_test = X[:split], X[split:], Y[:split], Y[split:]

np.random.seed(0)
model = Sequential([Input(shape=(window, 1)), LSTM(32, return_sequences=True), Dense(1)])
model.compile(Adam(1e-2), "mse")
model.summary()
model.fit(X_train, Y_train, epochs=20, batch_size=32, verbose=0)
pred = model.predict(X_test, verbose=0)
print("prediction shape:", pred.shape)
skip = 10  # the first steps of a window have little history
mse = float(np.mean((pred[:, skip:] - Y_test[:, skip:]) ** 2))
persistence = float(np.mean((X_test[:, skip:] - Y_test[:, skip:]) ** 2))
print(f"LSTM test MSE: {mse:.4f}")
print(f"persistence test MSE: {persistence:.4f}")
print(f"noise variance: {0.1 ** 2:.4f}")
