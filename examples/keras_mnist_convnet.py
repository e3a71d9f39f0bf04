"""Keras's "Simple MNIST convnet" (keras.io/examples/vision/mnist_convnet), with
only its imports changed and MNIST, which would be a download, replaced by
scikit-learn's digits drawn as 28 x 28 images (each pixel 3 x 3 and a 2-pixel
border, 0-255 like MNIST). Everything from the model on is the example's own
code.
"""

import numpy as np

# was: import keras / from keras import layers
import neurocore.keras as keras
from neurocore.keras import layers


def load_data():
    """(x_train, y_train), (x_test, y_test) in mnist.load_data()'s form: uint8
    images (n, 28, 28) and integer labels; 1400 digits to train, 397 to test."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    img = (X * 255 / 16).astype(np.uint8).reshape(-1, 8, 8).repeat(3, axis=1).repeat(3, axis=2)
    img = np.pad(img, ((0, 0), (2, 2), (2, 2)))
    return (img[:1400], y[:1400]), (img[1400:], y[1400:])


np.random.seed(0)  # Keras seeds its own stream; a seed makes this run repeatable

# Model / data parameters
num_classes = 10
input_shape = (28, 28, 1)

# Load the data and split it between train and test sets
(x_train, y_train), (x_test, y_test) = load_data()  # was: keras.datasets.mnist.load_data()

# Scale images to the [0, 1] range
x_train = x_train.astype("float32") / 255
x_test = x_test.astype("float32") / 255
# Make sure images have shape (28, 28, 1)
x_train = np.expand_dims(x_train, -1)
x_test = np.expand_dims(x_test, -1)
print("x_train shape:", x_train.shape)
print(x_train.shape[0], "train samples")
print(x_test.shape[0], "test samples")

# convert class vectors to binary class matrices
y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)

model = keras.Sequential(
    [
        keras.Input(shape=input_shape),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ]
)

model.summary()

batch_size = 128
epochs = 15

model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])

model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_split=0.1)

score = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", score[0])
print("Test accuracy:", score[1])
