"""MLPClassifier and MLPRegressor: scikit-learn's estimators over neurocore's C++ core.

Their shared machinery (the flat buffer, scikit-learn's initialization,
stopping rules and L-BFGS, the engine calls) is ``neurocore._mlp_base``; this
module holds the public classes, their parameters and documentation, and
what differs between classification and regression.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import column_or_1d
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target, unique_labels

from . import _engine, _persist
from ._device import DEVICE_DOC
from ._mlp_base import BaseMultilayerPerceptron
from ._validation import exclusive_fit, validate_xy

# saved estimators and pickles name it here
_OptimizerState = _engine.OptimizerState


_SHARED_PARAMS_DOC = """
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element represents the number of neurons in the ith hidden layer.

    activation : str, activation object or list of them, default='relu'
        Activation function for the hidden layers, or one per hidden layer.
        scikit-learn's 'identity' (f(x) = x), 'logistic' (f(x) = 1 / (1 +
        exp(-x))), 'tanh' and 'relu' (f(x) = max(0, x)), and Keras's 'linear',
        'sigmoid', 'hard_sigmoid' (Keras 2: clip(0.2 x + 0.5, 0, 1)),
        'softsign', 'leaky_relu' (slope 0.2), 'relu6', 'elu', 'selu',
        'softplus', 'softmax', 'gelu', 'swish' / 'silu' and 'exponential';
        or, as the Keras facade takes them, an activation layer of
        ``neurocore.keras.layers`` with its parameters (``LeakyReLU(0.3)``,
        ``ELU(0.5)``, ``ReLU(max_value=6)``) or a function of
        ``neurocore.keras.activations``.

    solver : {'lbfgs', 'sgd', 'adam', 'rmsprop', 'adagrad', 'adadelta', \
            'adamax', 'nadam', 'adamw'}, default='adam'
        The solver for weight optimization: 'lbfgs' (scipy's L-BFGS-B on the
        full-data loss and gradient computed in C++), 'sgd' (stochastic
        gradient descent with momentum), 'adam' (Kingma and Ba's Adam), or
        one of Keras's optimizers with Keras's update rules and, for what
        this estimator has no parameter for, Keras's defaults (RMSprop rho 0.9
        without momentum, Adagrad's initial accumulator 0.1, AdamW's weight
        decay 0.004); they take learning_rate_init, beta_1, beta_2 and
        epsilon from here.

    alpha : float, default=0.0001
        Strength of the L2 regularization term, divided by the sample size (or
        the sum of sample weights) when added to the loss.

    batch_size : int or 'auto', default='auto'
        Size of minibatches for stochastic optimizers; 'auto' means
        ``min(200, n_samples)``.

    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        Learning rate schedule for ``solver='sgd'``: 'constant' keeps
        ``learning_rate_init``; 'invscaling' uses
        ``learning_rate_init / pow(t, power_t)``; 'adaptive' divides the rate by
        5 each time ``n_iter_no_change`` consecutive epochs fail to improve by
        ``tol``.

    learning_rate_init : float, default=0.001
        The initial learning rate ('sgd' and 'adam').

    power_t : float, default=0.5
        The exponent of the inverse scaling learning rate.

    max_iter : int, default=200
        Maximum number of iterations: epochs for the stochastic solvers,
        iterations for 'lbfgs'.

    shuffle : bool, default=True
        Whether to shuffle samples in each iteration (stochastic solvers).

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialization, the train/validation split and shuffling.
        The same seed (and ``n_jobs``) gives bit-identical weights.

    tol : float, default=1e-4
        Tolerance for the optimization: training stops when the loss or the
        validation score does not improve by at least ``tol`` for
        ``n_iter_no_change`` consecutive iterations.

    verbose : bool, default=False
        Whether to print progress messages to stdout.

    warm_start : bool, default=False
        Reuse the solution of the previous call to fit as initialization.

    momentum : float, default=0.9
        Momentum for gradient descent update ('sgd'), between 0 and 1.

    nesterovs_momentum : bool, default=True
        Whether to use Nesterov's momentum ('sgd' with momentum > 0).

    early_stopping : bool, default=False
        Whether to hold out ``validation_fraction`` of the training data
        (stratified for classifiers, except multilabel) and stop when the
        validation score stops improving; the best weights are restored.

    validation_fraction : float, default=0.1
        The proportion of training data to set aside for early stopping.

    beta_1 : float, default=0.9
        Exponential decay rate for estimates of the first moment ('adam').

    beta_2 : float, default=0.999
        Exponential decay rate for estimates of the second moment ('adam').

    epsilon : float, default=1e-8
        Value for numerical stability in 'adam'.

    n_iter_no_change : int, default=10
        Maximum number of epochs without ``tol`` improvement (stochastic solvers).

    max_fun : int, default=15000
        Maximum number of loss function calls ('lbfgs').

    n_jobs : int, default=None
        Threads for the C++ core (its OpenMP loops and matrix kernels). ``None`` uses
        every CPU the process may use, within OpenMP's limit (``OMP_NUM_THREADS``,
        threadpoolctl's ``threadpool_limits``; Dask workers set 1); -1 every
        usable CPU, -2 all but one, and so on; 1 keeps to one core (useful
        inside a parallel grid search).

    dtype : {'float32', 'float64'}, numpy float type or None, default='float32'
        Precision of the parameters and of all computation. float64 reproduces
        scikit-learn's weights to rounding; float32 is faster. None follows
        scikit-learn's rule: float32 for float32 X, float64 otherwise.

    dropout : float or list of float, default=0.0
        Inverted dropout after each hidden layer (or one rate per hidden
        layer) while training; nothing changes at prediction. Stochastic
        solvers only.

    batch_norm : bool or {'before', 'after'}, default=False
        Batch normalization in each hidden layer, before the activation
        (True or 'before', as Ioffe and Szegedy) or after it ('after').
        Stochastic solvers only.

    l1 : float, default=0.0
        Strength of an L1 penalty on the weights, scaled like alpha (divided
        by the sample size): l1 * sum|W| / n. Drives weights towards zero.

    callbacks : list of Callback, default=None
        Callbacks of ``neurocore.keras.callbacks``, called after every epoch
        with logs 'loss', 'learning_rate' and (with early_stopping)
        'validation_score'; they may stop the fit or change the learning rate.
        Stochastic solvers only.

