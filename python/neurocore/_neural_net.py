"""NeuralNetClassifier and NeuralNetRegressor: scikit-learn estimators over a list of layers.

The hidden layers are Keras-style layer objects from ``neurocore.keras.layers``
(an int n stands for ``Dense(n, activation='relu')``); the output layer
follows from the target, as in scikit-learn's MLPs. Optimizers, losses,
callbacks and metrics are the Keras facade's. Everything trains in C++.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import column_or_1d
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import _engine, _persist
from ._device import DEVICE_DOC, require_device
from ._persist import PersistMixin
from ._validation import FastValidationMixin, check_random_state, exclusive_fit
from .keras import _functional
from .keras import layers as _layers
from .keras import losses as _losses
from .keras import metrics as _metrics
from .keras import optimizers as _optimizers

_CLASSIFIER_LOSSES = {"auto", "log_loss", "categorical_crossentropy", "binary_crossentropy",
                      "hinge", "squared_hinge", "categorical_hinge"}
_REGRESSOR_LOSSES = {"auto", "squared_error", "mean_squared_error", "mse", "mean_absolute_error", "mae",
                     "mean_absolute_percentage_error", "mape", "mean_squared_logarithmic_error", "msle",
                     "huber", "log_cosh", "logcosh", "poisson"}


def _hidden_layers(spec):
    """Layer objects from the `layers` parameter (fresh copies: the parameter is never touched)."""
    import copy

    out = []
    for item in spec:
        if isinstance(item, (Integral, np.integer)) and not isinstance(item, bool):
            if item < 1:
                raise ValueError(f"layer sizes must be positive, got {item}")
            out.append(_layers.Dense(int(item), activation="relu"))
        elif isinstance(item, _layers.InputLayer) or _is_input(item):
            continue
        elif isinstance(item, _layers.Layer):
            out.append(copy.deepcopy(item))
        else:
            raise ValueError(
                f"layers must hold ints (Dense units) or neurocore.keras.layers objects, got {item!r}"
            )
    return out


def _is_input(item):
    """An Input(shape) tensor (the functional API's start), as a layer list may begin with."""
    return isinstance(item, _functional.KerasTensor) and item._inbound is None


def _sample_shape(X):
    """The per-sample shape of dense N-d X (None for 2-d or sparse X: rows of features)."""
    return None if not hasattr(X, "ndim") or X.ndim <= 2 or hasattr(X, "tocsr") else X.shape[1:]


class _BaseNeuralNet(PersistMixin, FastValidationMixin, BaseEstimator):
    _parameter_constraints: dict = {
        "layers": [list, tuple],
        "optimizer": [str, _optimizers.Optimizer],
        "metrics": [list, tuple, None],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "validation_split": [Interval(Real, 0, 1, closed="left")],
        "callbacks": [list, tuple, None],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "n_jobs": [Interval(Integral, None, -1, closed="right"), Interval(Integral, 1, None, closed="left"), None],
        "verbose": ["verbose"],
        "dtype": [StrOptions({"float32", "float64"})],
        "device": [str, None],
    }

    def __init__(self, layers, *, optimizer, loss, metrics, epochs, batch_size, validation_split,
                 callbacks, shuffle, random_state, n_jobs, verbose, dtype, device="cpu"):
        self.layers = layers
        self.optimizer = optimizer
        self.loss = loss
        self.metrics = metrics
        self.epochs = epochs
        self.batch_size = batch_size
        self.validation_split = validation_split
        self.callbacks = callbacks
        self.shuffle = shuffle
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.dtype = dtype
        self.device = device

    def _fit_network(self, X, Y, sample_weight, output_layer, loss, incremental=False,
                     sample_shape=None, layers=None):
        """Train on (X, Y): ``epochs`` epochs of a new network, or with
        ``incremental`` one epoch continuing the fitted network, its optimizer
        state and its random stream (a first incremental call starts one).
        The network is ``layers`` when given (fresh layer objects), else the
        hidden layers then output_layer."""
        require_device(self.device, type(self).__name__)
        dtype = np.dtype(self.dtype)
        # the per-sample shape: X's own (images, sequences) or its features
        sample = tuple(sample_shape) if sample_shape else (
            (X[4],) if isinstance(X, tuple) else tuple(X.shape[1:]))
        resume = incremental and "_net" in self.__dict__
        if incremental and self.validation_split:
            raise ValueError("partial_fit does not support validation_split > 0: each call is one "
                             "epoch over its chunk; evaluate on held-out data with score()")
        if resume:
            net, rng = self._net, self._rng
            if net.n_out != Y.shape[1] or net.input_shape != sample:
                what = lambda shape: f"{shape[0]} features" if len(shape) == 1 else f"samples of shape {shape}"
                raise ValueError(
                    f"the network maps {what(net.input_shape)} to {net.n_out} outputs, but this "
                    f"data needs {what(sample)} to {Y.shape[1]}; call fit to start a new network"
                )
        else:
            layers = layers if layers is not None else _hidden_layers(self.layers) + [output_layer]
            rng = check_random_state(int(check_random_state(self.random_state).randint(0, 2**31 - 1)))
            net = _engine.Network(layers, sample, _losses.get(loss), dtype)
            if len(net.output_shape) > 1:
                raise ValueError(
                    f"the network maps samples of shape {sample} to outputs of shape "
                    f"{net.output_shape}, but an estimator predicts one row of outputs per sample: "
                    "add a Flatten() layer before the last Dense layer"
                )
            net.initialize(rng)  # then the same stream shuffles, drops out and adds noise
        trainer = self._trainer(net, resume)
        n = X[3] if isinstance(X, tuple) else X.shape[0]
        val_idx = np.empty(0, dtype=np.int64)
        if self.validation_split:
            split_at = int(np.ceil(n * (1.0 - self.validation_split)))
            if split_at >= n or split_at < 1:
                raise ValueError(
                    f"validation_split={self.validation_split} leaves no validation or no "
                    f"training samples out of {n}"
                )
            val_idx = np.arange(split_at, n, dtype=np.int64)
        names, specs = _metrics.resolve(self.metrics, net.loss_name, net.n_out)
        epochs = 1 if incremental else self.epochs
        history = _engine.History()
        handle = _engine.ModelHandle(self, net, trainer.optimizer)
        cbs = _engine.CallbackList([history] + list(self.callbacks or []), handle,
                                      {"epochs": epochs, "verbose": self.verbose})
        sw = None
        if sample_weight is not None:
            sw = np.ascontiguousarray(sample_weight, dtype=dtype)
        cbs.on_train_begin({})
        n_iter = None
        try:
            n_iter = trainer.fit(X, Y, sw, epochs=epochs, initial_epoch=0,
                                 batch_size=self.batch_size, shuffle=self.shuffle, val_idx=val_idx,
                                 metric_names=names, metric_specs=specs, callbacks=cbs,
                                 model=handle, verbose=int(self.verbose), rng=rng)
        finally:
            cbs.on_train_end({})
            # interrupted or diverged after some steps: keep the (finite) weights reached
            if n_iter is not None or trainer.iterations > 0:
                self._net, self._rng = net, rng
                self._optimizer_state = trainer.state()
                new = dict(history.history)
                if resume:
                    for key, values in new.items():
                        self.history_.setdefault(key, []).extend(values)
                else:
                    self.history_ = new
                done = len(new.get("loss", [])) if n_iter is None else n_iter
                self.n_iter_ = (self.n_iter_ if resume else 0) + done
                losses = self.history_.get("loss", [])
                self.loss_ = float(losses[-1]) if losses else float("nan")
        return self

    def _trainer(self, net, resume):
        """A Trainer for net: a fresh optimizer (a copy of the parameter's, which
        callbacks may change), or with ``resume`` the saved one and its state."""
        threads = _engine.n_threads(self.n_jobs)
        state = self.__dict__.get("_optimizer_state") if resume else None
        if state is not None:
            return _engine.Trainer.resumed(net, state, threads)
        optimizer = _optimizers.get(self.optimizer)
        if isinstance(self.optimizer, _optimizers.Optimizer):
            import copy

            optimizer = copy.deepcopy(self.optimizer)
        return _engine.Trainer(net, optimizer, threads)

    def _check_restored_network(self):
        net = self._net
        # n_features_in_ is X.shape[1], as scikit-learn counts it for N-d X too
        if not isinstance(net, _engine.Network) or net.input_shape[0] != self.n_features_in_:
            raise ValueError("the network does not match n_features_in_")
        if net.params.dtype != np.dtype(self.dtype) and self.dtype is not None:
            raise ValueError("the parameters do not have the estimator's dtype")
        state = self.__dict__.get("_optimizer_state")
        if state is not None:  # what partial_fit continues from
            if (not isinstance(state, dict) or not isinstance(state.get("optimizer"), _optimizers.Optimizer)
                    or not isinstance(self.__dict__.get("_rng"), np.random.RandomState)):
                raise ValueError("the optimizer state does not match the network")
        net.check_buffers(slots=(state or {}).get("slots") or [])

    def _input_sample_shape(self):
        return self._net.input_shape

    def _check_raw_X(self, X):
        """What the first layer demands of X before it becomes floats (an
        Embedding's integer token ids in [0, input_dim))."""
        layers = self._net.layers if "_net" in self.__dict__ else _hidden_layers(self.layers)
        _engine.check_raw_input(layers, X, "X")

    def _prepare_X(self, X):
        self._check_raw_X(X)
        X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False,
                          dtype=np.dtype(self.dtype), order="C", allow_nd=True)
        Xc, _ = self._net.features(X, "X", raw_checked=True)
        return Xc

    def _outputs(self, X):
        if "_net" not in self.__dict__:
            check_is_fitted(self)
        if self.device != "cpu":
            require_device(self.device, type(self).__name__)
        self._check_raw_X(X)
        Xc = _engine.fast_rows(self, X, self._net.dtype, self._net.n_in)
        fast = Xc is not None
        if not fast:
            Xc = self._prepare_X(X)
        return self._net.predict_rows(Xc, _engine.n_threads(self.n_jobs), check_finite=fast)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


