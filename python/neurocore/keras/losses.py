"""Losses (``neurocore.keras.losses``): names, aliases and classes, as Keras spells them.

The network computes them in C++; the functions here compute Keras's
per-sample values with numpy, for inspection.
"""

import numpy as np

from . import _config

_EPS = 1e-7

# alias -> core name
_ALIASES = {
    "mean_squared_error": "mean_squared_error", "mse": "mean_squared_error", "MSE": "mean_squared_error",
    "mean_absolute_error": "mean_absolute_error", "mae": "mean_absolute_error", "MAE": "mean_absolute_error",
    "mean_absolute_percentage_error": "mean_absolute_percentage_error", "mape": "mean_absolute_percentage_error",
    "MAPE": "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error": "mean_squared_logarithmic_error", "msle": "mean_squared_logarithmic_error",
    "MSLE": "mean_squared_logarithmic_error",
    "huber": "huber", "huber_loss": "huber",
    "log_cosh": "log_cosh", "logcosh": "log_cosh",
    "poisson": "keras_poisson",
    "categorical_crossentropy": "categorical_crossentropy",
    "sparse_categorical_crossentropy": "sparse_categorical_crossentropy",
    "binary_crossentropy": "binary_crossentropy",
    "hinge": "hinge", "squared_hinge": "squared_hinge", "categorical_hinge": "categorical_hinge",
    "kl_divergence": "kl_divergence", "kullback_leibler_divergence": "kl_divergence",
    "kld": "kl_divergence", "KLD": "kl_divergence",
    "cosine_similarity": "cosine_similarity", "cosine_proximity": "cosine_similarity",
    "cosine": "cosine_similarity",
}


class Loss:
    """Base class of the loss objects; ``spec()`` is what the core takes."""

    name = ""
    from_logits = False
    delta = 1.0

    def spec(self):
        return {"name": self.name, "from_logits": bool(self.from_logits), "delta": float(self.delta)}

    def __call__(self, y_true, y_pred):
        return float(np.mean(_FUNCS[self.name](np.asarray(y_true, float), np.asarray(y_pred, float),
                                               self.from_logits, self.delta)))

    def __repr__(self):
        return f"{type(self).__name__}()"


def _make(cls_name, core, doc, params=()):
    def __init__(self, **kw):
        for k in kw:
            if k not in params and k not in ("reduction", "name"):
                raise TypeError(f"{cls_name} got an unexpected argument {k!r}")
        self.from_logits = bool(kw.get("from_logits", False))
        self.delta = float(kw.get("delta", 1.0))

    return type(cls_name, (Loss,), {"name": core, "__init__": __init__, "__doc__": doc})


MeanSquaredError = _make("MeanSquaredError", "mean_squared_error", "mean((y - p)^2) over outputs.")
MeanAbsoluteError = _make("MeanAbsoluteError", "mean_absolute_error", "mean|y - p| over outputs.")
MeanAbsolutePercentageError = _make("MeanAbsolutePercentageError", "mean_absolute_percentage_error",
                                    "100 mean|y - p| / max(|y|, eps).")
MeanSquaredLogarithmicError = _make("MeanSquaredLogarithmicError", "mean_squared_logarithmic_error",
                                    "mean (log(1 + p) - log(1 + y))^2.")
Huber = _make("Huber", "huber", "Quadratic within delta of the target, linear beyond.", ("delta",))
LogCosh = _make("LogCosh", "log_cosh", "mean log(cosh(p - y)).")
Poisson = _make("Poisson", "keras_poisson", "mean(p - y log(p + eps)).")
CategoricalCrossentropy = _make("CategoricalCrossentropy", "categorical_crossentropy",
                                "-sum y log p over one-hot targets.", ("from_logits",))
SparseCategoricalCrossentropy = _make("SparseCategoricalCrossentropy", "sparse_categorical_crossentropy",
                                      "Categorical cross-entropy on integer class targets.", ("from_logits",))
BinaryCrossentropy = _make("BinaryCrossentropy", "binary_crossentropy",
                           "-mean(y log p + (1 - y) log(1 - p)).", ("from_logits",))
Hinge = _make("Hinge", "hinge", "mean max(1 - y p, 0); 0/1 targets are read as -1/+1.")
SquaredHinge = _make("SquaredHinge", "squared_hinge", "mean max(1 - y p, 0)^2.")
CategoricalHinge = _make("CategoricalHinge", "categorical_hinge", "max(neg - pos + 1, 0).")
KLDivergence = _make("KLDivergence", "kl_divergence", "sum y log(y / p).")
CosineSimilarity = _make("CosineSimilarity", "cosine_similarity",
                         "-sum of the L2-normalised targets times predictions.")


