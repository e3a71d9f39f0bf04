"""A recurrent sequence classifier on a task made here (no download):
"reviews" of 4 to 40 words from a 300-word vocabulary, positive or negative
by the sum of their sentiment words, where the word "not" flips the sentiment
word after it, so word order matters. The sequences are padded with
pad_sequences; Embedding(mask_zero=True) marks the padding and the
bidirectional LSTM skips it. The same network twice: through the Keras
facade, and as a scikit-learn estimator in GridSearchCV.
"""

import numpy as np
from sklearn.model_selection import GridSearchCV

from neurocore import NeuralNetClassifier
from neurocore.keras import Sequential
from neurocore.keras.layers import LSTM, Bidirectional, Dense, Embedding
from neurocore.keras.optimizers import Adam
from neurocore.keras.preprocessing.sequence import pad_sequences

VOCAB, MAXLEN, NOT = 300, 40, 1
GOOD, BAD = range(10, 30), range(30, 50)  # the other ids (2-9, 50-299) are neutral


def reviews(n, rng):
    seqs, labels = [], []
    while len(seqs) < n:
        words = list(rng.randint(50, VOCAB, rng.randint(4, MAXLEN + 1)))
        score = 0
        for _ in range(rng.randint(1, 4)):  # one to three sentiment words, some negated
            good = rng.rand() < 0.5
            at = rng.randint(0, len(words))
            words[at] = rng.choice(GOOD if good else BAD)
            sign = 1 if good else -1
            if at > 0 and rng.rand() < 0.4:
                words[at - 1] = NOT
                sign = -sign
            score += sign
        if score != 0:
            seqs.append(words)
            labels.append(int(score > 0))
    return seqs, np.array(labels)


rng = np.random.RandomState(0)
seqs, y = reviews(5000, rng)
X = pad_sequences(seqs, maxlen=MAXLEN)  # (5000, 40) int32, zeros in front
X_train, X_test, y_train, y_test = X[:4000], X[4000:], y[:4000], y[4000:]
print("padded token matrix:", X.shape, X.dtype, "; longest review:", max(map(len, seqs)), "words")

np.random.seed(0)
model = Sequential([
    Embedding(VOCAB, 16, mask_zero=True, input_length=MAXLEN),
    Bidirectional(LSTM(16)),
    Dense(1, activation="sigmoid"),
])
model.compile(Adam(1e-2), "binary_crossentropy", metrics=["accuracy"])
model.summary()
model.fit(X_train, y_train, epochs=8, batch_size=64, verbose=0)
loss, accuracy = model.evaluate(X_test, y_test, verbose=0)
print(f"Keras facade test accuracy: {accuracy:.3f}")

layers = [Embedding(VOCAB, 16, mask_zero=True), Bidirectional(LSTM(16))]
search = GridSearchCV(NeuralNetClassifier(layers, optimizer=Adam(1e-2), epochs=8, batch_size=64,
                                          random_state=0),
                      {"layers": [layers, [Embedding(VOCAB, 16, mask_zero=True), LSTM(16)]]}, cv=2)
search.fit(X_train, y_train)
print("grid search picked:", type(search.best_params_["layers"][1]).__name__)
print(f"estimator test accuracy: {search.score(X_test, y_test):.3f}")
