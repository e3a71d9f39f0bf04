"""Pictures of training: ``TrainingCurveDisplay``, scikit-learn's Display
conventions for the loss and metric curves of a fit.

matplotlib is imported when a curve is drawn, not when neurocore is
(``pip install 'neurocore[plot]'``).
"""

import numpy as np
from sklearn.base import is_classifier
from sklearn.exceptions import NotFittedError

__all__ = ["TrainingCurveDisplay"]


def _curves_of(estimator):
    """{name: per-epoch values} that an estimator or a model recorded."""
    history = getattr(estimator, "history_", None)  # NeuralNet*, NeuralNetAutoencoder
    if history is None:
        history = getattr(getattr(estimator, "history", None), "history", None)  # a Keras model
    if history is not None:
        return {k: list(v) for k, v in history.items()}
    if hasattr(estimator, "loss_curve_"):  # the MLPs (stochastic solvers)
        curves = {"loss": list(estimator.loss_curve_)}
        scores = getattr(estimator, "validation_scores_", None)
        if scores:
            kind = "accuracy" if is_classifier(estimator) else "R2"  # scikit-learn's validation score
            curves[f"val_{kind}"] = list(scores)
        return curves
    if hasattr(estimator, "fit"):
        raise NotFittedError(f"this {type(estimator).__name__} has no training curves yet: fit it first "
                             "(MLPs record loss_curve_ with the stochastic solvers only)")
    raise ValueError(f"{type(estimator).__name__} records no training curves")


class TrainingCurveDisplay:
    """Training and validation loss and metrics per epoch.

    Build it with ``from_estimator`` (a fitted neurocore estimator or Keras
    model) or ``from_history`` (a Keras ``History`` or a dict of lists), or
    directly from the curves and call ``plot``.

    Parameters
    ----------
    curves : dict of str to list of float
        Per-epoch values by name, as Keras's ``History.history``: ``loss``,
        ``val_loss``, ``accuracy``, ``val_accuracy``, ...
    estimator_name : str, optional
        Shown in the title.

    Attributes
    ----------
    figure_ : matplotlib Figure
    ax_ : matplotlib Axes
        The axes of the loss curves.
    axes_ : ndarray of matplotlib Axes
        Every axes drawn on: the losses, then (when there are metrics) the
        metrics.
    lines_ : dict of str to matplotlib Line2D
        Each curve's line.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from neurocore import NeuralNetClassifier
    >>> from neurocore.plot import TrainingCurveDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = NeuralNetClassifier([64], epochs=5, validation_split=0.2, metrics=["accuracy"],
    ...                           random_state=0).fit(X / 16, y)
    >>> display = TrainingCurveDisplay.from_estimator(clf)
    >>> sorted(display.lines_)
    ['accuracy', 'loss', 'val_accuracy', 'val_loss']
    """

    def __init__(self, curves, *, estimator_name=None):
        if not isinstance(curves, dict) or not curves:
            raise ValueError("curves must be a non-empty dict of per-epoch values")
        self.curves = {str(k): np.asarray(v, dtype=float).ravel() for k, v in curves.items()}
        self.estimator_name = estimator_name

    @staticmethod
    def _is_loss(name):
        base = name[4:] if name.startswith("val_") else name
        return base == "loss" or base.endswith("_loss")

    def plot(self, ax=None, *, name=None):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes or sequence of two Axes, optional
            Where to draw: one Axes takes the losses (and the metrics on a
            second y axis); two take the losses and the metrics. Default: a
            new figure, with a second panel for the metrics when there are any.
        name : str, optional
            The title (default: ``estimator_name``).

        Returns
        -------
        display : TrainingCurveDisplay
        """
        import matplotlib.pyplot as plt

        losses = [k for k in self.curves if self._is_loss(k)]
        metrics = [k for k in self.curves if not self._is_loss(k)]
        if ax is None:
            n = 1 + bool(metrics and losses)
            fig, axes = plt.subplots(1, n, figsize=(5.5 * n, 4), squeeze=False)
            axes = list(axes[0])
        elif isinstance(ax, (list, tuple, np.ndarray)):
            axes = list(np.ravel(ax))
            if len(axes) != 2:
                raise ValueError(f"ax must be one Axes or two, got {len(axes)}")
        else:
            axes = [ax] + ([ax.twinx()] if metrics and losses else [])
        loss_ax = axes[0]
        metric_ax = axes[-1] if len(axes) > 1 else axes[0]
        self.lines_ = {}
        for keys, where, label in ((losses, loss_ax, "loss"), (metrics, metric_ax, "metric")):
            for k in keys:
                values = self.curves[k]
                style = "--" if k.startswith("val_") else "-"
                (self.lines_[k],) = where.plot(np.arange(1, values.size + 1), values, style, label=k)
            if keys:
                where.set_xlabel("epoch")
                bases = {k[4:] if k.startswith("val_") else k for k in keys}
                where.set_ylabel(bases.pop() if len(bases) == 1 else label)
                where.legend(loc="best")
        title = name if name is not None else self.estimator_name
        if title:
            loss_ax.set_title(title)
        self.ax_ = loss_ax
        self.axes_ = np.array(axes, dtype=object)
        self.figure_ = loss_ax.figure
        return self

    @classmethod
    def from_history(cls, history, *, ax=None, name=None):
        """The curves of a Keras ``History`` (what ``fit`` returns) or a dict of lists.

        Parameters
        ----------
        history : History or dict
        ax : matplotlib Axes or two Axes, optional
        name : str, optional

        Returns
        -------
        display : TrainingCurveDisplay
        """
        curves = getattr(history, "history", history)
        return cls(curves, estimator_name=name).plot(ax=ax)

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, name=None):
        """The curves a fitted estimator or Keras model recorded: ``history_``
        (the layer-list estimators, the autoencoder), ``loss_curve_`` and
        ``validation_scores_`` (the MLPs), a Keras model's last ``History``.

        Parameters
        ----------
        estimator : fitted estimator or neurocore.keras model
        ax : matplotlib Axes or two Axes, optional
        name : str, optional
            Default: the estimator's class name.

        Returns
        -------
        display : TrainingCurveDisplay
        """
        curves = _curves_of(estimator)
        return cls(curves, estimator_name=name or type(estimator).__name__).plot(ax=ax)
