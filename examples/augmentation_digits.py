"""Data augmentation against shifted and rotated digits (digits bundled with
scikit-learn; no download).

The same small convolutional network is trained twice on the 8 x 8 digits as
they are, once with RandomTranslation and RandomRotation layers in front. The
held-out digits are then shifted by up to a pixel and rotated by up to 20
degrees (scipy.ndimage, a fixed seed). Without augmentation the network has
only seen centred, upright digits and fails on the moved ones; with it, each
training epoch saw every digit moved at random, and most moved test digits are
recognised. The augmentation layers act only while training: predicting, the
network reads the test digits as they are.
"""

import numpy as np
from scipy import ndimage
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from neurocore import NeuralNetClassifier
from neurocore.keras.layers import Conv2D, Dense, Flatten, MaxPooling2D, RandomRotation, RandomTranslation

X, y = load_digits(return_X_y=True)
X = (X / 16.0).reshape(-1, 8, 8, 1)  # images: (height, width, channels)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.4, random_state=0)

rng = np.random.RandomState(0)


def moved(image):
    """The digit rotated by up to 20 degrees and shifted by up to a pixel each way."""
    out = ndimage.rotate(image[:, :, 0], rng.uniform(-20, 20), reshape=False, order=1, mode="constant")
    return ndimage.shift(out, rng.randint(-1, 2, 2), order=0, mode="constant")[:, :, None]


X_moved = np.array([moved(image) for image in X_test])


def network(augment):
    front = [RandomTranslation(0.15, 0.15, fill_mode="constant"),  # up to 15% of 8 pixels each way
             RandomRotation(0.06, fill_mode="constant")] if augment else []  # up to 0.06 of a turn
    return NeuralNetClassifier(front + [Conv2D(16, 3, padding="same", activation="relu"), MaxPooling2D(2),
                                        Flatten(), Dense(64, activation="relu")],
                               epochs=150, batch_size=32, random_state=0)


scores = {}
for augment in (False, True):
    clf = network(augment).fit(X_train, y_train)
    scores[augment] = clf.score(X_moved, y_test)
    label = "with augmentation" if augment else "without augmentation"
    print(f"{label}: test accuracy {clf.score(X_test, y_test):.3f} as they are, "
          f"{scores[augment]:.3f} moved")
print(f"moved test digits, accuracy without augmentation: {scores[False]:.3f}")
print(f"moved test digits, accuracy with augmentation: {scores[True]:.3f}")
