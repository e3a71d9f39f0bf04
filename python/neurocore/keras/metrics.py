"""Metrics (``neurocore.keras.metrics``): what ``compile(metrics=...)`` and the
estimators' ``metrics=`` accept, as the core computes them.

The core computes accuracies (categorical: argmax of output and target;
binary: output and target on the same side of 0.5) and any loss as a metric,
once per epoch, on the training data and on the validation data.
"""

from . import losses as _losses


def resolve(metrics, loss_name, n_out):
    """Keras's metric names (or loss functions and objects) to (display names, core specs).

    ``'accuracy'`` resolves, as in Keras, from the loss and the output: categorical
    for categorical cross-entropy or several outputs, binary otherwise."""
    names, specs = [], []
    for m in metrics or []:
        if isinstance(m, str):
            key = m
        else:
            key = getattr(m, "__name__", None) or getattr(m, "name", None)
            if key is None:
                raise ValueError(f"Unknown metric {m!r}")
        base = key.lower()
        if base in ("accuracy", "acc"):
            if loss_name == "categorical_crossentropy" or (loss_name not in ("binary_crossentropy",) and n_out > 1):
                spec = {"kind": "categorical_accuracy"}
            else:
                spec = {"kind": "binary_accuracy"}
        elif base in ("categorical_accuracy", "sparse_categorical_accuracy"):
            spec = {"kind": "categorical_accuracy"}
        elif base == "binary_accuracy":
            spec = {"kind": "binary_accuracy"}
        else:
            try:
                loss = _losses.get(getattr(m, "_loss_name", m)).spec()
            except ValueError:
                raise ValueError(
                    f"Unknown metric {m!r}: use 'accuracy', 'binary_accuracy', "
                    "'categorical_accuracy' or a loss name such as 'mse' or 'mae'"
                ) from None
            core = ("categorical_crossentropy" if loss["name"] == "sparse_categorical_crossentropy"
                    else loss["name"])
            spec = {"kind": "loss", "loss": core, "from_logits": loss["from_logits"], "delta": loss["delta"]}
        names.append(key)
        specs.append(spec)
    return names, specs