_SHARED_DOC = """
    layers : list, default=(100,)
        The hidden layers, first to last: ints (``n`` means
        ``Dense(n, activation='relu')``) and layer objects of
        ``neurocore.keras.layers`` (Dense with any activation, initializer,
        regularizer or constraint; Activation, Dropout, BatchNormalization,
        GaussianNoise, LayerNormalization, LeakyReLU, ...). The output layer is
        added from the target.

    optimizer : str or Optimizer, default='adam'
        A name ('sgd', 'rmsprop', 'adagrad', 'adadelta', 'adam', 'adamax',
        'nadam', 'adamw') or an object of ``neurocore.keras.optimizers`` (with
        its learning rate, schedule, clipping, ...).

    metrics : list of str, optional
        Metrics recorded in ``history_`` each epoch ('accuracy', 'mse', ...).

    epochs : int, default=100
        Passes over the training data.

    batch_size : int, default=32
        Samples per gradient step.

    validation_split : float, default=0.0
        Fraction of the data (taken from the end) held out; ``history_`` then
        has val_loss and val metrics, which callbacks such as EarlyStopping
        can monitor.

    callbacks : list of Callback, optional
        Objects of ``neurocore.keras.callbacks``, called once per epoch.

    shuffle : bool, default=True
        Shuffle the training data every epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds initialization, shuffling, dropout and noise.

    n_jobs : int, default=None
        Threads for the C++ core (its OpenMP loops and matrix kernels). None uses every
        CPU the process may use, within OpenMP's limit (``OMP_NUM_THREADS``,
        threadpoolctl's ``threadpool_limits``; Dask workers set 1); -1 every
        usable CPU; 1 keeps to one core.

    verbose : int, default=0
        1 prints a line per epoch with the loss and metrics, as Keras does.

    dtype : {'float32', 'float64'}, default='float32'
        Precision of the parameters and computation.

""" + DEVICE_DOC