""" + DEVICE_DOC


@_persist.register_estimator
class MLPClassifier(ClassifierMixin, BaseMultilayerPerceptron):
    __doc__ = (
        """Multi-layer Perceptron classifier, trained in C++.

    A drop-in replacement for :class:`sklearn.neural_network.MLPClassifier`:
    the same parameters, defaults, attributes and results, plus ``n_jobs`` and
    ``dtype`` and the extras below. It optimizes the log-loss with L-BFGS,
    SGD, Adam or any Keras optimizer; softmax output for multiclass, logistic
    output for binary and multilabel targets.

    Parameters
    ----------"""
        + _SHARED_PARAMS_DOC
        + """
    loss : {'log_loss', 'hinge', 'squared_hinge', 'categorical_hinge'}, default='log_loss'
        'log_loss' is scikit-learn's. The hinge losses (Keras's) train a
        linear output as a margin: 'hinge' / 'squared_hinge' for binary and
        multilabel targets, 'categorical_hinge' for multiclass; predict_proba
        is then unavailable.

    class_weight : dict, 'balanced' or None, default=None
        Weights per class (label -> weight) that multiply the sample weights;
        'balanced' uses n_samples / (n_classes * bincount(y)).
"""
        + """
    Attributes
    ----------
    classes_ : ndarray or list of ndarray of shape (n_classes,)
        Class labels for each output.

    loss_ : float
        The current loss computed with the loss function.

    best_loss_ : float or None
        The minimum loss reached by the solver throughout fitting (None with
        early stopping, where ``best_validation_score_`` is tracked instead).

    loss_curve_ : list of shape (n_iter_,)
        The loss at the end of each training step (stochastic solvers).

    validation_scores_ : list of shape (n_iter_,) or None
        The accuracy on the held-out validation set at each iteration, with
        ``early_stopping=True``; None otherwise.

    best_validation_score_ : float or None
        The best validation accuracy, with ``early_stopping=True``.

    t_ : int
        The number of training samples seen by the solver during fitting.

    coefs_ : list of shape (n_layers - 1,)
        The ith element is the weight matrix of layer i, shape (fan_in, fan_out),
        a view into the flat parameter buffer.

    intercepts_ : list of shape (n_layers - 1,)
        The ith element is the bias vector of layer i + 1.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X has string column names.

    n_iter_ : int
        The number of iterations the solver has run.

    n_layers_ : int
        Number of layers.

    n_outputs_ : int
        Number of outputs.

    out_activation_ : str
        Name of the output activation function.

    See Also
    --------
    MLPRegressor : Multi-layer Perceptron regressor.
    sklearn.neural_network.MLPClassifier : The scikit-learn original.

    Examples
    --------
    >>> from neurocore import MLPClassifier
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.model_selection import train_test_split
    >>> X, y = make_classification(n_samples=100, random_state=1)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y,
    ...                                                     random_state=1)
    >>> clf = MLPClassifier(random_state=1, max_iter=300).fit(X_train, y_train)
    >>> clf.predict(X_test[:5, :]).shape
    (5,)
    >>> clf.score(X_test, y_test) > 0.8
    True
    """
    )

    _parameter_constraints: dict = {
        **BaseMultilayerPerceptron._parameter_constraints,
        "loss": [StrOptions({"log_loss", "hinge", "squared_hinge", "categorical_hinge"})],
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        n_jobs=None,
        dtype="float32",
        loss="log_loss",
        dropout=0.0,
        batch_norm=False,
        l1=0.0,
        class_weight=None,
        callbacks=None,
        device="cpu",
    ):
        self.class_weight = class_weight
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            loss=loss,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            n_jobs=n_jobs,
            dtype=dtype,
            dropout=dropout,
            batch_norm=batch_norm,
            l1=l1,
            callbacks=callbacks,
            device=device,
        )

    def _validate_input(self, X, y, incremental, reset, dtype):
        X, y = validate_xy(self, X, y, dtype, reset, y_numeric=False)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)

        fresh = (not hasattr(self, "classes_")) or (not self.warm_start and not incremental)
        if fresh:
            if type(y) is np.ndarray and y.ndim == 1 and y.dtype.kind in "iub":
                # type_of_target of integer labels, from their classes alone
                classes, codes = np.unique(y, return_inverse=True)
                kind = "binary" if len(classes) <= 2 else "multiclass"
            else:
                kind = type_of_target(y, input_name="y")
                classes = codes = None
            if kind in ("binary", "multiclass") and not sp.issparse(y) and y.ndim == 1:
                # LabelBinarizer's encoding without its repeated checks (1.2 ms
                # of a 5 ms fit on small data): the same attributes, the same Y
                if classes is None:
                    classes, codes = np.unique(y, return_inverse=True)
                lb = LabelBinarizer()
                lb.y_type_, lb.sparse_input_, lb.classes_ = kind, False, classes
                self._label_binarizer = lb
                self.classes_ = classes
                self._set_class_weights(y)
                if kind == "binary":
                    return X, (codes == 1).reshape(-1, 1)
                Y = np.zeros((len(codes), len(classes)), dtype=bool)
                Y[np.arange(len(codes)), codes] = True
                return X, Y
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same "
                        "classes as in the previous call to fit. Previously "
                        f"got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    "`y` has classes not in `self.classes_`. "
                    f"`self.classes_` has {self.classes_}. 'y' has {classes}."
                )
        self._set_class_weights(y)
        y = self._label_binarizer.transform(y).astype(bool)
        return X, y

    def _set_class_weights(self, y):
        if self.class_weight is not None:
            if self._label_binarizer.y_type_ == "multilabel-indicator":
                raise ValueError("class_weight is not supported for multilabel targets")
            from sklearn.utils.class_weight import compute_sample_weight

            self._fit_class_weights = compute_sample_weight(self.class_weight, y)

    def predict(self, X):
        """Predict using the multi-layer perceptron classifier.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray, shape (n_samples,) or (n_samples, n_classes)
            The predicted classes.
        """
        self._check_fitted()
        return self._predict(X)

    def _predict(self, X, check_input=True):
        y_pred = self._forward_pass_fast(X, check_input=check_input)
        # hinge outputs are margins: the decision boundary is 0
        threshold = 0.0 if self.loss in ("hinge", "squared_hinge") else 0.5
        kind = self._label_binarizer.y_type_
        if kind == "multiclass":  # as LabelBinarizer.inverse_transform, without its overhead
            return self.classes_.take(y_pred.argmax(axis=1))
        if kind == "binary":
            if len(self.classes_) == 1:  # fitted on one class (LabelBinarizer's inverse_transform)
                return np.repeat(self.classes_, y_pred.shape[0])
            return self.classes_.take((y_pred.ravel() > threshold).astype(np.intp))
        return self._label_binarizer.inverse_transform(y_pred, threshold=threshold)

    def _score(self, X, y, sample_weight=None):
        return self._score_with_function(
            X, y, sample_weight=sample_weight, score_function=accuracy_score
        )

    def _onnx_export(self):
        """What neurocore.to_onnx exports: the network and predict's rule."""
        self._check_fitted()
        net = self._network()
        hinge = self.loss in ("hinge", "squared_hinge", "categorical_hinge")
        return {"kind": "classifier", "net": net, "input_shape": net.input_shape, "classes": self.classes_,
                "y_type": self._label_binarizer.y_type_, "scores": hinge,
                "threshold": 0.0 if self.loss in ("hinge", "squared_hinge") else 0.5}

    @available_if(lambda est: est._check_solver())
    @exclusive_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Update the model with a single iteration over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        y : array-like of shape (n_samples,)
            The target values.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        classes : array of shape (n_classes,), default=None
            Classes across all calls to partial_fit; required on the first call
            and ignored afterwards. ``y`` need not contain every class.

        Returns
        -------
        self : object
            Trained MLP model.
        """
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    @available_if(lambda est: est.loss == "log_loss")
    def predict_log_proba(self, X):
        """Return the log of probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_y_prob : ndarray of shape (n_samples, n_classes)
            The predicted log-probability of the sample for each class in the
            model, where classes are ordered as they are in ``self.classes_``.
            Equivalent to ``log(predict_proba(X))``.
        """
        y_prob = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(y_prob, out=y_prob)

    @available_if(lambda est: est.loss == "log_loss")
    def predict_proba(self, X):
        """Probability estimates (loss='log_loss' only).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y_prob : ndarray of shape (n_samples, n_classes)
            The predicted probability of the sample for each class in the model,
            where classes are ordered as they are in ``self.classes_``.
        """
        self._check_fitted()
        y_pred = self._forward_pass_fast(X)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        if y_pred.ndim == 1:
            return np.vstack([1 - y_pred, y_pred]).T
        return y_pred

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


@_persist.register_estimator
class MLPRegressor(RegressorMixin, BaseMultilayerPerceptron):
    __doc__ = (
        """Multi-layer Perceptron regressor, trained in C++.

    A drop-in replacement for :class:`sklearn.neural_network.MLPRegressor`:
    the same parameters, defaults, attributes and results, plus ``n_jobs`` and
    ``dtype``. Identity output with (half) squared error, or exponential
    output with (half) Poisson deviance.

    Parameters
    ----------
    loss : {'squared_error', 'poisson', 'absolute_error', 'huber', 'log_cosh', \
            'mean_squared_logarithmic_error', 'mean_absolute_percentage_error'}, \
            default='squared_error'
        scikit-learn's half squared error, or half Poisson deviance with a log
        link (exponential output, ``y >= 0``); or one of Keras's regression
        losses (mean absolute error, Huber with delta 1, log-cosh, ...) on a
        linear output."""
        + _SHARED_PARAMS_DOC
        + """
    Attributes
    ----------
    loss_ : float
        The current loss computed with the loss function.

    best_loss_ : float or None
        The minimum loss reached by the solver throughout fitting.

    loss_curve_ : list of shape (n_iter_,)
        Loss value evaluated at the end of each training step.

    validation_scores_ : list of shape (n_iter_,) or None
        The R2 score on the held-out validation set at each iteration, with
        ``early_stopping=True``; None otherwise.

    best_validation_score_ : float or None
        The best validation R2 score, with ``early_stopping=True``.

    t_ : int
        The number of training samples seen by the solver during fitting.

    coefs_ : list of shape (n_layers - 1,)
        The ith element is the weight matrix of layer i, a view into the flat
        parameter buffer.

    intercepts_ : list of shape (n_layers - 1,)
        The ith element is the bias vector of layer i + 1.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X has string column names.

    n_iter_ : int
        The number of iterations the solver has run.

    n_layers_ : int
        Number of layers.

    n_outputs_ : int
        Number of outputs.

    out_activation_ : str
        Name of the output activation function.

    See Also
    --------
    MLPClassifier : Multi-layer Perceptron classifier.
    sklearn.neural_network.MLPRegressor : The scikit-learn original.

    Examples
    --------
    >>> from neurocore import MLPRegressor
    >>> from sklearn.datasets import make_regression
    >>> X, y = make_regression(n_samples=200, n_features=20, random_state=1)
    >>> regr = MLPRegressor(random_state=1, max_iter=2000, tol=0.1).fit(X, y)
    >>> regr.score(X, y) > 0.9
    True
    """
    )

    _parameter_constraints: dict = {
        **BaseMultilayerPerceptron._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson", "absolute_error", "huber", "log_cosh",
                             "mean_squared_logarithmic_error", "mean_absolute_percentage_error"})],
    }

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        n_jobs=None,
        dtype="float32",
        dropout=0.0,
        batch_norm=False,
        l1=0.0,
        callbacks=None,
        device="cpu",
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            loss=loss,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            n_jobs=n_jobs,
            dtype=dtype,
            dropout=dropout,
            batch_norm=batch_norm,
            l1=l1,
            callbacks=callbacks,
            device=device,
        )

    def predict(self, X):
        """Predict using the multi-layer perceptron model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted values.
        """
        self._check_fitted()
        return self._predict(X)

    def _predict(self, X, check_input=True):
        y_pred = self._forward_pass_fast(X, check_input=check_input)
        if y_pred.shape[1] == 1:
            return y_pred.ravel()
        return y_pred

    def _score(self, X, y, sample_weight=None):
        return self._score_with_function(
            X, y, sample_weight=sample_weight, score_function=r2_score
        )

    def _onnx_export(self):
        """What neurocore.to_onnx exports: the network (outputs (n, n_outputs))."""
        self._check_fitted()
        net = self._network()
        return {"kind": "regressor", "net": net, "input_shape": net.input_shape}

    def _validate_input(self, X, y, incremental, reset, dtype):
        X, y = validate_xy(self, X, y, dtype, reset, y_numeric=True)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError(
                "loss='poisson' requires non-negative targets y, got min(y) = "
                f"{np.min(y)}."
            )
        return X, y

    @available_if(lambda est: est._check_solver())
    @exclusive_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with a single iteration over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The target values.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            Trained MLP model.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)
