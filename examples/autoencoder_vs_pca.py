"""An autoencoder against PCA on the same code size (digits, bundled with
scikit-learn; no download).

Both compress 8 x 8 digits to a few numbers and reconstruct them. PCA's code is
a linear projection; the autoencoder's encoder (128 -> 64 relu units -> a
linear code) and its mirrored decoder learn a nonlinear one. On held-out
digits the autoencoder reconstructs with a smaller error, and a logistic
regression on its codes (in a Pipeline, as on PCA's) classifies better.

Then the same model through the Keras facade's functional API, as the classic
Keras autoencoder tutorial builds it: the encoder is a Model on part of the
autoencoder's graph and predicts with the autoencoder's trained weights.
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from neurocore import NeuralNetAutoencoder
from neurocore.keras import Input, Model
from neurocore.keras.layers import Dense

X, y = load_digits(return_X_y=True)
X = X / 16.0  # pixels in [0, 1]: binary cross-entropy reconstructs them
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)


def autoencoder(code_size):
    return NeuralNetAutoencoder([128, 64, Dense(code_size)], loss="binary_crossentropy", epochs=200,
                                batch_size=64, random_state=0)


print("code size | PCA test MSE | autoencoder test MSE | PCA codes accuracy | autoencoder codes accuracy")
for k in (4, 8):
    pca = PCA(k).fit(X_train)
    pca_mse = np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2)
    ae = autoencoder(k).fit(X_train)
    ae_mse = -ae.score(X_test)  # score is the negative reconstruction error
    pca_acc = make_pipeline(PCA(k), LogisticRegression(max_iter=1000)).fit(X_train, y_train).score(X_test, y_test)
    ae_acc = make_pipeline(autoencoder(k), LogisticRegression(max_iter=1000)).fit(X_train, y_train).score(
        X_test, y_test)
    print(f"{k} | {pca_mse:.4f} | {ae_mse:.4f} | {pca_acc:.3f} | {ae_acc:.3f}")
    print(f"code size {k}: autoencoder MSE / PCA MSE: {ae_mse / pca_mse:.2f}")

# The functional API: an autoencoder, then the encoder on part of its graph
input_img = Input(shape=(64,))
h = Dense(128, activation="relu")(input_img)
h = Dense(64, activation="relu")(h)
encoded = Dense(8)(h)
h = Dense(64, activation="relu")(encoded)
h = Dense(128, activation="relu")(h)
decoded = Dense(64, activation="sigmoid")(h)
model = Model(input_img, decoded)
encoder = Model(input_img, encoded)
model.compile(optimizer="adam", loss="binary_crossentropy")
model.fit(X_train, X_train, epochs=200, batch_size=64, shuffle=True, verbose=0,
          validation_data=(X_test, X_test))
codes = encoder.predict(X_test)
model.summary()
print("encoder codes shape:", codes.shape)
print(f"functional autoencoder test MSE: {np.mean((model.predict(X_test) - X_test) ** 2):.4f}")