_ATTRS_DOC = """
    history_ : dict of list
        Per-epoch figures: 'loss', the metrics, and with a validation split
        'val_loss' and 'val_<metric>'.

    n_iter_ : int
        Epochs run (fewer than ``epochs`` when a callback stopped training).

    loss_ : float
        The last epoch's training loss.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X has string column names.
"""


@_persist.register_estimator
class NeuralNetClassifier(ClassifierMixin, _BaseNeuralNet):
    __doc__ = (
        """A neural-network classifier from a list of layers, trained in C++.

    Parameters
    ----------"""
        + _SHARED_DOC
        + """
    loss : {'auto', 'log_loss', 'categorical_crossentropy', 'binary_crossentropy', \\
            'hinge', 'squared_hinge', 'categorical_hinge'}, default='auto'
        'auto' and the cross-entropies give a softmax output for multiclass
        targets and a sigmoid output for binary and multilabel ones (with
        predict_proba); the hinge losses give a linear output (targets read as
        -1/+1; no predict_proba).

    class_weight : dict, 'balanced' or None, default=None
        Weights per class (label -> weight), multiplying the sample weights.

    Attributes
    ----------
    classes_ : ndarray
        The class labels."""
        + _ATTRS_DOC
        + """
    Examples
    --------
    >>> from neurocore import NeuralNetClassifier
    >>> from neurocore.keras.layers import Dense, Dropout
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = NeuralNetClassifier([Dense(32, activation='relu'), Dropout(0.1)],
    ...                           epochs=200, random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    """
    )

    _parameter_constraints: dict = {
        **_BaseNeuralNet._parameter_constraints,
        "loss": [StrOptions(_CLASSIFIER_LOSSES)],
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(self, layers=(100,), *, optimizer="adam", loss="auto", metrics=None, epochs=100,
                 batch_size=32, validation_split=0.0, callbacks=None, shuffle=True, class_weight=None,
                 random_state=None, n_jobs=None, verbose=0, dtype="float32", device="cpu"):
        super().__init__(layers, optimizer=optimizer, loss=loss, metrics=metrics, epochs=epochs,
                         batch_size=batch_size, validation_split=validation_split, callbacks=callbacks,
                         shuffle=shuffle, random_state=random_state, n_jobs=n_jobs, verbose=verbose,
                         dtype=dtype, device=device)
        self.class_weight = class_weight

    def _is_hinge(self):
        return self.loss in ("hinge", "squared_hinge", "categorical_hinge")

    @exclusive_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to X and class labels y (multiclass, binary or multilabel).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or (n_samples, d1, ..., dk)
            Rows of features, or samples of any shape (images, sequences)
            when the first layer takes it (``Flatten()``, or a Dense layer,
            which acts on the last axis); sparse X is 2-d.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        X, y = self._validate_xy(X, y, reset=True)
        self._label_binarizer = LabelBinarizer()
        self._label_binarizer.fit(y)
        self.classes_ = self._label_binarizer.classes_
        return self._fit_labels(X, y, sample_weight, incremental=False)

    @exclusive_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over (X, y), continuing the network, its optimizer state
        and its random stream (scikit-learn's partial_fit; a first call starts
        a network, as fit does, without the epochs loop).

        Memory is that of the chunk: it is converted once to the estimator's
        dtype and nothing of it is kept. ``validation_split`` must be 0.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or (n_samples, d1, ..., dk)
            Rows of features, or samples of any shape (images, sequences)
            when the first layer takes it (``Flatten()``, or a Dense layer,
            which acts on the last axis); sparse X is 2-d.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        classes : array-like of shape (n_classes,), default=None
            Every class of the whole stream: required on the first call (a
            chunk need not hold every class), and if given later it must be
            the same. Not needed for multilabel indicator targets.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        first = "classes_" not in self.__dict__
        X, y = self._validate_xy(X, y, reset=first)
        multilabel = type_of_target(y).startswith("multilabel")
        if first:
            if classes is None and not multilabel:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            lb = LabelBinarizer()
            lb.fit(y if multilabel else np.asarray(classes))
            self._label_binarizer, self.classes_ = lb, lb.classes_
        else:
            if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
                raise ValueError(
                    f"`classes={np.asarray(classes)!r}` is not the same as on the first call to "
                    f"partial_fit: {self.classes_!r}."
                )
            if multilabel != (self._label_binarizer.y_type_ == "multilabel-indicator"):
                raise ValueError("y changed between multilabel and single-label targets; "
                                 "call fit to start again")
        if not multilabel:
            unknown = np.setdiff1d(np.unique(y), self.classes_)
            if len(unknown):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has "
                    f"{self.classes_}. 'y' has {np.unique(y)}."
                )
        if self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' is not supported for partial_fit: a chunk's class "
                "frequencies are not the stream's. Compute weights with sklearn.utils."
                "class_weight.compute_class_weight('balanced', classes=classes, y=y) on a large "
                "enough sample of the targets and pass them as a dict."
            )
        return self._fit_labels(X, y, sample_weight, incremental=True)

    def _validate_xy(self, X, y, reset):
        self._check_raw_X(X)
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=np.dtype(self.dtype), order="C", reset=reset, allow_nd=True)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y

    def _fit_labels(self, X, y, sample_weight, incremental):
        target_type = self._label_binarizer.y_type_
        Y = self._label_binarizer.transform(y).astype(np.float64)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        if self.class_weight is not None:
            if target_type == "multilabel-indicator":
                raise ValueError("class_weight is not supported for multilabel targets")
            if incremental and isinstance(self.class_weight, dict):  # whatever the chunk holds
                cw = np.array([self.class_weight.get(c, 1.0) for c in y.tolist()], dtype=np.float64)
            else:
                cw = compute_sample_weight(self.class_weight, y)
            sample_weight = cw if sample_weight is None else sample_weight * cw
        multiclass = target_type == "multiclass"
        if self.loss == "categorical_hinge" and not multiclass:
            raise ValueError("categorical_hinge needs multiclass targets; use hinge for binary ones")
        if self.loss in ("hinge", "squared_hinge") and multiclass:
            raise ValueError(f"{self.loss} needs binary or multilabel targets; use categorical_hinge")
        if self.loss == "binary_crossentropy" and multiclass:
            raise ValueError("binary_crossentropy needs binary or multilabel targets")
        if self._is_hinge():
            out_act, loss = "linear", self.loss
        elif multiclass:
            out_act, loss = "softmax", "categorical_crossentropy"
        else:
            out_act, loss = "sigmoid", "binary_crossentropy"
        Xc, shape = _engine.as_features(X, np.dtype(self.dtype), input_shape=_sample_shape(X))
        Y = np.ascontiguousarray(Y, dtype=np.dtype(self.dtype))
        return self._fit_network(Xc, Y, sample_weight, _layers.Dense(Y.shape[1], activation=out_act),
                                 loss, incremental=incremental, sample_shape=tuple(shape[1:]))

    @available_if(lambda est: est._is_hinge())
    def decision_function(self, X):
        """Margins of the hinge-loss output (positive: the positive class); hinge losses only."""
        out = self._outputs(X)
        return out.ravel() if out.shape[1] == 1 else out

    def predict(self, X):
        """Class labels for X."""
        out = self._outputs(X)
        if self._label_binarizer.y_type_ == "multiclass":
            return self.classes_[out.argmax(axis=1)]
        threshold = 0.0 if self._is_hinge() else 0.5
        indicator = (out > threshold).astype(int)
        if self._label_binarizer.y_type_ == "binary":
            return self.classes_[indicator.ravel()]
        return indicator

    @available_if(lambda est: not est._is_hinge())
    def predict_proba(self, X):
        """Class probabilities, ordered as classes_ (cross-entropy losses only)."""
        out = self._outputs(X)
        if self._label_binarizer.y_type_ == "binary":
            p = out.ravel()
            return np.vstack([1 - p, p]).T
        return out

    def _onnx_export(self):
        """What neurocore.to_onnx exports: the network and predict's rule."""
        if "_net" not in self.__dict__:
            check_is_fitted(self)
        return {"kind": "classifier", "net": self._net, "input_shape": self._net.input_shape,
                "classes": self.classes_, "y_type": self._label_binarizer.y_type_, "scores": self._is_hinge(),
                "threshold": 0.0 if self._is_hinge() else 0.5}

    @available_if(lambda est: not est._is_hinge())
    def predict_log_proba(self, X):
        """log(predict_proba(X))."""
        p = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(p)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