def _np_losses():
    from scipy.special import log_softmax

    def cce(y, p, logits, _):
        if logits:
            return -np.sum(y * log_softmax(p, axis=-1), axis=-1)
        q = np.clip(p / p.sum(-1, keepdims=True), _EPS, 1 - _EPS)
        return -np.sum(y * np.log(q), axis=-1)

    def bce(y, p, logits, _):
        if logits:
            return np.mean(np.logaddexp(0, p) - y * p, axis=-1)
        q = np.clip(p, _EPS, 1 - _EPS)
        return -np.mean(y * np.log(q + _EPS) + (1 - y) * np.log(1 - q + _EPS), axis=-1)

    def hinge_t(y):
        return 2 * y - 1 if np.isin(y, [0, 1]).all() else y

    return {
        "mean_squared_error": lambda y, p, *_: np.mean((p - y) ** 2, -1),
        "mean_absolute_error": lambda y, p, *_: np.mean(np.abs(p - y), -1),
        "mean_absolute_percentage_error": lambda y, p, *_: 100 * np.mean(np.abs(y - p) / np.maximum(np.abs(y), _EPS), -1),
        "mean_squared_logarithmic_error": lambda y, p, *_: np.mean(
            (np.log(np.maximum(p, _EPS) + 1) - np.log(np.maximum(y, _EPS) + 1)) ** 2, -1),
        "huber": lambda y, p, _, d: np.mean(np.where(np.abs(p - y) <= d, 0.5 * (p - y) ** 2,
                                                     0.5 * d * d + d * (np.abs(p - y) - d)), -1),
        "log_cosh": lambda y, p, *_: np.mean(np.log(np.cosh(p - y)), -1),
        "keras_poisson": lambda y, p, *_: np.mean(p - y * np.log(p + _EPS), -1),
        "categorical_crossentropy": cce,
        "sparse_categorical_crossentropy": lambda y, p, lg, d: cce(
            np.eye(p.shape[-1])[np.asarray(y, int).ravel()], p, lg, d),
        "binary_crossentropy": bce,
        "hinge": lambda y, p, *_: np.mean(np.maximum(1 - hinge_t(y) * p, 0), -1),
        "squared_hinge": lambda y, p, *_: np.mean(np.maximum(1 - hinge_t(y) * p, 0) ** 2, -1),
        "categorical_hinge": lambda y, p, *_: np.maximum(
            np.max((1 - y) * p, -1) - np.sum(y * p, -1) + 1, 0),
        "kl_divergence": lambda y, p, *_: np.sum(
            np.clip(y, _EPS, 1) * np.log(np.clip(y, _EPS, 1) / np.clip(p, _EPS, 1)), -1),
        "cosine_similarity": lambda y, p, *_: -np.sum(
            y / np.sqrt(np.maximum((y**2).sum(-1, keepdims=True), 1e-12))
            * p / np.sqrt(np.maximum((p**2).sum(-1, keepdims=True), 1e-12)), -1),
    }


_FUNCS = _np_losses()


def _function(core):
    def f(y_true, y_pred):
        return _FUNCS[core](np.asarray(y_true, float), np.asarray(y_pred, float), False, 1.0)

    f.__name__ = core
    f._loss_name = core
    return f


mean_squared_error = mse = MSE = _function("mean_squared_error")
mean_absolute_error = mae = MAE = _function("mean_absolute_error")
mean_absolute_percentage_error = mape = MAPE = _function("mean_absolute_percentage_error")
mean_squared_logarithmic_error = msle = MSLE = _function("mean_squared_logarithmic_error")
huber = _function("huber")
log_cosh = logcosh = _function("log_cosh")
poisson = _function("keras_poisson")
categorical_crossentropy = _function("categorical_crossentropy")
sparse_categorical_crossentropy = _function("sparse_categorical_crossentropy")
binary_crossentropy = _function("binary_crossentropy")
hinge = _function("hinge")
squared_hinge = _function("squared_hinge")
categorical_hinge = _function("categorical_hinge")
kl_divergence = kullback_leibler_divergence = kld = KLD = _function("kl_divergence")
cosine_similarity = cosine_proximity = _function("cosine_similarity")


def get(identifier):
    """A Loss object from a name, an alias, a loss function of this module or an instance."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    name = getattr(identifier, "_loss_name", None)
    if name is None and isinstance(identifier, str):
        name = _ALIASES.get(identifier)
    if name is None:
        raise ValueError(f"Unknown loss {identifier!r}; expected one of {sorted(_ALIASES)}.")
    obj = Loss()
    obj.name = name
    return obj


_config.register_module(globals(), functions=True)
