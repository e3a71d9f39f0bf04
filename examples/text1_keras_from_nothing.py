"""Text 1, "Keras from nothing, part 2": both examples, with only the imports changed.

The task: 5 inputs in [0, 1); class 1 when they sum to more than 2.5.
"""

import numpy as np

# was: from keras.models import Sequential / from keras.layers import Dense /
#      from keras.utils import np_utils
from neurocore.keras.layers import Dense
from neurocore.keras.models import Sequential
from neurocore.keras.utils import np_utils

np.random.seed(0)  # the texts leave the data random; a seed makes the run repeatable

# First example: one-hot labels, a 5-20-2 network, rmsprop, categorical cross-entropy
data = np.random.rand(250, 5)
labels = np_utils.to_categorical((np.sum(data, axis=1) > 2.5) * 1)

model = Sequential()
model.add(Dense(20, input_dim=5, activation='relu'))
model.add(Dense(2, activation='softmax'))
model.compile('rmsprop', 'categorical_crossentropy', metrics=['accuracy'])
model.fit(data, labels, epochs=150, batch_size=32, verbose=0)

test = np.random.rand(200, 5)
real = (np.sum(test, axis=1) > 2.5) * 1
first = np.mean(model.predict(test).argmax(axis=1) == real)
print("example 1 accuracy on 200 fresh samples:", first)

# Second example: labels in {-1, 1}, hinge loss, tanh output, adam, 20% validation
data = np.random.rand(250, 5)
labels = (np.sum(data, axis=1) > 2.5) * 2 - 1
model = Sequential([Dense(20, input_dim=5, activation='tanh'), Dense(1, activation='tanh')])
model.compile('adam', 'hinge', metrics=['accuracy'])
model.fit(data, labels, nb_epoch=150, validation_split=0.2, verbose=0)

test = np.random.rand(200, 5)
predict = np.sign(model.predict(test).flatten())
real = (np.sum(test, axis=1) > 2.5) * 2 - 1
print("example 2 accuracy on 200 fresh samples:", sum(predict == real) / 200.0)