@_persist.register_estimator
class NeuralNetRegressor(RegressorMixin, _BaseNeuralNet):
    __doc__ = (
        """A neural-network regressor from a list of layers, trained in C++.

    Parameters
    ----------"""
        + _SHARED_DOC
        + """
    loss : str, default='auto'
        'auto' / 'squared_error' / 'mean_squared_error' / 'mse', 'mae',
        'mape', 'msle', 'huber', 'log_cosh', or 'poisson' (exponential output,
        non-negative targets). The output layer is linear otherwise.

    Attributes
    ----------"""
        + _ATTRS_DOC
        + """
    Examples
    --------
    >>> from neurocore import NeuralNetRegressor
    >>> from sklearn.datasets import make_regression
    >>> X, y = make_regression(n_samples=200, n_features=8, noise=0.1, random_state=0)
    >>> reg = NeuralNetRegressor([64, 64], epochs=200, random_state=0).fit(X, y / 100)
    >>> reg.score(X, y / 100) > 0.9
    True
    """
    )

    _parameter_constraints: dict = {
        **_BaseNeuralNet._parameter_constraints,
        "loss": [StrOptions(_REGRESSOR_LOSSES)],
    }

    def __init__(self, layers=(100,), *, optimizer="adam", loss="auto", metrics=None, epochs=100,
                 batch_size=32, validation_split=0.0, callbacks=None, shuffle=True,
                 random_state=None, n_jobs=None, verbose=0, dtype="float32", device="cpu"):
        super().__init__(layers, optimizer=optimizer, loss=loss, metrics=metrics, epochs=epochs,
                         batch_size=batch_size, validation_split=validation_split, callbacks=callbacks,
                         shuffle=shuffle, random_state=random_state, n_jobs=n_jobs, verbose=verbose,
                         dtype=dtype, device=device)

    @exclusive_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to X and real targets y (one or several outputs).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or (n_samples, d1, ..., dk)
            Rows of features, or samples of any shape (images, sequences)
            when the first layer takes it (``Flatten()``, or a Dense layer,
            which acts on the last axis); sparse X is 2-d.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        return self._fit_targets(X, y, sample_weight, incremental=False)

    @exclusive_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y), continuing the network, its optimizer state
        and its random stream (scikit-learn's partial_fit; a first call starts
        a network, as fit does, without the epochs loop).

        Memory is that of the chunk: it is converted once to the estimator's
        dtype and nothing of it is kept. ``validation_split`` must be 0.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or (n_samples, d1, ..., dk)
            Rows of features, or samples of any shape (images, sequences)
            when the first layer takes it (``Flatten()``, or a Dense layer,
            which acts on the last axis); sparse X is 2-d.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        return self._fit_targets(X, y, sample_weight, incremental=True)

    def _fit_targets(self, X, y, sample_weight, incremental):
        first = not incremental or "_net" not in self.__dict__
        self._check_raw_X(X)
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             y_numeric=True, dtype=np.dtype(self.dtype), order="C", reset=first,
                             allow_nd=True)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not first and y.ndim != self._y_ndim:
            raise ValueError(f"y has {y.ndim} dimension(s), but the earlier calls had "
                             f"{self._y_ndim}; call fit to start again")
        self._y_ndim = y.ndim
        Y = y.reshape(len(y), -1)
        loss = {"auto": "mean_squared_error", "squared_error": "mean_squared_error"}.get(self.loss, self.loss)
        out_act = "linear"
        if loss == "poisson":
            if np.any(Y < 0):
                raise ValueError("loss='poisson' requires non-negative targets")
            out_act = "exponential"
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        Xc, shape = _engine.as_features(X, np.dtype(self.dtype), input_shape=_sample_shape(X))
        Y = np.ascontiguousarray(Y, dtype=np.dtype(self.dtype))
        _losses.get(loss)
        return self._fit_network(Xc, Y, sample_weight, _layers.Dense(Y.shape[1], activation=out_act),
                                 loss, incremental=incremental, sample_shape=tuple(shape[1:]))

    def predict(self, X):
        """Predicted targets for X."""
        out = self._outputs(X)
        return out.ravel() if self._y_ndim == 1 else out

    def _onnx_export(self):
        """What neurocore.to_onnx exports: the network (outputs (n, n_outputs))."""
        if "_net" not in self.__dict__:
            check_is_fitted(self)
        return {"kind": "regressor", "net": self._net, "input_shape": self._net.input_shape}
